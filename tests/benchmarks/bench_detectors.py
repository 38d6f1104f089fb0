"""Benchmark: piplwatch pattern detectors vs Presidio's AnalyzerEngine on the same ~2 KB Chinese JSON records.

Run:  .venv/bin/python tests/benchmarks/bench_detectors.py [--records 3000] [--presidio-records 300] [--rounds 5]

Both run in this one process on one core. Presidio gets equivalent Chinese PatternRecognizers
generated from our detectors (same patterns with lookaround boundaries, same context words,
our validators as ``validate_result``) and no NLP model, its fastest configuration.
Prints records/s, MB/s and the ratio; compare ratios, not absolutes (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core (the NER rows), before numpy is imported

import orjson

from detectors import Check, Scanner
from detectors.base import Boundary
from detectors.registry import build_registry
from tests.benchmarks.records import make_records


def presidio_engine():
    from presidio_analyzer import Pattern, PatternRecognizer

    from tests.presidio_support import engine

    recs = []
    for det in build_registry():
        bnd = {Boundary.DIGIT: "0-9", Boundary.ALNUM: "0-9A-Za-z"}.get(det.patterns[0].boundary)
        pats = []
        for p in det.patterns:
            rx = p.regex if bnd is None else f"{p.regex}(?![{bnd}])"
            # first class first, lookbehind after it (performance-notes.md): Presidio gets the fast form
            if bnd is not None:
                rx = f"(?<![{bnd}]){rx}"
            pats.append(Pattern(p.name, rx, p.score))

        class Rec(PatternRecognizer):
            _det = det

            def validate_result(self, pattern_text: str):
                c = self._det.check(pattern_text)
                return None if c is Check.NOT_APPLICABLE else c is Check.PASS

        recs.append(Rec(supported_entity=det.entity, patterns=pats, context=list(det.context), supported_language="zh"))
    return engine(recs)


def timed(fn, items):
    t = time.perf_counter()
    n = 0
    for x in items:
        n += len(fn(x))
    return time.perf_counter() - t, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=3000)
    ap.add_argument("--presidio-records", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved piplwatch/Presidio rounds for the median ratio")
    args = ap.parse_args()
    os.environ.setdefault("PIPLWATCH_HMAC_KEY", "bench-key-0123456789abcdef")
    recs = make_records(args.records)
    texts = [orjson.dumps(r).decode() for r in recs]
    raw = [t.encode() for t in texts]
    mb = sum(map(len, raw)) / 1e6
    print(
        f"{len(recs)} records, mean {sum(map(len, raw)) / len(raw):.0f} bytes, {sum(map(len, texts)) / len(texts):.0f} chars"
    )
    sc = Scanner()
    sc.scan_text(texts[0])  # warm
    rows = []
    dt, nf = timed(sc.scan_text, texts)
    rows.append(("piplwatch scan_text(JSON string)", len(texts) / dt, mb / dt, nf / len(texts)))
    dt, nf = timed(lambda b: sc.scan_payload(orjson.loads(b)), raw)
    rows.append(("piplwatch orjson.loads + scan_payload", len(raw) / dt, mb / dt, nf / len(raw)))
    try:
        eng = presidio_engine()
    except ImportError:
        print("presidio-analyzer not installed: pip install '.[presidio]'")
        eng = None
    from detectors.ner import load_ner

    stage = load_ner(required=False)
    if stage is not None and stage.nlp is not None:
        sc_ner = Scanner(ner=stage)
        sub_ner = raw[: max(300, len(raw) // 4)]
        mb_ner = sum(map(len, sub_ner)) / 1e6
        dt, nf = timed(lambda b: sc_ner.scan_payload(orjson.loads(b)), sub_ner)
        rows.append(
            ("piplwatch orjson.loads + scan_payload, NER stage on", len(sub_ner) / dt, mb_ner / dt, nf / len(sub_ner))
        )
        # the batch form: records 64 at a time, their flagged windows through the model in one pass
        t = time.perf_counter()
        nf = sum(map(len, sc_ner.scan_batch(orjson.loads(b) for b in sub_ner)))
        dt = time.perf_counter() - t
        rows.append(
            ("piplwatch scan_batch(parsed records), NER stage on", len(sub_ner) / dt, mb_ner / dt, nf / len(sub_ner))
        )
        st = stage.stats
        ner_note = (
            f"NER stage, benchmark records: {st.records_to_ner}/{st.records} ({st.records_to_ner / max(1, st.records):.1%}) "
            f"reached the model, {st.windows} windows, {st.chars_to_ner / max(1, st.records):.0f} chars/record; "
            f"field-rule findings {st.rule_findings}, model findings {st.ner_findings}"
        )
        from stream.dev.simulator import Simulator

        demo = Simulator(seed=2016)
        before = (st.records, st.records_to_ner, st.chars_to_ner)
        for _ in range(2000):
            sc_ner.scan(orjson.loads(demo.next_message(bad_share=0)[1])["payload"])
        n, hit, chars = st.records - before[0], st.records_to_ner - before[1], st.chars_to_ner - before[2]
        ner_note += (
            f"\nNER stage, demo transfers: {hit}/{n} ({hit / max(1, n):.1%}) reached the model "
            f"({chars / max(1, n):.1f} chars/transfer); names and addresses there come from field rules"
        )
    else:
        ner_note = "NER stage: no model shipped"
    ratios: list[float] = []
    if eng is not None:
        sub = texts[: args.presidio_records]
        eng.analyze(text=sub[0], language="zh")
        dt, nf = timed(lambda t: eng.analyze(text=t, language="zh", score_threshold=0.5), sub)
        sub_mb = sum(len(t.encode()) for t in sub) / 1e6
        rows.append(
            ("Presidio AnalyzerEngine, equivalent PatternRecognizers", len(sub) / dt, sub_mb / dt, nf / len(sub))
        )
        # interleaved rounds on the same records: a shared machine slows one side at a time, so the median
        # of per-round ratios is the figure to quote
        for _ in range(args.rounds):
            dt_p, _ = timed(lambda t: eng.analyze(text=t, language="zh", score_threshold=0.5), sub)
            dt_s, _ = timed(sc.scan_text, sub)
            ratios.append(dt_p / dt_s)
    print(f"{'engine':<58} {'records/s':>10} {'MB/s':>8} {'findings/rec':>13}")
    for name, rps, mbs, fpr in rows:
        print(f"{name:<58} {rps:>10,.0f} {mbs:>8.2f} {fpr:>13.1f}")
    print(ner_note)
    if eng is not None:
        print(
            f"ratio piplwatch scan_text / Presidio: {rows[0][1] / rows[-1][1]:.1f}x;"
            f" parse+scan_payload / Presidio: {rows[1][1] / rows[-1][1]:.1f}x"
        )
        if ratios:
            ratios.sort()
            print(
                f"interleaved rounds on the same {len(sub)} records, scan_text / Presidio: median "
                f"{ratios[len(ratios) // 2]:.1f}x (min {ratios[0]:.1f}x, max {ratios[-1]:.1f}x, {len(ratios)} rounds)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
