"""The scan plan: everything a scan needs, compiled once from the detectors and the config, frozen.

Both implementations of the hot path read only this: the Python reference (``Scanner._scan_segments_py``) and the
compiled core (``detectors/_scan_core.pyx``). One Hyperscan database holds every pattern of the ungated detectors
and every context word; each context-mandatory (gated) detector has a small database of its own, scanned only
near its words.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import hyperscan

from detectors.base import Boundary, Detector, Pattern
from detectors.patterns._common import OTHER_NUMBER_LABELS
from detectors.redact import KeyedHasher

WINDOW_BEFORE = 48  # bytes: ~16 CJK characters or 48 ASCII characters
WINDOW_AFTER = 12
#: ASCII keywords this short need non-letter neighbours ("ip" not in "zip")
SHORT_KEYWORD = 4
GATED_MAX_LEN = 72  # bytes: the longest context-mandatory match (a 64-hex digest, a dated Chinese DOB)
#: a vetoing label must end within this many bytes before the value, with only these bytes in between
VETO_GAP = 8
#: (ASCII separators, and the UTF-8 bytes of the full-width colon U+FF1A and the ideographic space U+3000)
VETO_SEPARATORS = frozenset(b" \t:=#\"'" + "：\u3000".encode())

_WRAP = {Boundary.DIGIT: b"[^0-9]", Boundary.ALNUM: b"[^0-9A-Za-z]"}

#: (detector index, pattern, boundary encoded in the regex)
PlanPattern = tuple[int, Pattern, bool]


@dataclass(frozen=True)
class ScanPlan:
    """A compiled, immutable scan plan (see the module docstring)."""

    detectors: tuple[Detector, ...]
    #: the main database's (expression, flags): ``patterns`` (ids 0..n_main-1) then one expression per keyword
    expressions: tuple[tuple[bytes, int], ...]
    patterns: tuple[PlanPattern, ...]
    keywords: tuple[str, ...]
    #: keyword id -> the detectors it is context for, ascending
    keyword_detectors: tuple[tuple[int, ...], ...]
    #: keyword id -> the detectors whose reading of a value right after it (separators only between) is vetoed
    keyword_vetoes: tuple[tuple[int, ...], ...]
    #: gated detector -> its patterns and their (expression, flags)
    gated_expressions: Mapping[int, tuple[tuple[PlanPattern, ...], tuple[tuple[bytes, int], ...]]]
    #: per detector
    priority: tuple[int, ...]
    thresholds: tuple[float, ...]
    classes: tuple[tuple[str, str], ...]  # (category, sensitivity)
    hashers: tuple[KeyedHasher, ...]
    allow_list: frozenset[str]
    #: patterns scanned without start tracking, recovered with Python ``re`` (``Pattern.som_window``)
    start_regex: Mapping[str, re.Pattern[str]]
    window_before: int = WINDOW_BEFORE
    window_after: int = WINDOW_AFTER
    gated_max_len: int = GATED_MAX_LEN

    @property
    def n_main(self) -> int:
        """How many of the main database's ids are patterns (the rest are keywords)."""
        return len(self.patterns)

    @property
    def gated_detectors(self) -> frozenset[int]:
        return frozenset(self.gated_expressions)

    # python-hyperscan databases, compiled on first use: the compiled core compiles its own with libhs where that
    # is installed (``detectors/_hs.pyx``), and then only the Python reference needs these
    @functools.cached_property
    def db(self) -> hyperscan.Database | None:
        """The main database (python-hyperscan)."""
        return _compile(self.expressions)

    @functools.cached_property
    def gated(self) -> Mapping[int, tuple[tuple[PlanPattern, ...], hyperscan.Database | None]]:
        """Gated detector -> (its patterns, their python-hyperscan database)."""
        return {d: (entries, _compile(exprs)) for d, (entries, exprs) in self.gated_expressions.items()}

    def recover_start(self, padded: bytes, pat: Pattern, end: int) -> int:
        """Leftmost start (padded offset) of a match of ``pat`` (a ``som_window`` pattern) ending at ``end``, or -1."""
        lo = char_start(padded, max(0, end - pat.som_window))
        try:
            window = padded[lo:end].decode("utf-8")
        except UnicodeDecodeError:
            return -1
        m = self.start_regex[pat.name].search(window)
        if m is None:
            return -1
        return lo + len(window[: m.start()].encode())


def build_plan(
    detectors: Sequence[Detector],
    *,
    thresholds: Sequence[float],
    classes: Sequence[tuple[str, str]],
    hasher: Callable[[str], KeyedHasher],
    allow_list: frozenset[str],
) -> ScanPlan:
    """Compile the databases and per-detector tables for ``detectors`` (``hasher(kind)`` gives the keyed hasher of an
    HMAC namespace)."""
    dets = tuple(detectors)
    pats: list[PlanPattern] = []
    kw_dets: dict[str, set[int]] = {}
    kw_neg: dict[str, set[int]] = {}
    gated_by_det: dict[int, list[PlanPattern]] = {}
    for i, det in enumerate(dets):
        entries = [(i, p, _wrappable(p)) for p in det.patterns]
        if det.gated:
            gated_by_det[i] = entries
        else:
            pats.extend(entries)
        for w in det.context:
            kw_dets.setdefault(w.lower(), set()).add(i)
        for w in (*OTHER_NUMBER_LABELS, *det.NEGATIVE_CONTEXT):
            kw_neg.setdefault(w.lower(), set()).add(i)
    for w in kw_neg:
        kw_dets.setdefault(w, set())
    kws = sorted(kw_dets.items())
    exprs = [_expr(p, wrapped) for _, p, wrapped in pats]
    flags = [_flags(p.regex, som=not (p.som_window or p.start_anchor)) for _, p, _ in pats]
    for _, p, wrapped in pats:
        if (p.som_window or p.start_anchor) and wrapped:
            raise ValueError(f"pattern {p.name!r}: start recovery needs Boundary.NONE")
        if p.start_anchor and not (len(p.start_anchor[0]) == 1 and (p.start_anchor[0] + p.start_anchor[1]).isascii()):
            raise ValueError(f"pattern {p.name!r}: start_anchor is one ASCII anchor and ASCII class characters")
    for w, _ in kws:
        exprs.append(_keyword_regex(w))
        flags.append(_flags(w) | hyperscan.HS_FLAG_CASELESS)
    gated = {
        d: (tuple(entries), tuple((_expr(p, w), _flags(p.regex)) for _, p, w in entries))
        for d, entries in gated_by_det.items()
    }
    return ScanPlan(
        detectors=dets,
        expressions=tuple(zip(exprs, flags, strict=True)),
        patterns=tuple(pats),
        keywords=tuple(w for w, _ in kws),
        keyword_detectors=tuple(tuple(sorted(d)) for _, d in kws),
        keyword_vetoes=tuple(tuple(sorted(kw_neg.get(w, ()))) for w, _ in kws),
        gated_expressions=gated,
        priority=tuple(d.PRIORITY for d in dets),
        thresholds=tuple(thresholds),
        classes=tuple(classes),
        hashers=tuple(hasher(d.SUBJECT_KIND or d.entity) for d in dets),
        allow_list=allow_list,
        # the same regex anchored at the end, in Python syntax, for patterns scanned without start tracking
        start_regex={p.name: re.compile(f"(?:{p.regex})\\Z") for _, p, _ in pats if p.som_window},
    )


def char_start(buf: bytes, i: int) -> int:
    """Move ``i`` back to the first byte of a UTF-8 character."""
    while 0 < i < len(buf) and 0x80 <= buf[i] < 0xC0:
        i -= 1
    return min(i, len(buf))


def _wrappable(p: Pattern) -> bool:
    """ASCII patterns with a digit/letter boundary get it encoded in the regex (one consumed byte per side)."""
    return p.boundary in _WRAP and p.regex.isascii()


def _expr(p: Pattern, wrapped: bool) -> bytes:
    if not wrapped:
        return p.regex.encode()
    w = _WRAP[p.boundary]
    return w + b"(?:" + p.regex.encode() + b")" + w


def _flags(regex: str, *, som: bool = True) -> int:
    f = hyperscan.HS_FLAG_SOM_LEFTMOST if som else 0
    if not regex.isascii():
        f |= hyperscan.HS_FLAG_UTF8
    return f


def _keyword_regex(word: str) -> bytes:
    lit = re.escape(word)
    if word.isascii() and word.isalpha() and len(word) <= SHORT_KEYWORD:
        return f"(?:^|[^A-Za-z]){lit}(?:[^A-Za-z]|$)".encode()
    return lit.encode()


def _compile(expressions: Sequence[tuple[bytes, int]]) -> hyperscan.Database | None:
    if not expressions:
        return None
    exprs, flags = [e for e, _ in expressions], [f for _, f in expressions]
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
    return db
