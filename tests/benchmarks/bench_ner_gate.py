"""Benchmark: which text reaches the NER model, per mode (issue 14): recall, characters sent, throughput.

Run:  .venv/bin/python tests/benchmarks/bench_ner_gate.py [--transfers 200] [--rounds 3]

1. Recall of each mode against the model on whole texts, on the committed dev slice (tests/data/ner_dev_slice.jsonl,
   from our dev splits of MSRA, CLUENER and the address corpus): the share of the model's entities that
   ``Scanner.scan_batch`` reports (same span, or inside a pattern finding or an address), per corpus and label,
   and the characters each mode sends to the model.
2. Throughput on free-text-heavy transfers: ~2 KB customer-service transcripts (dev-slice sentences with a mobile and
   a name line), ``scan_batch`` in chunks of 64 as the worker does, for off / gated / full, CPU time on one core,
   interleaved rounds, medians; ratios against ``off`` in the same run.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from detectors import Scanner
from detectors.ner import LABELS, load_ner
from detectors.ner_fast import pipe

SLICE = Path(__file__).resolve().parents[1] / "data" / "ner_dev_slice.jsonl"
KEY = b"bench-key-0123456789abcdef"


def covered(want: tuple[str, int, int], found: list) -> bool:
    _, s, e = want
    return any(
        (f.entity_type, f.start, f.end) == want
        or (f.entity_type == "ADDRESS" and f.start <= s and e <= f.end)
        or (f.detector not in ("SpacyNer", "FieldRule") and s < f.end and f.start < e)
        for f in found
    )


def transcripts(texts: list[str], n: int, seed: int = 5) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        parts = [
            f"客服：您好，请问有什么可以帮您？\n客户：我的手机号是1{rnd.choice('3589')}{rnd.randint(0, 10**9 - 1):09d}。\n"
        ]
        while sum(map(len, parts)) < 680:  # ~2 KB of UTF-8
            parts.append(("客户：" if len(parts) % 2 else "客服：") + rnd.choice(texts) + "\n")
        out.append("".join(parts))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transfers", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    stage = load_ner()
    rows = [json.loads(line) for line in SLICE.read_text(encoding="utf-8").splitlines()]
    texts = [r["text"] for r in rows]
    want = [
        {
            (LABELS[e.label_], e.start_char, e.end_char)
            for e in doc.ents
            if e.label_ in LABELS and len(e.text.strip()) > 1
        }
        for doc in pipe(stage.nlp, texts, batch_size=256)
    ]
    total_chars = sum(map(len, texts))
    print(f"dev slice: {len(texts)} texts, {total_chars:,} characters, {sum(map(len, want))} model entities")
    for mode in ("gated", "full"):
        scanner = Scanner(hmac_key=KEY, ner=stage, ner_mode=mode)
        before = stage.stats.chars_to_ner
        found = list(scanner.scan_batch(texts))
        sent = stage.stats.chars_to_ner - before
        per: dict[tuple[str, str], list[int]] = collections.defaultdict(lambda: [0, 0])
        for r, ws, fs in zip(rows, want, found):
            for w in ws:
                per[(r["corpus"], w[0])][0] += covered(w, fs)
                per[(r["corpus"], w[0])][1] += 1
        kept, total = sum(v[0] for v in per.values()), sum(v[1] for v in per.values())
        print(
            f"{mode:6s} keeps {kept}/{total} = {kept / total:.3f} of the model's entities; "
            f"sends {sent:,} characters ({sent / total_chars:.0%})"
        )
        print("        " + ", ".join(f"{c}/{lab} {a}/{b}" for (c, lab), (a, b) in sorted(per.items())))

    docs = transcripts(texts, args.transfers)
    mean = sum(len(d.encode()) for d in docs) / len(docs)
    scanners = {m: Scanner(hmac_key=KEY, ner=stage, ner_mode=m) for m in ("off", "gated", "full")}
    rates: dict[str, list[float]] = {m: [] for m in scanners}
    for _ in range(args.rounds):
        for mode, sc in scanners.items():
            t = time.process_time()
            for i in range(0, len(docs), 64):
                list(sc.scan_batch([{"transcript": d} for d in docs[i : i + 64]]))
            rates[mode].append(len(docs) / (time.process_time() - t))
    med = {m: statistics.median(v) for m, v in rates.items()}
    print(f"transcripts: {len(docs)} x {mean:.0f} bytes, detection on one core (median of {args.rounds} rounds)")
    for mode, r in med.items():
        print(f"  {mode:6s} {r:8,.0f} transfers/s   {r / med['off']:.3f} x off")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
