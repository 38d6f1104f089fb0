"""Benchmark: which text reaches the NER model, per mode (issue 14): recall, characters sent, throughput.

Run:  .venv/bin/python tests/benchmarks/bench_ner_gate.py [--transfers 200] [--rounds 3] [--data ../shared/data]

1. Recall of each mode against the model on whole texts, on the committed dev slice (tests/data/ner_dev_slice.jsonl,
   from our dev splits of MSRA, CLUENER and the address corpus): the share of the model's entities that
   ``Scanner.scan_batch`` reports (same span, or inside a pattern finding or an address), per corpus and label,
   and the characters each mode sends to the model.
   With ``--data``, the same for names and addresses on held-out dev parts the gate was not tuned on (MSRA and
   CLUENER dev past the slice's sentences, the Weibo dev file, the address dev file past the slice), carved as
   ``models/scripts/convert.py`` carves them.
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


def holdout(stage, data: Path) -> None:
    """Names and addresses kept by the gated scan, per held-out dev set."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models" / "scripts"))
    import convert

    ner = data / "ner"
    carved = convert.carve(ner, random.Random(13))  # the training seed
    in_slice = {json.loads(line)["text"] for line in SLICE.read_text(encoding="utf-8").splitlines()}

    def past_slice(items: list, n: int) -> list:
        return [it for it in items if it[0] not in in_slice][:n]

    sets = {
        "MSRA dev (1,000)": past_slice(carved["msra"][1], 1000),
        "CLUENER dev": past_slice(carved["cluener"][1], 10**6),
        "Weibo dev": convert.map_spans(convert.read_bio(ner / "weibo" / "dev.bio"), convert.BIO_MAP),
        "address dev (1,000)": past_slice(convert.read_address(ner / "address" / "dev.bio"), 1000),
    }
    scanner = Scanner(hmac_key=KEY, ner=stage, ner_mode="gated")
    for name, items in sets.items():
        texts = [t for t, _ in items]
        want = [
            [
                (LABELS[e.label_], e.start_char, e.end_char)
                for e in doc.ents
                if LABELS.get(e.label_) in ("PERSON", "ADDRESS") and len(e.text.strip()) > 1
            ]
            for doc in pipe(stage.nlp, texts, batch_size=256)
        ]
        before = stage.stats.chars_to_ner
        found = list(scanner.scan_batch(texts))
        sent = stage.stats.chars_to_ner - before
        kept = sum(covered(w, fs) for ws, fs in zip(want, found) for w in ws)
        total = sum(map(len, want))
        print(
            f"held out, gated: {name:22s} names and addresses {kept}/{total} = {kept / max(1, total):.3f}; "
            f"sends {sent / sum(map(len, texts)):.0%} of the characters"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transfers", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-throughput", action="store_true", help="recall and characters only")
    ap.add_argument("--data", type=Path, default=None, help="the shared data directory: adds the held-out sets")
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
        pa = [v for (_, lab), v in per.items() if lab in ("PERSON", "ADDRESS")]
        k2, t2 = sum(v[0] for v in pa), sum(v[1] for v in pa)
        print(f"        names and addresses: {k2}/{t2} = {k2 / t2:.3f}")
        print("        " + ", ".join(f"{c}/{lab} {a}/{b}" for (c, lab), (a, b) in sorted(per.items())))

    if args.data:
        holdout(stage, args.data)
    if args.no_throughput:
        return 0
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
