"""The judge in-process: what one transfer costs before any Kafka work, split into parse, detection and the rest.

Run:  .venv/bin/python tests/benchmarks/bench_judge.py [--transfers 3000] [--rounds 5]

Simulator transfers (~780 bytes) against the simulator's agreements and consents in a fresh RocksDB store.
Rounds interleave the three stages on the same messages; medians are printed, and the ratio of the full judge to
the parse + detection baseline (the authorization work's share) is the figure to compare across machines.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import orjson

from detectors import Scanner
from stream.dev.simulator import Simulator
from stream.judge import Judge
from stream.state.materialize import apply_record
from stream.state.store import StateStore


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transfers", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("PIPLWATCH_HMAC_KEY", "bench-key-0123456789abcdef")
    sim = Simulator(seed=11)
    scanner = Scanner()
    state = StateStore(Path(tempfile.mkdtemp(prefix="pw-judge-")) / "state")
    judge = Judge(scanner, state)
    agreements, consents = sim.setup()
    for a in agreements:
        apply_record("agreements", orjson.dumps(a), state, scanner)
    for c in consents:
        apply_record("consents", orjson.dumps(c), state, scanner)
    msgs = [sim.next_message(bad_share=0.0) for _ in range(args.transfers)]
    mean = sum(len(v) for _, v in msgs) / len(msgs)

    def parse() -> None:
        for _, v in msgs:
            orjson.loads(v)

    def detect() -> None:
        for _, v in msgs:
            scanner.scan(orjson.loads(v)["payload"])

    def full() -> None:
        for k, v in msgs:
            judge.judge(v, key=k)

    stages = {"parse (orjson)": parse, "parse + detection": detect, "full judge": full}
    full()  # warm: counters and caches in the state they have in a running worker
    times: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(args.rounds):
        for name, fn in stages.items():
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) / len(msgs))
    print(f"{len(msgs)} simulator transfers, mean {mean:.0f} bytes, {args.rounds} interleaved rounds (medians)")
    print(f"{'stage':<22} {'us/transfer':>12} {'transfers/s':>12}")
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name, s in med.items():
        print(f"{name:<22} {s * 1e6:>12.0f} {1 / s:>12,.0f}")
    rest = med["full judge"] - med["parse + detection"]
    print(
        f"authorization (joins, counters, rules, verdict and alerts): {rest * 1e6:.0f} us = "
        f"{rest / med['full judge']:.0%} of the judge"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
