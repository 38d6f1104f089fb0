# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Hyperscan through its C API (the system's libhs), for the scanner's compiled core.

python-hyperscan calls a Python function for every hit: it takes the GIL, builds an argument tuple of four ints
and calls back, about half of all Hyperscan time on identifier-dense text, where every identifier and every label
is a hit. Here the match handler is C: it appends (id, start, end) to a growable array, and the core reads the
array. Built only where libhs and its headers are installed (Debian ``libhyperscan-dev``); without them the core
uses python-hyperscan, with the same hits (tests compare both on the same databases).

A ``Database`` is scanned by one thread at a time, as the core that owns it is (a second thread gets a clear
error, not a corrupted hit array). The match handler needs no Python, so a scan of ``RELEASE_GIL_BYTES`` or more
(a multi-megabyte plain-text payload) lets other threads run meanwhile, as python-hyperscan did; shorter scans keep
the GIL rather than wait out another thread's switch interval to get it back.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.pycapsule cimport PyCapsule_New
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy


cdef extern from "hs/hs.h" nogil:
    ctypedef struct hs_database_t:
        pass
    ctypedef struct hs_scratch_t:
        pass
    ctypedef struct hs_platform_info_t:
        pass
    ctypedef struct hs_compile_error_t:
        char* message
        int expression
    ctypedef int hs_error_t
    ctypedef int (*match_event_handler)(unsigned int id, unsigned long long start, unsigned long long end,
                                        unsigned int flags, void* context)
    int HS_SUCCESS
    int HS_MODE_BLOCK
    hs_error_t hs_compile_multi(const char* const* expressions, const unsigned int* flags, const unsigned int* ids,
                                unsigned int elements, unsigned int mode, const hs_platform_info_t* platform,
                                hs_database_t** db, hs_compile_error_t** error)
    hs_error_t hs_free_compile_error(hs_compile_error_t* error)
    hs_error_t hs_free_database(hs_database_t* db)
    hs_error_t hs_alloc_scratch(const hs_database_t* db, hs_scratch_t** scratch)
    hs_error_t hs_free_scratch(hs_scratch_t* scratch)
    hs_error_t hs_scan(const hs_database_t* db, const char* data, unsigned int length, unsigned int flags,
                       hs_scratch_t* scratch, match_event_handler onEvent, void* context)
    const char* hs_version()


#: scans of at least this many bytes release the GIL (about 10 ms of Hyperscan on identifier-dense text)
RELEASE_GIL_BYTES = 1 << 20
cdef Py_ssize_t _RELEASE = RELEASE_GIL_BYTES


cdef struct Hits:
    int* data
    int n
    int cap
    int failed


cdef int _on_match(unsigned int idx, unsigned long long start, unsigned long long end, unsigned int flags,
                   void* context) noexcept nogil:
    cdef Hits* h = <Hits*>context
    cdef int* grown
    if h.n == h.cap:
        if h.cap > (1 << 28):  # int offsets of 3 * n would overflow (an input of gigabytes): refuse, not wrap
            h.failed = 1
            return 1
        grown = <int*>realloc(h.data, <size_t>6 * h.cap * sizeof(int))
        if grown == NULL:
            h.failed = 1
            return 1  # stop the scan; the caller raises MemoryError
        h.data = grown
        h.cap *= 2
    h.data[3 * h.n] = <int>idx
    h.data[3 * h.n + 1] = <int>start
    h.data[3 * h.n + 2] = <int>end
    h.n += 1
    return 0


def version():
    """The libhs version string."""
    return hs_version().decode()


cdef class Database:
    """A block-mode database compiled from (expression, flags) pairs, ids 0..n-1, for this host's CPU."""

    cdef hs_database_t* db
    cdef hs_scratch_t* scratch
    cdef Hits hits
    cdef bint busy

    def __cinit__(self):
        self.db = NULL
        self.scratch = NULL
        self.hits.cap = 256
        self.hits.n = 0
        self.hits.data = <int*>malloc(3 * self.hits.cap * sizeof(int))
        if self.hits.data == NULL:
            raise MemoryError()

    def __init__(self, list expressions, list flags):
        cdef unsigned int n = len(expressions), i
        cdef const char** exprs = <const char**>malloc(max(1, n) * sizeof(char*))
        cdef unsigned int* fl = <unsigned int*>malloc(max(1, n) * sizeof(unsigned int))
        cdef unsigned int* ids = <unsigned int*>malloc(max(1, n) * sizeof(unsigned int))
        cdef hs_compile_error_t* err = NULL
        cdef hs_error_t rc
        keep = [bytes(e) for e in expressions]  # NUL-terminated storage for the C strings
        try:
            if exprs == NULL or fl == NULL or ids == NULL:
                raise MemoryError()
            if n == 0 or len(flags) != n:
                raise ValueError("one flags value per expression, and at least one expression")
            for i in range(n):
                exprs[i] = PyBytes_AS_STRING(keep[i])
                fl[i] = flags[i]
                ids[i] = i
            rc = hs_compile_multi(exprs, fl, ids, n, HS_MODE_BLOCK, NULL, &self.db, &err)
            if rc != HS_SUCCESS:
                msg = err.message.decode(errors="replace") if err != NULL else f"error {rc}"
                at = err.expression if err != NULL else -1
                if err != NULL:
                    hs_free_compile_error(err)
                raise ValueError(f"Hyperscan compile failed at expression {at}: {msg}")
            rc = hs_alloc_scratch(self.db, &self.scratch)
            if rc != HS_SUCCESS:
                raise MemoryError(f"hs_alloc_scratch: error {rc}")
        finally:
            free(exprs)
            free(fl)
            free(ids)

    def __dealloc__(self):
        if self.scratch != NULL:
            hs_free_scratch(self.scratch)
        if self.db != NULL:
            hs_free_database(self.db)
        free(self.hits.data)

    cdef int _scan(self, const char* buf, Py_ssize_t size) except -1:
        cdef hs_error_t rc
        if size > 0xFFFFFFFF:
            raise ValueError("Hyperscan scans at most 4 GiB at a time")
        if self.busy:  # checked and set under the GIL
            raise RuntimeError("a Hyperscan database was scanned from two threads at once")
        self.busy = True
        self.hits.n = 0
        self.hits.failed = 0
        try:
            if size >= _RELEASE:
                with nogil:
                    rc = hs_scan(self.db, buf, <unsigned int>size, 0, self.scratch, _on_match, &self.hits)
            else:
                rc = hs_scan(self.db, buf, <unsigned int>size, 0, self.scratch, _on_match, &self.hits)
        finally:
            self.busy = False
        if self.hits.failed:
            raise MemoryError()
        if rc != HS_SUCCESS:
            raise RuntimeError(f"hs_scan: error {rc}")
        return self.hits.n

    def scan(self, bytes data, bytearray out):
        """Scan ``data`` and store the hits in ``out`` as native ints, (id, start, end) per hit in Hyperscan's
        reporting order; returns how many. ``out`` grows as needed. (The core calls ``SCAN`` instead: no copy.)"""
        cdef int n = self._scan(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
        cdef Py_ssize_t need = 3 * n * sizeof(int)
        if PyByteArray_GET_SIZE(out) < need:
            PyByteArray_Resize(out, need)
        if need:
            memcpy(PyByteArray_AS_STRING(out), self.hits.data, need)
        return n


cdef int _scan_api(object db, const char* buf, Py_ssize_t size, const int** hits) except -1:
    cdef Database d = <Database?>db  # a checked cast: anything else raises TypeError
    cdef int n = d._scan(buf, size)
    hits[0] = d.hits.data
    return n


#: ``int scan(Database db, const char* data, Py_ssize_t size, const int** hits) except -1`` for the compiled core: the
#: number of hits, with ``*hits`` pointing at the database's own (id, start, end) array, valid until its next scan
SCAN = PyCapsule_New(<void*>_scan_api, b"piplwatch._hs.scan", NULL)
