# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The scanner's hot path, compiled: Hyperscan hits to findings with the bookkeeping in C arrays.

Same algorithm, same order of evaluation and same results as ``Scanner._scan_segments_py`` (the readable
reference in ``engine.py``; the tests run both on the same texts). What stays in Python is what third-party and
most built-in detectors own: ``check``, ``score``, ``normalize``, ``attributes``, the masked preview and the keyed
HMAC. The three detectors of nearly every dense record (resident ID, mobile, bank card, as shipped) are evaluated in
C on the candidate's bytes (``_builtin_score``; ``ScanCore(plan, builtins=False)`` calls their Python methods
instead, and the tests hold the two to each other and to the reference). What moves to C: collecting Hyperscan's
hits (a C callback target instead of a Python list of tuples), keyword bookkeeping, digit/letter boundaries, segment
lookup, context windows, the best-per-start and overlap resolution, and string offsets (UTF-8 lead bytes counted
instead of decoding gaps).
"""

from libc.stdlib cimport calloc, malloc, realloc, free, qsort
from libc.math cimport copysign, fabs, floor
from libc.stdint cimport uint32_t
from libc.string cimport memset
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.pycapsule cimport PyCapsule_GetPointer
from cpython.unicode cimport PyUnicode_KIND, PyUnicode_DATA, PyUnicode_READ, PyUnicode_GET_LENGTH, PyUnicode_1BYTE_KIND

from detectors.base import CHECKSUM_PASS, CONTEXT_BOOST, Boundary, Check, make_finding
from detectors.validators._checks cimport distinct_bytes, luhn_bytes, mainland_province, ric18_bytes
from detectors.plan import VETO_GAP, VETO_SEPARATORS
from detectors.normalize import _FOLD
from detectors.redact import MASK as _MASK_PY
from detectors.taxonomy import sensitivity_of

cdef object _CHECK_FAIL = Check.FAIL
cdef object _CHECK_PASS = Check.PASS
cdef object _CHECK_NA = Check.NOT_APPLICABLE
cdef dict _CHECK_VALUE = {c: c.value for c in Check}  # Enum.value is a property: read once
cdef str MASK = _MASK_PY
cdef dict _FOLD_TABLE = _FOLD


cdef inline bint _folds(Py_UCS4 c) noexcept:
    """The characters ``normalize._NEEDS_FOLD`` matches (tests compare every code point)."""
    if 0xFF10 <= c <= 0xFF19 or 0xFF21 <= c <= 0xFF3A or 0xFF41 <= c <= 0xFF5A:
        return True
    return c == 0xFF0A or c == 0xFF0B or c == 0xFF0D or c == 0xFF20 or c == 0xFF0E or c == 0x3000 \
        or c == 0x2010 or c == 0x2014


def needs_fold(str text):
    """Whether ``normalize.fold`` would change ``text`` (a C loop over its code points)."""
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data
    cdef Py_ssize_t i, n
    if kind == PyUnicode_1BYTE_KIND:
        return False  # Latin-1 only: nothing to fold
    data = PyUnicode_DATA(text)
    n = PyUnicode_GET_LENGTH(text)
    for i in range(n):
        if _folds(PyUnicode_READ(kind, data, i)):
            return True
    return False

# the engine's windows (bytes), kept in step with engine.py by ScanCore.__init__


cdef class HitBuffer:
    """Hyperscan match target: (pattern id, start, end) triples in a growable C array."""
    cdef int* data
    cdef int n
    cdef int cap

    def __cinit__(self):
        self.cap = 256
        self.n = 0
        self.data = <int*>malloc(3 * self.cap * sizeof(int))
        if self.data == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.data)

    cdef int add(self, int idx, int s, int e) except -1:
        cdef int* grown
        if self.n == self.cap:
            grown = <int*>realloc(self.data, 6 * self.cap * sizeof(int))
            if grown == NULL:
                raise MemoryError()
            self.data = grown
            self.cap *= 2
        self.data[3 * self.n] = idx
        self.data[3 * self.n + 1] = s
        self.data[3 * self.n + 2] = e
        self.n += 1
        return 0


def on_match(unsigned int idx, unsigned long long start, unsigned long long end, unsigned int flags,
             HitBuffer hits):
    """Hyperscan ``match_event_handler``."""
    hits.add(idx, <int>start, <int>end)


cdef extern from "_sha256.h":
    void pw_sha256_state(uint32_t st[8], const unsigned char* block) noexcept
    int pw_sha256_select(int want_ni) noexcept
    void pw_hmac16_hex(const uint32_t* istate, const uint32_t* ostate, const unsigned char* prefix, size_t plen,
                       const unsigned char* value, size_t vlen, char* hex) noexcept


def sha256_extensions(bint use=True):
    """Compute the keyed HMACs with the CPU's SHA extensions where it has them (the default) or in portable C;
    returns whether the extensions are in use. The results are the same (tests run both)."""
    return bool(pw_sha256_select(use))


sha256_extensions()


ctypedef int (*hs_scan_fn)(object, const char*, Py_ssize_t, const int**) except -1


cdef struct Cand:
    int det
    int pat      # index into the pattern tables (main patterns, then each gated detector's)
    int wrapped
    int s
    int e
    long long key  # priority * 2^32 + arrival order: a stable sort by priority


cdef struct Best:
    double score
    int det
    int s
    int e
    int ctx
    int seg
    int slot     # index into the Python lists of values and checks
    int prio
    int order    # first insertion of its (det, s) key


cdef int _cmp_cand(const void* a, const void* b) noexcept nogil:
    cdef long long x = (<const Cand*>a).key
    cdef long long y = (<const Cand*>b).key
    return (x > y) - (x < y)


cdef int _cmp_best(const void* a, const void* b) noexcept nogil:
    # (priority, -score, s - e), then first insertion: Python's stable sort on the same key
    cdef const Best* x = <const Best*>a
    cdef const Best* y = <const Best*>b
    if x.prio != y.prio:
        return (x.prio > y.prio) - (x.prio < y.prio)
    if x.score != y.score:
        return -1 if x.score > y.score else 1
    if (x.s - x.e) != (y.s - y.e):
        return ((x.s - x.e) > (y.s - y.e)) - ((x.s - x.e) < (y.s - y.e))
    return (x.order > y.order) - (x.order < y.order)


cdef int _cmp_kw_start(const void* a, const void* b) noexcept nogil:
    cdef int x = (<const int*>a)[1]
    cdef int y = (<const int*>b)[1]
    return (x > y) - (x < y)


cdef int _cmp_start(const void* a, const void* b) noexcept nogil:
    cdef int x = (<const Best*>a).s
    cdef int y = (<const Best*>b).s
    return (x > y) - (x < y)


cdef class ScanCore:
    """The hot path over one ``detectors.plan.ScanPlan`` (it reads nothing else)."""
    cdef object plan
    cdef int window_before
    cdef int window_after
    cdef int gated_max_len
    cdef object db
    cdef dict gdbs
    cdef bint empty
    cdef hs_scan_fn hs_scan   # libhs through detectors._hs (C match handler), or NULL: python-hyperscan
    cdef int n_main
    cdef int n_dets
    cdef int n_kws
    cdef int* pat_det
    cdef int* pat_wrapped
    cdef int* pat_bnd        # 0 none, 1 digit, 2 alnum, 3 no-mask
    cdef int* pat_som        # 0 Hyperscan's start, 1 som_window (Python re), 2 start_anchor (C)
    cdef unsigned char* pat_anchor      # per pattern: the anchor byte
    cdef unsigned char* pat_class       # per pattern: 256-byte table of the class bytes
    cdef unsigned char* kw_det   # n_kws x n_dets: keyword is context for detector
    cdef unsigned char* kw_neg   # n_kws x n_dets: keyword, right before a value, vetoes detector
    cdef unsigned char veto_sep[256]
    cdef int veto_gap
    cdef bint any_veto
    cdef int* det_prio
    cdef int* det_gated
    cdef int* det_fail_ok
    cdef int* det_attrs
    cdef int* det_kind       # 0: the detector's Python methods; else one of the built-ins below, evaluated in C
    cdef double* pat_score_c
    cdef double* det_threshold
    cdef unsigned char forbidden[4][256]
    # the built-in detectors' constants, read from their modules (one table each)
    cdef unsigned char mob_invalid[1000]
    cdef list mob_exceptions
    cdef double mob_unallocated
    cdef double context_boost
    cdef double checksum_pass
    cdef list card_bins
    cdef double card_fail_ctx
    cdef double card_unionpay
    cdef double card_other
    cdef object today_fn
    cdef int today
    cdef int cutoff14
    cdef list pats
    cdef dict gated_base
    cdef list pat_scores
    cdef list dets
    cdef list checks
    cdef list scores
    cdef list normalizers
    cdef list thresholds
    cdef list entities
    cdef list names
    cdef list masked
    cdef list classes
    cdef uint32_t* hstate    # per detector: the keyed HMAC's inner then outer pad state (8 + 8 words)
    cdef list prefixes       # per detector: the HMAC namespace prefix, "kind:"
    cdef HitBuffer hits
    cdef HitBuffer ghits

    def __cinit__(self):
        self.pat_det = self.pat_wrapped = self.pat_bnd = self.pat_som = NULL
        self.pat_anchor = self.pat_class = NULL
        self.kw_det = NULL
        self.det_prio = self.det_gated = self.det_fail_ok = self.det_attrs = self.det_kind = NULL
        self.pat_score_c = self.det_threshold = NULL
        self.hstate = NULL

    def __init__(self, plan, *, bint builtins=True, bint libhs=True):
        """``builtins=False`` runs every detector's Python methods, ``libhs=False`` scans with python-hyperscan's
        per-hit Python callback even where ``detectors._hs`` is built (the benchmarks' and tests' comparisons)."""
        cdef int i, d
        cdef unsigned char c
        self.plan = plan
        self.window_before = plan.window_before
        self.window_after = plan.window_after
        self.gated_max_len = plan.gated_max_len
        self.empty = not plan.expressions
        self.hs_scan = NULL
        hs = None
        if libhs:
            try:
                from detectors import _hs as hs
            except ImportError:  # libhs not installed at build: python-hyperscan, the same hits, slower
                hs = None
                import warnings

                warnings.warn(
                    "detectors._hs is not built (Hyperscan's C library was missing at install: libhyperscan-dev): "
                    "the scanner uses python-hyperscan, same findings, slower on identifier-dense data",
                    RuntimeWarning,
                    stacklevel=3,
                )
        if hs is not None:
            self.hs_scan = <hs_scan_fn>PyCapsule_GetPointer(hs.SCAN, b"piplwatch._hs.scan")
            self.db = _hs_db(hs, plan.expressions)
            self.gdbs = {d: _hs_db(hs, exprs) for d, (_, exprs) in plan.gated_expressions.items()}
        else:
            self.db = plan.db
            self.gdbs = {d: gdb for d, (_, gdb) in plan.gated.items()}
        self.dets = list(plan.detectors)
        self.n_dets = len(self.dets)
        self.n_main = plan.n_main
        self.n_kws = len(plan.keywords)
        # one table row per pattern: the main database's first, then each gated detector's (from gated_base[d])
        rows = [(di, p, wrapped, True) for di, p, wrapped in plan.patterns]
        self.gated_base = {}
        gated_dets = plan.gated_detectors
        for d, (entries, _) in plan.gated_expressions.items():
            self.gated_base[d] = len(rows)
            rows += [(di, p, wrapped, False) for di, p, wrapped in entries]
        self.pats = [p for _, p, _, _ in rows]
        self.pat_scores = [p.score for p in self.pats]
        n = max(1, len(self.pats))
        self.pat_det = <int*>malloc(n * sizeof(int))
        self.pat_wrapped = <int*>malloc(n * sizeof(int))
        self.pat_bnd = <int*>malloc(n * sizeof(int))
        self.pat_som = <int*>malloc(n * sizeof(int))
        self.pat_anchor = <unsigned char*>malloc(n)
        self.pat_class = <unsigned char*>malloc(n * 256)
        self.kw_det = <unsigned char*>malloc(max(1, self.n_kws * self.n_dets))
        self.kw_neg = <unsigned char*>malloc(max(1, self.n_kws * self.n_dets))
        nd = max(1, self.n_dets)
        self.det_prio = <int*>malloc(nd * sizeof(int))
        self.det_gated = <int*>malloc(nd * sizeof(int))
        self.det_fail_ok = <int*>malloc(nd * sizeof(int))
        self.det_attrs = <int*>malloc(nd * sizeof(int))
        self.det_kind = <int*>malloc(nd * sizeof(int))
        self.det_threshold = <double*>malloc(nd * sizeof(double))
        self.pat_score_c = <double*>malloc(n * sizeof(double))
        if (self.pat_det == NULL or self.pat_wrapped == NULL or self.pat_bnd == NULL or self.pat_som == NULL
                or self.pat_anchor == NULL or self.pat_class == NULL
                or self.kw_det == NULL or self.kw_neg == NULL or self.det_prio == NULL or self.det_gated == NULL
                or self.det_fail_ok == NULL or self.det_attrs == NULL or self.det_kind == NULL
                or self.det_threshold == NULL or self.pat_score_c == NULL):
            raise MemoryError()
        bnd_code = {Boundary.NONE: 0, Boundary.DIGIT: 1, Boundary.ALNUM: 2, Boundary.NO_MASK: 3}
        for i, (di, p, wrapped, main) in enumerate(rows):
            self.pat_det[i] = di
            self.pat_score_c[i] = p.score
            self.pat_wrapped[i] = 1 if wrapped else 0
            self.pat_bnd[i] = bnd_code[p.boundary]
            # gated databases always track starts (as the reference does)
            self.pat_som[i] = 0 if not main else 1 if p.som_window else (2 if p.start_anchor else 0)
            self.pat_anchor[i] = 0
            memset(&self.pat_class[i * 256], 0, 256)
            if p.start_anchor:
                self.pat_anchor[i] = ord(p.start_anchor[0])
                for c in p.start_anchor[1].encode():
                    self.pat_class[i * 256 + c] = 1
        memset(self.kw_det, 0, max(1, self.n_kws * self.n_dets))
        for i, dets in enumerate(plan.keyword_detectors):
            for d in dets:
                self.kw_det[i * self.n_dets + d] = 1
        memset(self.kw_neg, 0, max(1, self.n_kws * self.n_dets))
        self.any_veto = False
        for i, dets in enumerate(plan.keyword_vetoes):
            for d in dets:
                self.kw_neg[i * self.n_dets + d] = 1
                self.any_veto = True
        memset(self.veto_sep, 0, 256)
        for c in VETO_SEPARATORS:
            self.veto_sep[c] = 1
        self.veto_gap = VETO_GAP
        for i, det in enumerate(self.dets):
            self.det_prio[i] = plan.priority[i]
            self.det_gated[i] = 1 if i in gated_dets else 0
            self.det_fail_ok[i] = 1 if det.SCORES_FAILED_CHECKS else 0
            self.det_attrs[i] = 1 if det.HAS_ATTRIBUTES else 0
            self.det_kind[i] = _builtin_kind(det) if builtins else 0
            self.det_threshold[i] = plan.thresholds[i]
        self._builtin_tables()
        memset(self.forbidden, 0, sizeof(self.forbidden))
        for c in b"0123456789":
            self.forbidden[1][c] = 1
            self.forbidden[2][c] = 1
        for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
            self.forbidden[2][c] = 1
        for c in b"*#":
            self.forbidden[3][c] = 1
        self.checks = [det.check for det in self.dets]
        self.scores = [det.score for det in self.dets]
        self.normalizers = [det.normalize for det in self.dets]
        self.thresholds = list(plan.thresholds)
        self.entities = [det.entity for det in self.dets]
        self.names = [det.name for det in self.dets]
        self.masked = [det.MASKED for det in self.dets]
        self.classes = list(plan.classes)
        # KeyedHasher's pad blocks, compressed once: a value then costs two or three SHA-256 blocks, no objects
        self.hstate = <uint32_t*>malloc(16 * nd * sizeof(uint32_t))
        if self.hstate == NULL:
            raise MemoryError()
        self.prefixes = []
        for i, h in enumerate(plan.hashers):
            ipad, opad, prefix = h._pads
            pw_sha256_state(&self.hstate[16 * i], <const unsigned char*>PyBytes_AS_STRING(ipad))
            pw_sha256_state(&self.hstate[16 * i + 8], <const unsigned char*>PyBytes_AS_STRING(opad))
            self.prefixes.append(prefix)
        self.hits = HitBuffer()
        self.ghits = HitBuffer()

    def __dealloc__(self):
        free(self.pat_det); free(self.pat_wrapped); free(self.pat_bnd); free(self.pat_som)
        free(self.pat_anchor); free(self.pat_class)
        free(self.kw_det)
        free(self.kw_neg)
        free(self.det_prio); free(self.det_gated); free(self.det_fail_ok); free(self.det_attrs); free(self.det_kind)
        free(self.det_threshold); free(self.pat_score_c); free(self.hstate)

    cdef int _builtin_tables(self) except -1:
        from detectors.patterns import cn_bank_card, cn_mobile
        from detectors.validators import cn_ric

        memset(self.mob_invalid, 0, 1000)
        for p in cn_mobile.INVALID_PREFIXES:
            self.mob_invalid[int(p)] = 1
        self.mob_exceptions = [e.encode() for e in cn_mobile.ALLOCATED_EXCEPTIONS]
        self.mob_unallocated = cn_mobile.UNALLOCATED_SCORE
        self.context_boost = CONTEXT_BOOST
        self.checksum_pass = CHECKSUM_PASS
        self.card_bins = [b.encode() for b in cn_bank_card.KNOWN_BINS]
        self.card_fail_ctx = cn_bank_card.LUHN_FAIL_WITH_CONTEXT
        self.card_unionpay = cn_bank_card.UNIONPAY_NO_CONTEXT
        self.card_other = cn_bank_card.OTHER_NO_CONTEXT
        self.today_fn = cn_ric._today
        self.today = -1
        return 0

    cdef int _load_today(self) except -1:
        """Today as YYYYMMDD and the under-14 cutoff (``cn_ric._today``, read once per scan call)."""
        t = self.today_fn()
        self.today = t.year * 10000 + t.month * 100 + t.day
        self.cutoff14 = self.today - 14 * 10000  # ``cn_ric.born_after_cutoff(number, 14)``'s YYYYMMDD string
        return 0

    cdef double _builtin_score(self, int kind, const unsigned char* v, int n, double base, bint ctx,
                               int* check) noexcept:
        """A built-in detector's ``check`` and ``score`` on the ASCII bytes ``v[:n]``: the score, or -1 for
        ``None``; ``check`` gets 0 pass, 1 fail, 2 not applicable. Returns -2 when the value is outside what this
        path was written for, non-ASCII bytes included (the caller asks the detector's Python methods)."""
        cdef unsigned char dg[64]
        cdef int nd = _ascii_digits(v, n, dg), k, distinct
        cdef bint known
        if nd < 0:
            return -2
        if kind == 1:  # CnResidentIdDetector: 18 characters (the grouped form goes to Python)
            if n != 18:
                return -2
            if not mainland_province(v) or not ric18_bytes(v, self.today):
                check[0] = 1
                return -1
            check[0] = 0
            return 1.0 if ctx else (base if base > self.checksum_pass else self.checksum_pass)
        if kind == 2:  # CnMobileDetector: the national number's prefix; no checksum
            check[0] = 2
            k = nd - 11 if nd > 11 else 0
            if nd - k >= 3 and self.mob_invalid[(dg[k] - 48) * 100 + (dg[k + 1] - 48) * 10 + dg[k + 2] - 48] \
                    and not _starts(&dg[k], nd - k, self.mob_exceptions):
                base = self.mob_unallocated
            if ctx:
                base += self.context_boost
            return base if base < 1.0 else 1.0
        # kind 3, CnBankCardDetector: Luhn with the distinct-digit rule, then BIN and context
        distinct = distinct_bytes(dg, nd)
        if 16 <= nd <= 19 and distinct >= 3 and luhn_bytes(dg, nd) == 0:
            check[0] = 0
            if ctx:
                return 1.0
            return self.card_unionpay if (dg[0] == 54 and dg[1] == 50) else self.card_other  # "62"
        check[0] = 1
        known = _starts(dg, nd, self.card_bins)
        if 16 <= nd <= 19 and distinct >= 3 and known and ctx:
            return self.card_fail_ctx
        return -1

    cdef object _builtin_normalize(self, int kind, str value):
        """A built-in detector's ``normalize`` of an ASCII value, or None where the value is outside this path."""
        cdef bytes b = value.encode("ascii")
        cdef unsigned char dg[64]
        cdef int nd = _ascii_digits(<const unsigned char*>PyBytes_AS_STRING(b), <int>PyBytes_GET_SIZE(b), dg)
        if nd < 0:
            return None
        if kind == 1:
            return value.upper()
        if kind == 2 and nd > 11:
            return (<char*>dg)[nd - 11:nd].decode("ascii")
        return (<char*>dg)[:nd].decode("ascii")

    cdef int _anchor_start(self, const unsigned char* padded, int end, int pat) noexcept:
        """``engine._anchor_start``: the last anchor byte before ``end`` (one exists: the match holds it), then
        back over the class bytes."""
        cdef int i = end - 1
        cdef unsigned char anchor = self.pat_anchor[pat]
        cdef const unsigned char* cls = &self.pat_class[pat * 256]
        while i >= 0 and padded[i] != anchor:
            i -= 1
        if i < 0:
            return -1
        while i > 0 and cls[padded[i - 1]]:
            i -= 1
        return i

    cdef bint _vetoed(self, const int* kws, int n_kw, int det, const unsigned char* buf, int s,
                      int seg_start) noexcept:
        """``engine._vetoed``: a label vetoing ``det`` ends at most ``veto_gap`` bytes before ``s`` (not before the
        segment), only separators between. ``kws`` is sorted by start; a label is at most 80 bytes long."""
        cdef int i, ks, ke, p
        for i in range(_first_from(kws, n_kw, s - self.veto_gap - 80), n_kw):
            ks = kws[3 * i + 1]
            if ks > s:
                break
            ke = kws[3 * i + 2]
            if ke > s or ke < s - self.veto_gap or ke < seg_start or not self.kw_neg[kws[3 * i] * self.n_dets + det]:
                continue
            for p in range(ke, s):
                if not self.veto_sep[buf[p]]:
                    break
            else:
                return True
        return False

    cdef bint _context(self, const int* kws, int n_kw, int det, int s, int e, int seg_start) noexcept:
        """Whether a keyword of ``det`` sits in the window of [s, e). ``kws`` is sorted by start: only the hits
        starting in [lo, hi] can qualify, found by binary search (a scan of every hit was quadratic in dense text)."""
        cdef int lo = s - self.window_before
        cdef int hi = e + self.window_after
        cdef int i, ks, ke
        if lo < seg_start:
            lo = seg_start
        for i in range(_first_from(kws, n_kw, lo), n_kw):
            ks = kws[3 * i + 1]
            if ks > hi:
                break
            if not self.kw_det[kws[3 * i] * self.n_dets + det]:
                continue
            ke = kws[3 * i + 2]
            if lo <= ks and ke <= s + 1:
                return True
            if e <= ks + 1 and ks >= e - 1:
                return True
        return False

    def scan_segments(self, str text, list segs, list byte_segs=None):
        """``Scanner._scan_segments_py``, compiled: (segment start, value start, field path) string offsets, sorted."""
        cdef int i, j, k, n_hits, idx, s, e, d, n, n_cands, n_best, n_kept, cap
        cdef int seg_i, seg_start, val_start, lo, hi, mid, n_segs, base
        cdef const unsigned char* buf
        cdef const unsigned char* pbuf
        cdef int* kws = NULL
        cdef int n_kw = 0
        cdef Cand* cands = NULL
        cdef Cand* grown
        cdef Best* best = NULL
        cdef int* seg_b = NULL
        cdef int* det_has_kw = NULL
        cdef unsigned char* taken = NULL
        cdef Slot* claimed = NULL
        cdef Slot* best_of = NULL
        cdef int table_cap = 0, p
        cdef long long kk
        cdef double sc
        cdef int kind, chk = 2
        cdef const int* hd
        cdef const int* ghd
        cdef int n_ghits
        if self.empty:
            return []
        self.today = -1  # read again by the first resident ID of this call
        folded = text.translate(_FOLD_TABLE) if needs_fold(text) else text  # normalize.fold
        data = folded.encode("utf-8", "replace")  # a lone surrogate (a JSON \ud800 escape) becomes one byte: "?"
        n = <int>PyBytes_GET_SIZE(data)
        ascii_only = n == len(folded)
        padded = b"\n" + data + b"\n"
        buf = <const unsigned char*>PyBytes_AS_STRING(data)
        pbuf = <const unsigned char*>PyBytes_AS_STRING(padded)
        if self.hs_scan != NULL:
            n_hits = self.hs_scan(self.db, <const char*>pbuf, n + 2, &hd)
        else:
            self.hits.n = 0
            self.db.scan(padded, match_event_handler=on_match, context=self.hits)
            n_hits = self.hits.n
            hd = self.hits.data
        if n_hits == 0:
            return []
        try:
            kws = <int*>malloc(3 * n_hits * sizeof(int))
            det_has_kw = <int*>malloc(max(1, self.n_dets) * sizeof(int))
            cap = n_hits + 16
            cands = <Cand*>malloc(cap * sizeof(Cand))
            if kws == NULL or det_has_kw == NULL or cands == NULL:
                raise MemoryError()
            for d in range(self.n_dets):
                det_has_kw[d] = 0
            gated_order = []  # detectors in the order of their first keyword hit (the reference's dict order)
            n_cands = 0
            for i in range(n_hits):
                idx = hd[3 * i]
                s = hd[3 * i + 1]
                e = hd[3 * i + 2]
                if idx >= self.n_main:
                    k = idx - self.n_main
                    kws[3 * n_kw] = k
                    kws[3 * n_kw + 1] = s - 1 if s > 0 else 0
                    kws[3 * n_kw + 2] = e - 1
                    n_kw += 1
                    for d in range(self.n_dets):
                        if self.kw_det[k * self.n_dets + d] and not det_has_kw[d]:
                            det_has_kw[d] = 1
                            if self.det_gated[d]:
                                gated_order.append((i, d))
                else:
                    if self.pat_som[idx] == 1:
                        s = self.plan.recover_start(padded, self.pats[idx], e)
                        if s < 0:
                            continue
                    elif self.pat_som[idx] == 2:
                        s = self._anchor_start(pbuf, e, idx)
                    cands[n_cands].det = self.pat_det[idx]
                    cands[n_cands].pat = idx
                    cands[n_cands].wrapped = self.pat_wrapped[idx]
                    if self.pat_wrapped[idx]:
                        cands[n_cands].s = s
                        cands[n_cands].e = e - 2
                    else:
                        cands[n_cands].s = s - 1
                        cands[n_cands].e = e - 1
                    n_cands += 1
            # gated_order is the reference's keyword-dict order: detectors by their first hit, the detectors of one
            # hit in ascending order (so candidates arrive in the same order, which ties depend on)
            for _, d in gated_order:
                gdb = self.gdbs[d]
                if gdb is None:
                    continue
                base = self.gated_base[d]
                spans = sorted((kws[3 * j + 1], kws[3 * j + 2]) for j in range(n_kw)
                               if self.kw_det[kws[3 * j] * self.n_dets + d])
                regions = []
                for ks, ke in spans:
                    lo = ks - self.window_after - self.gated_max_len
                    if lo < 0:
                        lo = 0
                    hi = ke + self.window_before + self.gated_max_len
                    if hi > n:
                        hi = n
                    last = regions[len(regions) - 1] if regions else None  # (no negative indexing here)
                    if last is not None and lo <= last[1]:
                        last[1] = max(last[1], hi)
                    else:
                        regions.append([lo, hi])
                for lo, hi in regions:
                    lo = _char_start(padded, lo)
                    hi = _char_start(padded, hi + 2)
                    if self.hs_scan != NULL:
                        n_ghits = self.hs_scan(gdb, <const char*>&pbuf[lo], hi - lo, &ghd)
                    else:
                        self.ghits.n = 0
                        gdb.scan(padded[lo:hi], match_event_handler=on_match, context=self.ghits)
                        n_ghits = self.ghits.n
                        ghd = self.ghits.data
                    for j in range(n_ghits):
                        idx = ghd[3 * j]
                        s = ghd[3 * j + 1]
                        e = ghd[3 * j + 2]
                        if n_cands == cap:
                            cap *= 2
                            grown = <Cand*>realloc(cands, cap * sizeof(Cand))
                            if grown == NULL:
                                raise MemoryError()
                            cands = grown
                        idx += base
                        cands[n_cands].det = d
                        cands[n_cands].pat = idx
                        cands[n_cands].wrapped = self.pat_wrapped[idx]
                        if self.pat_wrapped[idx]:
                            cands[n_cands].s = s + lo
                            cands[n_cands].e = e - 2 + lo
                        else:
                            cands[n_cands].s = s + lo - 1
                            cands[n_cands].e = e - 1 + lo
                        n_cands += 1
            if n_cands == 0:
                return []
            if n_kw > 1:
                qsort(kws, n_kw, 3 * sizeof(int), _cmp_kw_start)
            # byte offsets of segment starts
            n_segs = len(segs)
            seg_b = <int*>malloc(2 * n_segs * sizeof(int))
            if seg_b == NULL:
                raise MemoryError()
            if ascii_only:
                for i in range(n_segs):
                    seg_b[2 * i] = segs[i][0]
                    seg_b[2 * i + 1] = segs[i][1]
            elif byte_segs is not None and folded is text:
                for i in range(n_segs):
                    seg_b[2 * i] = byte_segs[i][0]
                    seg_b[2 * i + 1] = byte_segs[i][1]
            else:
                for i in range(n_segs):
                    seg_b[2 * i] = len(folded[:segs[i][0]].encode("utf-8", "replace"))
                    seg_b[2 * i + 1] = len(folded[:segs[i][1]].encode("utf-8", "replace"))
            for i in range(n_cands):
                cands[i].key = (<long long>self.det_prio[cands[i].det] << 32) + i
            qsort(cands, n_cands, sizeof(Cand), _cmp_cand)
            allow = self.plan.allow_list
            may_skip = not allow
            best = <Best*>malloc(n_cands * sizeof(Best))
            if best == NULL:
                raise MemoryError()
            n_best = 0
            values = []
            checks = []
            # (s, e) -> the priority that claimed the span, (det, s) -> slot in best: C hash tables, no key objects
            table_cap = 16
            while table_cap < 2 * n_cands:
                table_cap *= 2
            claimed = <Slot*>malloc(table_cap * sizeof(Slot))
            best_of = <Slot*>malloc(table_cap * sizeof(Slot))
            if claimed == NULL or best_of == NULL:
                raise MemoryError()
            memset(claimed, 0xFF, table_cap * sizeof(Slot))
            memset(best_of, 0xFF, table_cap * sizeof(Slot))
            for i in range(n_cands):
                d = cands[i].det
                s = cands[i].s
                e = cands[i].e
                if may_skip:
                    p = _find(claimed, table_cap, _pair(s, e))
                    if p >= 0 and claimed[p].value < self.det_prio[d]:
                        continue
                if not cands[i].wrapped:
                    k = self.pat_bnd[cands[i].pat]
                    if k:
                        if (s > 0 and self.forbidden[k][buf[s - 1]]) or (e < n and self.forbidden[k][buf[e]]):
                            continue
                # segment of s (binary search)
                if n_segs == 1:
                    seg_i = 0
                else:
                    lo, hi = 0, n_segs - 1
                    while lo < hi:
                        mid = (lo + hi + 1) // 2
                        if seg_b[2 * mid] <= s:
                            lo = mid
                        else:
                            hi = mid - 1
                    seg_i = lo
                seg_start = seg_b[2 * seg_i]
                val_start = seg_b[2 * seg_i + 1]
                if s < val_start:
                    continue
                if self.any_veto and n_kw and self._vetoed(kws, n_kw, d, buf, s, seg_start):
                    continue
                kind = self.det_kind[d]
                if kind:
                    if kind == 1 and self.today < 0:
                        self._load_today()
                    ctx = self._context(kws, n_kw, d, s, e, seg_start)
                    sc = self._builtin_score(kind, &buf[s], e - s, self.pat_score_c[cands[i].pat], ctx, &chk)
                    if sc == -2:
                        kind = 0
                    elif sc == -1 or sc < self.det_threshold[d]:
                        continue
                if kind:
                    value = data[s:e].decode("ascii")
                    check = _CHECK_PASS if chk == 0 else _CHECK_FAIL if chk == 1 else _CHECK_NA
                else:
                    value = data[s:e].decode("utf-8")
                    check = self.checks[d](value)
                    if check is _CHECK_FAIL and not self.det_fail_ok[d]:
                        continue
                    ctx = self._context(kws, n_kw, d, s, e, seg_start)
                    score = self.scores[d](value, self.pat_scores[cands[i].pat], check, ctx)
                    if score is None or score < self.thresholds[d]:
                        continue
                    sc = score
                # the best candidate per (detector, start): one dict lookup, not a scan of the kept ones
                kk = (<long long>d << 32) | s
                j = _find(best_of, table_cap, kk)
                if j >= 0:
                    j = best_of[j].value
                if j < 0:
                    j = n_best
                    _put(best_of, table_cap, kk, j)
                    best[j].order = n_best
                    best[j].slot = len(values)
                    values.append(value)
                    checks.append(check)
                    n_best += 1
                    _set_best(&best[j], sc, d, s, e, ctx, seg_i, self.det_prio[d])
                elif (e - s) > (best[j].e - best[j].s):
                    values[best[j].slot] = value
                    checks[best[j].slot] = check
                    _set_best(&best[j], sc, d, s, e, ctx, seg_i, self.det_prio[d])
                if may_skip and _find(claimed, table_cap, _pair(s, e)) < 0:
                    _put(claimed, table_cap, _pair(s, e), self.det_prio[d])
            if n_best == 0:
                return []
            qsort(best, n_best, sizeof(Best), _cmp_best)
            n_kept = 0
            norms = [None] * len(values)
            # overlap with the spans kept so far, as a byte map (the kept spans are disjoint): linear, where
            # comparing with every kept span was quadratic in the findings of one text
            taken = <unsigned char*>calloc(n + 1, 1)
            if taken == NULL:
                raise MemoryError()
            for i in range(n_best):
                s = best[i].s
                e = best[i].e
                for k in range(s, e):
                    if taken[k]:
                        break
                else:
                    kind = self.det_kind[best[i].det]
                    value = values[best[i].slot]
                    norm = None
                    if kind and (kind != 1 or len(value) == 18) and value.isascii():
                        norm = self._builtin_normalize(kind, value)
                    if norm is None:
                        norm = self.normalizers[best[i].det](value)
                    if norm in allow:
                        continue
                    norms[best[i].slot] = norm
                    memset(&taken[s], 1, e - s)
                    best[n_kept] = best[i]
                    n_kept += 1
            qsort(best, n_kept, sizeof(Best), _cmp_start)
            out = []
            last_seg, last_b, last_c = -1, 0, 0
            for i in range(n_kept):
                s = best[i].s
                seg_i = best[i].seg
                if ascii_only:
                    cs = s
                else:
                    if seg_i != last_seg:
                        last_seg, last_b, last_c = seg_i, seg_b[2 * seg_i], segs[seg_i][0]
                    cs = last_c + _count_chars(buf, last_b, s)
                    last_b, last_c = s, cs
                out.append(self._finding(best[i].det, segs[seg_i], cs, best[i].score, checks[best[i].slot],
                                         best[i].ctx, values[best[i].slot], norms[best[i].slot]))
            if n_segs > 1:
                out.sort(key=_field_start)
            return out
        finally:
            free(kws)
            free(det_has_kw)
            free(cands)
            free(best)
            free(seg_b)
            free(taken)
            free(claimed)
            free(best_of)

    cdef str _hmac(self, int d, str norm):
        """``KeyedHasher.__call__`` (``plan.hashers[d]``) in C: the same 32 hex digits (tests compare them)."""
        cdef Py_ssize_t vlen
        cdef const char* v = PyUnicode_AsUTF8AndSize(norm, &vlen)  # raises as norm.encode() would
        cdef bytes prefix = self.prefixes[d]
        cdef char hex[32]
        pw_hmac16_hex(&self.hstate[16 * d], &self.hstate[16 * d + 8], <const unsigned char*>PyBytes_AS_STRING(prefix),
                      PyBytes_GET_SIZE(prefix), <const unsigned char*>v, vlen, hex)
        return hex[:32].decode("ascii")

    def keyed_hmac(self, int d, str norm):
        """The HMAC the core gives detector ``d``'s normal form ``norm`` (for the tests)."""
        if not 0 <= d < self.n_dets:
            raise IndexError(d)
        return self._hmac(d, norm)

    cdef object _finding(self, int d, tuple seg, int s, double score, object check, bint ctx, str value,
                         str norm):
        e = s + len(value)
        val_start = seg[1]
        category, sensitivity = self.classes[d]
        if self.det_kind[d] == 1 and len(value) == 18 and value.isascii():
            if self.today < 0:
                self._load_today()
            attrs = {"age_under_14": _yyyymmdd(value) > self.cutoff14}
        else:
            attrs = self.dets[d].attributes(value) if self.det_attrs[d] else {}
        if attrs:
            sensitivity = sensitivity_of(sensitivity, attrs)
        entity = self.entities[d]
        return make_finding((
            entity, s - val_start, e - val_start, _round3(score), self.names[d], preview(value, entity),
            self._hmac(d, norm), sensitivity, category, self.masked[d], seg[2],
            _CHECK_VALUE[check], ctx, attrs,
        ))


cdef int _ascii_digits(const unsigned char* v, int n, unsigned char* dg) noexcept:
    """The ASCII digits of ``v[:n]`` into ``dg`` (64 bytes); their count, or -1 for a non-ASCII byte or more than
    64 digits (values the built-in C paths leave to the detectors' Python methods)."""
    cdef int i, nd = 0
    for i in range(n):
        if v[i] >= 0x80:
            return -1
        if 48 <= v[i] <= 57:
            if nd == 64:
                return -1
            dg[nd] = v[i]
            nd += 1
    return nd


cdef bint _starts(const unsigned char* d, int n, list prefixes) noexcept:
    """Whether the ``n`` bytes ``d`` start with one of the byte strings ``prefixes``."""
    cdef bytes p
    cdef int k, i
    for p in prefixes:
        k = <int>PyBytes_GET_SIZE(p)
        if k > n:
            continue
        for i in range(k):
            if d[i] != <unsigned char>p[i]:
                break
        else:
            return True
    return False


def _hs_db(hs, expressions):
    """A libhs database of (expression, flags) pairs, ids 0..n-1, or None for none."""
    if not expressions:
        return None
    return hs.Database([e for e, _ in expressions], [f for _, f in expressions])


def _builtin_kind(det):
    """1, 2, 3 for the resident ID, mobile and bank card detectors as shipped (their methods untouched by a subclass
    or an instance), 0 for every other detector: its Python methods run."""
    from detectors.patterns.cn_bank_card import CnBankCardDetector
    from detectors.patterns.cn_mobile import CnMobileDetector
    from detectors.patterns.cn_resident_id import CnResidentIdDetector

    own = vars(det)
    if any(m in own for m in ("check", "score", "normalize", "attributes")):
        return 0
    return {CnResidentIdDetector: 1, CnMobileDetector: 2, CnBankCardDetector: 3}.get(type(det), 0)


cdef int _yyyymmdd(str number):
    """The birth date digits of an 18-character ASCII ID as an int (the caller checked the value)."""
    cdef int i, r = 0
    for i in range(6, 14):
        r = r * 10 + (<int>ord(number[i]) - 48)
    return r


cdef struct Slot:
    long long key   # -1: empty (keys are non-negative)
    int value


cdef inline long long _pair(int a, int b) noexcept:
    return (<long long>a << 32) | <unsigned int>b


cdef inline int _find(const Slot* t, int cap, long long key) noexcept:
    """Where ``key`` is in the open-addressing table ``t`` (``cap`` a power of two), or -1."""
    cdef unsigned long long h = <unsigned long long>key * 0x9E3779B97F4A7C15ULL
    cdef int i = <int>(h >> 40) & (cap - 1)
    while t[i].key != -1:
        if t[i].key == key:
            return i
        i = (i + 1) & (cap - 1)
    return -1


cdef inline void _put(Slot* t, int cap, long long key, int value) noexcept:
    """Store ``value`` under ``key`` (the table is at most half full: the caller sized it for every candidate)."""
    cdef unsigned long long h = <unsigned long long>key * 0x9E3779B97F4A7C15ULL
    cdef int i = <int>(h >> 40) & (cap - 1)
    while t[i].key != -1 and t[i].key != key:
        i = (i + 1) & (cap - 1)
    t[i].key = key
    t[i].value = value


cdef object _round3(double x):
    """``round(x, 3)`` without Python's decimal string round trip where ``x * 1000`` is within a quarter of an
    integer z: then the correctly rounded 3-place decimal is z / 1000 and IEEE division gives its nearest double,
    which is what ``round`` returns. Anything nearer a rounding half (or not finite) goes to ``round`` itself."""
    cdef double y = x * 1000.0
    cdef double z = floor(y + 0.5)
    if fabs(y - z) < 0.25 and fabs(y) < 1e15:
        return copysign(z / 1000.0, x)  # round keeps the sign of a value that rounds to zero
    return round(x, 3)


def round3(double x):
    """``_round3`` (for the tests, which hold it to ``round(x, 3)``)."""
    return _round3(x)


cdef inline int _first_from(const int* kws, int n_kw, int lo) noexcept:
    """The first keyword hit (``kws``: id, start, end triples sorted by start) starting at ``lo`` or later."""
    cdef int a = 0, b = n_kw, mid
    while a < b:
        mid = (a + b) // 2
        if kws[3 * mid + 1] < lo:
            a = mid + 1
        else:
            b = mid
    return a


cdef inline void _set_best(Best* b, double score, int det, int s, int e, int ctx, int seg, int prio) noexcept:
    b.score = score
    b.det = det
    b.s = s
    b.e = e
    b.ctx = ctx
    b.seg = seg
    b.prio = prio


cpdef str preview(str value, str entity):
    """``redact.preview`` compiled (the same rules; tests compare both on every entity type)."""
    cdef Py_ssize_t n, keep, head, tail
    if (entity == "EMAIL_ADDRESS" or entity == "EMAIL_MASKED") and "@" in value:
        local, _, domain = value.partition("@")
        return (local[:1] + MASK * 3) + "@" + domain
    if entity == "PERSON" or entity == "CN_NAME_MASKED" or entity == "ORGANIZATION":
        return value[:1] + MASK * max(1, len(value) - 1)
    if entity == "ADDRESS" or entity == "LOCATION":
        keep = min(len(value) // 3, 6)
        return value[:keep] + MASK * (len(value) - keep)
    n = len(value)
    if n <= 4:
        return value[:1] + MASK * (n - 1)
    head = min(3, n // 4)
    tail = min(2, n // 6)
    return value[:head] + MASK * (n - head - tail) + (value[n - tail:] if tail else "")


cdef inline int _count_chars(const unsigned char* buf, int a, int b) noexcept:
    """Code points in buf[a:b] (valid UTF-8): bytes that are not continuation bytes."""
    cdef int i, c = 0
    for i in range(a, b):
        if (buf[i] & 0xC0) != 0x80:
            c += 1
    return c


cdef int _char_start(bytes buf, int i):
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(buf)
    cdef int n = <int>PyBytes_GET_SIZE(buf)
    while 0 < i < n and 0x80 <= p[i] < 0xC0:
        i -= 1
    return i if i < n else n


def _field_start(f):
    return (f.field or "", f.start)


# -- payload layout: ``structured.leaves_py`` and ``Scanner._scan_leaves``'s text building, compiled ----------------

cdef object _st = None  # detectors.structured, bound at the end of this module (it imports this one)


def flatten(obj, str path="", int depth=0):
    """``structured.leaves_py``: the same leaves, paths and order (tests compare them on random payloads)."""
    cdef list out = []
    _walk(out, obj, path, depth, _st.MAX_PATH_DEPTH, _st.MAX_KEY_CHARS, _st._key_kinds)
    return out


cdef void _walk(list out, object o, str p, int d, int max_depth, int max_key, dict kinds) except *:
    cdef Py_ssize_t i
    t = type(o)
    if t is str:
        if o:
            out.append((p, o))
    elif t is dict or isinstance(o, dict):
        if d >= max_depth:
            _st._deep(o, p, out.append)
            return
        i = 0
        for k, v in o.items():
            k = str(k)
            kind = kinds.get(k)
            if kind is None:
                kind = _st._value_like(k)
            if kind:  # a key that is itself data: scanned as a value, never in a path
                name = f"{p}.<key{i}>" if p else f"<key{i}>"
                out.append((name, k))
                _walk(out, v, name, d + 1, max_depth, max_key, kinds)
                i += 1
                continue
            if len(k) > max_key:
                k = k[:max_key] + _st.ELLIPSIS
            _walk(out, v, (p + "." + k) if p else k, d + 1, max_depth, max_key, kinds)
            i += 1
    elif t is list or isinstance(o, (list, tuple)):
        if d >= max_depth:
            _st._deep(o, p, out.append)
            return
        i = 0
        for v in o:
            _walk(out, v, f"{p}[{i}]", d + 1, max_depth, max_key, kinds)
            i += 1
    elif isinstance(o, str):
        if o:
            out.append((p, str(o)))
    elif isinstance(o, (int, float)) and not isinstance(o, bool):
        out.append((p, str(o)))


def layout(list leaves):
    """``Scanner._scan_leaves``'s text: ``path: value\\n`` per leaf, with (segment start, value start, path) string
    offsets and the segment/value starts in UTF-8 bytes. Returns (text, segs, byte_segs)."""
    cdef list parts = [], segs = [], byte_segs = []
    cdef Py_ssize_t pos = 0, bpos = 0, hlen, hb, vlen
    for path, value in leaves:
        head = (path + ": ") if type(path) is str else f"{path}: "
        hlen = len(head)
        hb = hlen if head.isascii() else len(head.encode("utf-8", "replace"))
        segs.append((pos, pos + hlen, path))
        byte_segs.append((bpos, bpos + hb))
        parts.append(head)
        parts.append(value)
        parts.append("\n")
        vlen = len(value)
        pos += hlen + vlen + 1
        bpos += hb + (vlen if value.isascii() else len(value.encode("utf-8", "replace"))) + 1
    return "".join(parts), segs, byte_segs


from detectors import structured as _structured  # noqa: E402  (last: structured imports flatten from here)
_st = _structured
