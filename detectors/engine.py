"""The scanner: one Hyperscan database for every pattern and context word, pure validators after.

Pipeline per text (or per flattened record):
1. fold full-width forms 1:1 (offsets stay true), encode UTF-8;
2. one Hyperscan block scan, SOM-leftmost, reports pattern candidates and context-word hits;
   context-mandatory detectors live in a second database that is scanned only when one of
   their words occurs (most texts never pay for the 5-11-digit QQ or 8-digit permit shapes);
3. digit/letter boundaries are checked on the bytes next to each candidate (Hyperscan has no
   lookarounds, and ``\\b`` is wrong next to CJK anyway);
4. validators (pure functions) and context give each candidate a three-way-checked score;
5. per-entity thresholds, allow/deny lists, overlap resolution by priority; only then are
   offsets converted to string offsets and previews/HMACs made.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

import hyperscan

from detectors.base import Boundary, Check, Detector, Finding, Pattern
from detectors.config import DetectorConfig
from detectors.normalize import fold
from detectors.redact import keyed_hmac, load_hmac_key, preview
from detectors.registry import build_registry
from detectors.structured import iter_leaves
from detectors.taxonomy import classify

logger = logging.getLogger(__name__)

WINDOW_BEFORE = 48  # bytes: ~16 CJK characters or 48 ASCII characters
WINDOW_AFTER = 12
SHORT_KEYWORD = 4  # ASCII keywords this short need non-letter neighbours ("ip" not in "zip")
_DIGITS = frozenset(b"0123456789")
_ALNUM = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_MASKS = frozenset(b"*#")
_FORBIDDEN = {Boundary.DIGIT: _DIGITS, Boundary.ALNUM: _ALNUM, Boundary.NO_MASK: _MASKS}


class DenyListDetector(Detector):
    """Literal values a user always wants reported, per entity."""

    PRIORITY = 1

    def __init__(self, entity: str, values: Sequence[str]) -> None:
        pats = tuple(Pattern(f"{entity} deny-list", re.escape(v), 1.0, Boundary.NONE) for v in values)
        super().__init__(patterns=pats, context=(), entity=entity)
        self.name = "DenyListDetector"


def _on_match(idx: int, start: int, end: int, flags: int, hits: list[tuple[int, int, int]]) -> None:
    hits.append((idx, start, end))


@dataclass(frozen=True)
class _Candidate:
    det: int
    pat: Pattern
    start: int
    end: int


class Scanner:
    """Finds Chinese personal information in text and structured payloads.

    Not thread-safe (one Hyperscan scratch per database); create one scanner per thread.
    """

    def __init__(self, config: DetectorConfig | None = None, *, hmac_key: bytes | None = None,
                 detectors: Sequence[Detector] | None = None, ner: Any = None) -> None:
        self.config = config or DetectorConfig()
        self._key = hmac_key if hmac_key is not None else load_hmac_key()
        dets = list(detectors) if detectors is not None else build_registry(
            entities=set(self.config.enabled) if self.config.enabled else None, disabled=set(self.config.disabled))
        dets += [DenyListDetector(e, v) for e, v in self.config.deny_list.items() if v]
        self.detectors = dets
        self.ner = ner
        self._build()

    # -- compilation -------------------------------------------------------------------------
    def _build(self) -> None:
        self._pats: list[tuple[int, Pattern]] = []
        gated_pats: list[tuple[int, Pattern]] = []
        kw_dets: dict[str, set[int]] = {}
        for i, det in enumerate(self.detectors):
            target = gated_pats if det.gated else self._pats
            target.extend((i, p) for p in det.patterns)
            for w in det.context:
                kw_dets.setdefault(w.lower(), set()).add(i)
        self._n_main = len(self._pats)
        self._kws = [(w, frozenset(d)) for w, d in sorted(kw_dets.items())]
        self._gated_dets = frozenset(i for i, d in enumerate(self.detectors) if d.gated)
        exprs, flags = [], []
        for _, p in self._pats:
            exprs.append(p.regex.encode())
            flags.append(self._flags(p.regex))
        for w, _ in self._kws:
            exprs.append(self._keyword_regex(w))
            flags.append(self._flags(w) | hyperscan.HS_FLAG_CASELESS)
        self._db = self._compile(exprs, flags)
        self._gated = gated_pats
        self._gdb = self._compile([p.regex.encode() for _, p in gated_pats], [self._flags(p.regex) for _, p in gated_pats])

    @staticmethod
    def _flags(regex: str) -> int:
        f = hyperscan.HS_FLAG_SOM_LEFTMOST
        if not regex.isascii():
            f |= hyperscan.HS_FLAG_UTF8
        return f

    @staticmethod
    def _keyword_regex(word: str) -> bytes:
        lit = re.escape(word)
        if word.isascii() and word.isalpha() and len(word) <= SHORT_KEYWORD:
            return f"(?:^|[^A-Za-z]){lit}(?:[^A-Za-z]|$)".encode()
        return lit.encode()

    @staticmethod
    def _compile(exprs: list[bytes], flags: list[int]) -> hyperscan.Database | None:
        if not exprs:
            return None
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
        return db

    # -- public API --------------------------------------------------------------------------
    def scan(self, data: Any, *, entities: Iterable[str] | None = None, min_score: float | None = None,
             ner: bool | None = None) -> list[Finding]:
        """Scan a string (plain text) or a JSON-like object (dict/list, nested)."""
        if isinstance(data, str):
            found = self.scan_text(data)
            if self._use_ner(ner):
                found = self.ner.augment_text(data, found, self)
        else:
            found = self.scan_payload(data, ner=ner)
        return self._filter(found, entities, min_score)

    def scan_batch(self, items: Iterable[Any], **kwargs: Any) -> Iterator[list[Finding]]:
        """Stream over many records; yields one list of findings per record, in order."""
        for item in items:
            yield self.scan(item, **kwargs)

    def scan_text(self, text: str) -> list[Finding]:
        """Pattern findings in one plain text."""
        return self._scan_segments(text, [(0, 0, None)])

    def scan_payload(self, obj: Any, *, ner: bool | None = None) -> list[Finding]:
        """Pattern (and, if enabled, gated NER) findings in a nested JSON-like object."""
        parts: list[str] = []
        segs: list[tuple[int, int, str | None]] = []
        pos = 0
        leaves = list(iter_leaves(obj))
        for path, value in leaves:
            head = f"{path}: "
            segs.append((pos, pos + len(head), path))
            parts.append(head)
            parts.append(value)
            parts.append("\n")
            pos += len(head) + len(value) + 1
        found = self._scan_segments("".join(parts), segs) if parts else []
        if self._use_ner(ner) and leaves:
            found = self.ner.augment_leaves(leaves, found, self)
        return found

    def _use_ner(self, ner: bool | None) -> bool:
        return self.ner is not None and (self.config.ner if ner is None else ner)

    def _filter(self, found: list[Finding], entities: Iterable[str] | None, min_score: float | None) -> list[Finding]:
        if entities is not None:
            keep = set(entities)
            found = [f for f in found if f.entity_type in keep or f.entity_type.removesuffix("_MASKED") in keep]
        if min_score is not None:
            found = [f for f in found if f.score >= min_score]
        return found

    # -- the hot path ------------------------------------------------------------------------
    def _scan_segments(self, text: str, segs: list[tuple[int, int, str | None]]) -> list[Finding]:
        """``segs``: (segment start, value start, field path) in string offsets, sorted."""
        folded = fold(text)
        data = folded.encode("utf-8")
        ascii_only = len(data) == len(folded)
        hits: list[tuple[int, int, int]] = []
        self._db.scan(data, match_event_handler=_on_match, context=hits)
        if not hits:
            return []
        n_main = self._n_main
        kw_hits: dict[int, list[tuple[int, int]]] = {}
        cands: list[_Candidate] = []
        gate = False
        for idx, s, e in hits:
            if idx >= n_main:
                for d in self._kws[idx - n_main][1]:
                    kw_hits.setdefault(d, []).append((s, e))
                    if d in self._gated_dets:
                        gate = True
            else:
                det, pat = self._pats[idx]
                cands.append(_Candidate(det, pat, s, e))
        if gate and self._gdb is not None:
            ghits: list[tuple[int, int, int]] = []
            self._gdb.scan(data, match_event_handler=_on_match, context=ghits)
            for idx, s, e in ghits:
                det, pat = self._gated[idx]
                if det in kw_hits:
                    cands.append(_Candidate(det, pat, s, e))
        if not cands:
            return []
        # byte offsets of segment starts, for clipping context windows and mapping fields
        if ascii_only:
            seg_bytes = [(a, b) for a, b, _ in segs]
        else:
            seg_bytes = [(len(folded[:a].encode()), len(folded[:b].encode())) for a, b, _ in segs]
        best: dict[tuple[int, int], tuple[float, _Candidate, Check, bool]] = {}
        n = len(data)
        cfg = self.config
        for c in cands:
            s, e = c.start, c.end
            bnd = c.pat.boundary
            if bnd is not Boundary.NONE:
                bad = _FORBIDDEN[bnd]
                if (s > 0 and data[s - 1] in bad) or (e < n and data[e] in bad):
                    continue
            det = self.detectors[c.det]
            seg_i = _segment_of(seg_bytes, s)
            seg_start, val_start = seg_bytes[seg_i]
            if s < val_start:
                continue  # inside a field name
            value = data[s:e].decode("utf-8")
            check = det.check(value)
            ctx = _has_context(kw_hits.get(c.det), s, e, seg_start)
            sc = det.score(value, c.pat.score, check, ctx)
            if sc is None or sc < cfg.threshold(det.entity):
                continue
            key = (c.det, s)
            prev = best.get(key)
            if prev is None or (e - s) > (prev[1].end - prev[1].start):
                best[key] = (sc, c, check, ctx)
        if not best:
            return []
        ranked = sorted(best.values(), key=lambda t: (self.detectors[t[1].det].PRIORITY, -t[0], t[1].start - t[1].end))
        taken: list[tuple[int, int]] = []
        out: list[Finding] = []
        for sc, c, check, ctx in ranked:
            if any(c.start < te and ts < c.end for ts, te in taken):
                continue
            det = self.detectors[c.det]
            value = data[c.start:c.end].decode("utf-8")
            norm = det.normalize(value)
            if norm in cfg.allow_list:
                continue
            taken.append((c.start, c.end))
            out.append(self._finding(det, folded, data, ascii_only, segs, seg_bytes, c, sc, check, ctx, value, norm))
        out.sort(key=lambda f: (f.field or "", f.start))
        return out

    def _finding(self, det: Detector, folded: str, data: bytes, ascii_only: bool, segs: list[tuple[int, int, str | None]],
                 seg_bytes: list[tuple[int, int]], c: _Candidate, score: float, check: Check, ctx: bool, value: str,
                 norm: str) -> Finding:
        if ascii_only:
            s, e = c.start, c.end
        else:
            s = len(data[: c.start].decode("utf-8"))
            e = s + len(value)
        seg_i = _segment_of(seg_bytes, c.start)
        val_start, path = segs[seg_i][1], segs[seg_i][2]
        category, sensitivity = classify(det.entity)
        attrs = det.attributes(value)
        if attrs.get("age_under_14"):
            category = "minor"
            sensitivity = "spi"
        return Finding(
            entity_type=det.entity, start=s - val_start, end=e - val_start, score=round(score, 3), detector=det.name,
            preview=preview(value, det.entity), hmac=keyed_hmac(self._key, det.SUBJECT_KIND or det.entity, norm),
            sensitivity=sensitivity, category=category, masked=det.MASKED, field=path, check=check.value,
            context=ctx, attributes=attrs,
        )

    def hmac_of(self, kind: str, normalized: str) -> str:
        """The keyed HMAC this scanner gives a normalized value of ``kind`` (for joins with consents)."""
        return keyed_hmac(self._key, kind, normalized)


def _segment_of(seg_bytes: list[tuple[int, int]], pos: int) -> int:
    lo, hi = 0, len(seg_bytes) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if seg_bytes[mid][0] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _has_context(kws: list[tuple[int, int]] | None, s: int, e: int, seg_start: int) -> bool:
    if not kws:
        return False
    lo = max(seg_start, s - WINDOW_BEFORE)
    hi = e + WINDOW_AFTER
    for ks, ke in kws:
        if lo <= ks and ke <= s + 1:
            return True
        if e <= ks + 1 and ks <= hi and ks >= e - 1:
            return True
    return False
