"""Consent state at scale: materialize N consent records into one worker's RocksDB and look them up.

Run:  .venv/bin/python tests/benchmarks/bench_state.py [--records 10000000]

Goes through the same path as the materializer (JSON parse, validation, normalization, HMAC, last-write-wins
put) without the broker, and prints records/s, resident memory (RSS) before and after, disk size, and lookups/s.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from detectors import Scanner  # noqa: E402
from stream.materialize import apply_record  # noqa: E402
from stream.state import StateStore  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    scanner = Scanner(hmac_key=b"bench-key-0123456789abcdef")
    work = Path(args.dir or tempfile.mkdtemp(prefix="pw-state-"))
    state = StateStore(work)
    base = {"schema": "piplwatch.consent/v1", "recipient_id": "r-adnet", "purposes": ["marketing"],
            "categories": ["basic_profile", "contact"], "kind": "separate", "granted_at": "2026-01-01T00:00:00+08:00",
            "expires_at": None, "withdrawn_at": None}
    before = rss_mb()
    t = time.perf_counter()
    step = max(1, args.records // 10)
    for i in range(args.records):
        rec = dict(base, subject={"user_id": f"u{i:09d}"}, recipient_id=f"r-{i % 20}")
        apply_record("consents", orjson.dumps(rec), state, scanner)
        if (i + 1) % step == 0:
            el = time.perf_counter() - t
            print(f"  {i + 1:>11,} records  {(i + 1) / el:>9,.0f}/s  RSS {rss_mb():7.0f} MB", flush=True)
    load = time.perf_counter() - t
    state.mat.flush()
    disk = sum(f.stat().st_size for f in work.rglob("*") if f.is_file()) / 2**20
    rnd = random.Random(1)
    n = 50_000
    idx = [rnd.randrange(args.records) for _ in range(n)]
    keys = [(scanner.hmac_of("user_id", f"u{i:09d}"), f"r-{i % 20}") for i in idx]
    t = time.perf_counter()
    hits = sum(state.consent(h, r) is not None for h, r in keys)
    look = time.perf_counter() - t
    print(f"{args.records:,} consents: {args.records / load:,.0f} records/s, RSS {before:.0f} -> {rss_mb():.0f} MB, "
          f"disk {disk:,.0f} MB, {n / look:,.0f} lookups/s ({hits} hits of {n} random probes)")
    state.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
