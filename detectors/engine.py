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

import bisect
import logging
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from detectors.base import Boundary, Check, Detector, Finding, Pattern, make_finding
from detectors.config import DetectorConfig
from detectors.normalize import fold
from detectors.plan import VETO_GAP, VETO_SEPARATORS, ScanPlan, build_plan, char_start
from detectors.redact import KeyedHasher, load_hmac_key, preview
from detectors.registry import build_registry
from detectors.structured import leaves as flatten_leaves
from detectors.taxonomy import classify, sensitivity_of

try:
    from detectors._scan_core import ScanCore
    from detectors._scan_core import layout as _layout_c
except ImportError:  # pragma: no cover - a build without the compiled core runs the reference
    ScanCore = _layout_c = None


def layout_py(leaves: list[tuple[str, str]]) -> tuple[str, list[tuple[int, int, str | None]], list[tuple[int, int]]]:
    """``leaves`` as one text of ``path: value\n`` segments: (text, [(segment start, value start, path)] in string
    offsets, [(segment start, value start)] in UTF-8 bytes). The reference of ``_scan_core.layout``."""
    parts: list[str] = []
    segs: list[tuple[int, int, str | None]] = []
    byte_segs: list[tuple[int, int]] = []
    pos = bpos = 0
    for path, value in leaves:
        head = f"{path}: "
        hlen = len(head)
        hb = hlen if head.isascii() else len(head.encode("utf-8", "replace"))
        segs.append((pos, pos + hlen, path))
        byte_segs.append((bpos, bpos + hb))
        parts += (head, value, "\n")
        pos += hlen + len(value) + 1
        bpos += hb + (len(value) if value.isascii() else len(value.encode("utf-8", "replace"))) + 1
    return "".join(parts), segs, byte_segs


_layout = _layout_c if _layout_c is not None else layout_py

logger = logging.getLogger(__name__)

#: leaves per call into the hot path for big payloads (about 200 KB of text for export rows)
CHUNK_LEAVES = 4096
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


def _on_match(idx: int, start: int, end: int, flags: int, hits: Any) -> None:
    hits.append((idx, start, end))


class Scanner:
    """Finds Chinese personal information in text and structured payloads.

    Not thread-safe (one Hyperscan scratch per database); create one scanner per thread.
    """

    def __init__(
        self,
        config: DetectorConfig | None = None,
        *,
        hmac_key: bytes | None = None,
        detectors: Sequence[Detector] | None = None,
        ner: Any = None,
        ner_mode: str = "gated",
    ) -> None:
        if ner_mode not in ("gated", "full", "off"):
            raise ValueError(f"ner_mode must be gated, full or off, not {ner_mode!r}")
        self.config = config or DetectorConfig()
        self._key = hmac_key if hmac_key is not None else load_hmac_key()
        dets = (
            list(detectors)
            if detectors is not None
            else build_registry(
                entities=set(self.config.enabled) if self.config.enabled else None, disabled=set(self.config.disabled)
            )
        )
        dets += [DenyListDetector(e, v) for e, v in self.config.deny_list.items() if v]
        self.detectors = dets
        #: which text reaches the NER model: ``gated`` (cue windows), ``full`` (every Chinese free-text leaf)
        #: or ``off`` (field rules and patterns only); see ``detectors.ner``
        self.ner_mode = ner_mode
        self.ner: Any = ner if ner_mode != "off" else None
        self._kind_hashers: dict[str, KeyedHasher] = {}
        self.plan: ScanPlan = build_plan(
            dets,
            thresholds=[self.config.threshold(d.entity) for d in dets],
            classes=[classify(d.entity) for d in dets],
            hasher=self._hasher,
            allow_list=frozenset(self.config.allow_list),
        )
        self._core = ScanCore(self.plan) if ScanCore is not None else None
        if self._core is None:
            warnings.warn(
                "detectors._scan_core is not compiled (no C compiler at install?): the scanner runs its "
                "Python reference, about 1.5x slower",
                RuntimeWarning,
                stacklevel=2,
            )

    # -- public API --------------------------------------------------------------------------
    def scan(
        self,
        data: Any,
        *,
        entities: Iterable[str] | None = None,
        min_score: float | None = None,
        ner: bool | None = None,
    ) -> list[Finding]:
        """Scan a string (plain text) or a JSON-like object (dict/list, nested)."""
        if isinstance(data, str):
            found = self.scan_text(data)
            if self._use_ner(ner):
                found = self.ner.augment_text(data, found, self)
        else:
            found = self.scan_payload(data, ner=ner)
        return self._filter(found, entities, min_score)

    def scan_batch(
        self,
        items: Iterable[Any],
        *,
        entities: Iterable[str] | None = None,
        min_score: float | None = None,
        ner: bool | None = None,
        chunk: int = 64,
    ) -> Iterator[list[Finding]]:
        """Stream over many records; yields one list of findings per record, in order (``scan`` of each).

        With the NER stage on, records are taken ``chunk`` at a time so that their flagged windows go through
        the model in one batched pass.
        """
        if not self._use_ner(ner):
            for item in items:
                yield self.scan(item, entities=entities, min_score=min_score, ner=False)
            return
        batch: list[Any] = []
        for item in items:
            batch.append(item)
            if len(batch) >= chunk:
                yield from self._scan_chunk(batch, entities, min_score)
                batch = []
        if batch:
            yield from self._scan_chunk(batch, entities, min_score)

    def _scan_chunk(
        self, items: list[Any], entities: Iterable[str] | None, min_score: float | None
    ) -> list[list[Finding]]:
        found: list[list[Finding]] = []
        records, where = [], []  # what goes through the NER stage (scan() skips payloads without leaves)
        for item in items:
            if isinstance(item, str):
                found.append(self.scan_text(item))
                leaves: list[tuple[Any, str]] = [(None, item)]
            else:
                leaves = flatten_leaves(item)
                found.append(self.scan_payload(item, ner=False, leaves=leaves))
            if leaves:
                records.append((leaves, found[-1]))
                where.append(len(found) - 1)
        for i, augmented in zip(where, self.ner.augment_many(records, self)):
            found[i] = augmented
        return [self._filter(f, entities, min_score) for f in found]

    def scan_text(self, text: str) -> list[Finding]:
        """Pattern findings in one plain text."""
        return self._scan_segments(text, [(0, 0, None)])

    def scan_payload(
        self, obj: Any, *, ner: bool | None = None, leaves: list[tuple[str, str]] | None = None
    ) -> list[Finding]:
        """Pattern (and, if enabled, gated NER) findings in a nested JSON-like object.

        ``leaves`` may pass ``flatten_leaves(obj)`` when the caller needs them too. A payload of more than
        ``CHUNK_LEAVES`` leaves is scanned a chunk of leaves at a time (findings never span two leaves, so the
        result is the same): each call into the compiled core stays short, and a big export never holds the
        interpreter for long.
        """
        if leaves is None:
            leaves = flatten_leaves(obj)
        if len(leaves) <= CHUNK_LEAVES:
            found = self._scan_leaves(leaves)
        else:
            found = []
            for i in range(0, len(leaves), CHUNK_LEAVES):
                found += self._scan_leaves(leaves[i : i + CHUNK_LEAVES])
            found.sort(key=_field_start)
        if self._use_ner(ner) and leaves:
            found = self.ner.augment_leaves(leaves, found, self)
        return found

    def _scan_leaves(self, leaves: list[tuple[str, str]]) -> list[Finding]:
        """Pattern findings of ``leaves`` laid out as one text of ``path: value`` segments."""
        if not leaves:
            return []
        text, segs, byte_segs = _layout(leaves)
        return self._scan_segments(text, segs, byte_segs=byte_segs)

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
    def _scan_segments(
        self, text: str, segs: list[tuple[int, int, str | None]], byte_segs: list[tuple[int, int]] | None = None
    ) -> list[Finding]:
        """``segs``: (segment start, value start, field path) in string offsets, sorted.

        ``byte_segs`` are the same offsets in UTF-8 bytes of the unfolded text, when the caller has them.
        Runs the compiled core (``detectors/_scan_core.pyx``); ``_scan_segments_py`` is the reference.
        """
        if self._core is not None:
            return self._core.scan_segments(text, segs, byte_segs)
        return self._scan_segments_py(text, segs, byte_segs)

    def _scan_segments_py(
        self, text: str, segs: list[tuple[int, int, str | None]], byte_segs: list[tuple[int, int]] | None = None
    ) -> list[Finding]:
        """The readable reference of the hot path: the compiled core must give exactly these findings."""
        plan = self.plan
        if plan.db is None:
            return []
        folded = fold(text)
        data = folded.encode("utf-8", "replace")  # a lone surrogate (a JSON \ud800 escape) becomes one byte: "?"
        ascii_only = len(data) == len(folded)
        padded = b"\n" + data + b"\n"  # wrapped patterns consume one neighbour byte on each side
        hits: list[tuple[int, int, int]] = []
        plan.db.scan(padded, match_event_handler=_on_match, context=hits)
        if not hits:
            return []
        n_main = plan.n_main
        pats = plan.patterns
        kw_hits: dict[int, list[tuple[int, int]]] = {}  # detector -> its keyword hits [(start, end)], data offsets
        kw_dets = plan.keyword_detectors
        vetoes = plan.keyword_vetoes
        veto_hits: dict[int, list[int]] = {}  # end (data offset) -> keyword ids of labels that veto readings after them
        cands: list[tuple[int, Pattern, bool, int, int]] = []
        for idx, s, e in hits:
            if idx >= n_main:
                h = (max(0, s - 1), e - 1)
                if vetoes[idx - n_main]:
                    veto_hits.setdefault(e - 1, []).append(idx - n_main)
                for d in kw_dets[idx - n_main]:
                    lst = kw_hits.get(d)
                    if lst is None:
                        kw_hits[d] = [h]
                    else:
                        lst.append(h)
            else:
                pdi, pat, wrapped = pats[idx]
                if pat.som_window:
                    s = plan.recover_start(padded, pat, e)
                    if s < 0:
                        continue
                elif pat.start_anchor:
                    s = _anchor_start(padded, e, pat.start_anchor)
                # padded offset p is data offset p - 1; a wrapped match also holds one byte on each side
                cands.append((pdi, pat, wrapped, s if wrapped else s - 1, e - 2 if wrapped else e - 1))
        gated_dets = plan.gated_detectors
        gated = [d for d in kw_hits if d in gated_dets]
        wb, wa, gmax = plan.window_before, plan.window_after, plan.gated_max_len
        for d in gated:
            # context-mandatory shapes can only score near their words: scan those windows only
            entries, gdb = plan.gated[d]
            if gdb is None:
                continue
            regions: list[list[int]] = []
            for ks, ke in sorted(kw_hits[d]):
                lo, hi = max(0, ks - wa - gmax), min(len(data), ke + wb + gmax)
                if regions and lo <= regions[-1][1]:
                    regions[-1][1] = max(regions[-1][1], hi)
                else:
                    regions.append([lo, hi])
            for lo, hi in regions:
                lo, hi = char_start(padded, lo), char_start(padded, hi + 2)  # keep the slice valid UTF-8
                ghits: list[tuple[int, int, int]] = []
                gdb.scan(padded[lo:hi], match_event_handler=_on_match, context=ghits)
                for idx, s, e in ghits:
                    _, pat, wrapped = entries[idx]
                    cands.append(
                        (d, pat, wrapped, s + lo if wrapped else s + lo - 1, (e - 2 if wrapped else e - 1) + lo)
                    )
        if not cands:
            return []
        for lst in kw_hits.values():
            lst.sort()
        # byte offsets of segment starts, for clipping context windows and mapping fields
        if ascii_only:
            seg_bytes = [(a, b) for a, b, _ in segs]
        elif byte_segs is not None and folded is text:
            seg_bytes = byte_segs  # folding changed nothing, so byte offsets of the original text hold
        else:
            seg_bytes = [
                (len(folded[:a].encode("utf-8", "replace")), len(folded[:b].encode("utf-8", "replace")))
                for a, b, _ in segs
            ]
        best: dict[tuple[int, int], tuple[float, int, int, int, Check, bool, str, int]] = {}
        n = len(data)
        dets = plan.detectors
        thresholds = plan.thresholds
        prio = plan.priority
        allow = plan.allow_list
        # highest priority first: a span a higher-priority detector already claimed (a valid resident ID read
        # as a card or USCC candidate too) is never validated again, since resolution would drop it anyway
        cands.sort(key=lambda c: prio[c[0]])
        claimed: dict[tuple[int, int], int] = {}
        may_skip = not allow  # an allow-listed winner is dropped late, so its span must stay open
        for di, pat, wrapped, s, e in cands:
            if may_skip:
                p = claimed.get((s, e))
                if p is not None and p < prio[di]:
                    continue
            if not wrapped:
                bnd = pat.boundary
                if bnd is not Boundary.NONE:
                    bad = _FORBIDDEN[bnd]
                    if (s > 0 and data[s - 1] in bad) or (e < n and data[e] in bad):
                        continue
            det = dets[di]
            seg_i = _segment_of(seg_bytes, s)
            seg_start, val_start = seg_bytes[seg_i]
            if s < val_start:
                continue  # inside a field name
            if veto_hits and _vetoed(veto_hits, vetoes, di, data, s, seg_start):
                continue  # right after a label naming another kind of number (订单号：..., order_no: ...)
            value = data[s:e].decode("utf-8")
            check = det.check(value)
            if check is Check.FAIL and not det.SCORES_FAILED_CHECKS:
                continue
            ctx = _has_context(kw_hits.get(di), s, e, seg_start, wb, wa)
            sc = det.score(value, pat.score, check, ctx)
            if sc is None or sc < thresholds[di]:
                continue
            key = (di, s)
            prev = best.get(key)
            if prev is None or (e - s) > (prev[3] - prev[2]):
                best[key] = (sc, di, s, e, check, ctx, value, seg_i)
            if may_skip and (s, e) not in claimed:
                claimed[(s, e)] = prio[di]
        if not best:
            return []
        ranked = sorted(best.values(), key=lambda t: (prio[t[1]], -t[0], t[2] - t[3]))
        taken = bytearray(n + 1)  # bytes of the spans kept so far (disjoint): an overlap test per span, not per pair
        kept = []
        for item in ranked:
            s, e = item[2], item[3]
            if any(taken[s:e]):
                continue
            norm = dets[item[1]].normalize(item[6])
            if norm in allow:
                continue
            taken[s:e] = b"\x01" * (e - s)
            kept.append((item, norm))
        # string offsets: walk the kept (disjoint) spans in byte order, decoding only the gaps between them
        kept.sort(key=lambda k: k[0][2])
        out: list[Finding] = []
        last_seg, last_b, last_c = -1, 0, 0
        for (sc, di, s, _e, check, ctx, value, seg_i), norm in kept:
            if ascii_only:
                cs = s
            else:
                if seg_i != last_seg:
                    last_seg, last_b, last_c = seg_i, seg_bytes[seg_i][0], segs[seg_i][0]
                cs = last_c + len(data[last_b:s].decode("utf-8"))
                last_b, last_c = s, cs
            out.append(self._finding(di, dets[di], segs[seg_i], cs, sc, check, ctx, value, norm))
        out.sort(key=lambda f: (f.field or "", f.start))
        return out

    def _finding(
        self,
        di: int,
        det: Detector,
        seg: tuple[int, int, str | None],
        s: int,
        score: float,
        check: Check,
        ctx: bool,
        value: str,
        norm: str,
    ) -> Finding:
        """``s``: the string offset of the value in the scanned text; ``seg``: its (segment, value start, path)."""
        e = s + len(value)
        val_start, path = seg[1], seg[2]
        category, sensitivity = self.plan.classes[di]
        attrs = det.attributes(value) if det.HAS_ATTRIBUTES else {}
        if attrs:
            sensitivity = sensitivity_of(sensitivity, attrs)
        return make_finding(
            (
                det.entity,
                s - val_start,
                e - val_start,
                round(score, 3),
                det.name,
                preview(value, det.entity),
                self.plan.hashers[di](norm),
                sensitivity,
                category,
                det.MASKED,
                path,
                check.value,
                ctx,
                attrs,
            )
        )

    def hmac_of(self, kind: str, normalized: str) -> str:
        """The keyed HMAC this scanner gives a normalized value of ``kind`` (for joins with consents)."""
        return self._hasher(kind)(normalized)

    def _hasher(self, kind: str) -> KeyedHasher:
        hasher = self._kind_hashers.get(kind)
        if hasher is None:
            hasher = self._kind_hashers[kind] = KeyedHasher(self._key, f"{kind}:".encode())
        return hasher


def _anchor_start(padded: bytes, end: int, anchor: tuple[str, str]) -> int:
    """``Pattern.start_anchor`` recovery: back to the last anchor before ``end``, then over the class bytes."""
    i = padded.rfind(anchor[0].encode(), 0, end)
    cls = anchor[1].encode()
    while i > 0 and padded[i - 1] in cls:
        i -= 1
    return i


def _vetoed(
    veto_hits: dict[int, list[int]], vetoes: tuple[tuple[int, ...], ...], di: int, data: bytes, s: int, seg_start: int
) -> bool:
    """Whether a label vetoing detector ``di`` ends at most ``VETO_GAP`` bytes before ``s`` in the same segment, with
    only separators between."""
    p = s
    while p >= max(seg_start, s - VETO_GAP):
        for k in veto_hits.get(p, ()):
            if di in vetoes[k]:
                return True
        if p == 0 or data[p - 1] not in VETO_SEPARATORS:
            return False
        p -= 1
    return False


def _field_start(f: Finding) -> tuple[str, int]:
    return (f.field or "", f.start)


def _segment_of(seg_bytes: list[tuple[int, int]], pos: int) -> int:
    if len(seg_bytes) == 1:
        return 0
    lo, hi = 0, len(seg_bytes) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if seg_bytes[mid][0] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _has_context(kws: list[tuple[int, int]] | None, s: int, e: int, seg_start: int, before: int, after: int) -> bool:
    """Whether a keyword hit (``kws``: sorted by start) sits in the window of [s, e): only hits starting in
    [lo, hi] can, found by bisection."""
    if not kws:
        return False
    lo = max(seg_start, s - before)
    hi = e + after
    for ks, ke in kws[bisect.bisect_left(kws, (lo, -1)) :]:
        if ks > hi:
            break
        if lo <= ks and ke <= s + 1:
            return True
        if e <= ks + 1 and ks >= e - 1:
            return True
    return False
