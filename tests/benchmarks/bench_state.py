"""Consent state at scale: materialize N consent records into one worker's RocksDB and look them up.

Run:  .venv/bin/python tests/benchmarks/bench_state.py [--records 10000000]
      .venv/bin/python tests/benchmarks/bench_state.py --restart [--records 300000]

Default: goes through the same path as the materializer (JSON parse, validation, normalization, HMAC, last-write-wins
puts in batches of 5,000 with their source positions) without the broker, and prints records/s, resident memory
(RSS) before and after, disk size, and lookups/s.

--restart: through the real embedded broker and the worker's ``Materializer``: the first start of a worker (empty
store, reads the consents topic whole), a restart (resumes from the stored source positions), and a restart with
``--rebuild-state`` (reads it whole again), each timed from start to ready.
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
from stream.state.materialize import store_record  # noqa: E402
from stream.state.store import SourcePosition, StateStore  # noqa: E402

BASE = {
    "schema": "piplwatch.consent/v1",
    "recipient_id": "r-adnet",
    "purposes": ["marketing"],
    "categories": ["basic_profile", "contact"],
    "kind": "separate",
    "granted_at": "2026-01-01T00:00:00+08:00",
    "expires_at": None,
    "withdrawn_at": None,
}


def consent(i: int) -> bytes:
    return orjson.dumps(dict(BASE, subject={"user_id": f"u{i:09d}"}, recipient_id=f"r-{i % 20}"))


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def restarts(n: int, scanner: Scanner) -> int:
    import asyncio

    from kafka import KafkaProducer

    from stream.dev.broker import EmbeddedBroker, free_port
    from stream.settings import Settings, Topics
    from stream.state.materialize import Materializer
    from stream.topics import ensure_topics

    work = Path(tempfile.mkdtemp(prefix="pw-restart-"))
    topics = Topics()
    with EmbeddedBroker(free_port()) as broker:
        ensure_topics(Settings(broker=broker.url, partitions=4))
        prod = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20, batch_size=256 << 10)
        for i in range(n):
            prod.send(topics.consents, key=f"u{i:09d}".encode(), value=consent(i))
        prod.flush()
        prod.close()
        print(f"{n:,} consents on the embedded broker's consents topic (4 partitions)")

        def start(**kw: bool) -> tuple[float, Materializer, int]:
            state = StateStore(work)

            async def run() -> Materializer:
                m = Materializer(
                    broker.bootstrap,
                    {"consents": topics.consents, "agreements": topics.agreements},
                    state,
                    scanner,
                    **kw,
                )
                await m.start()
                await m.ready.wait()
                await m.stop()
                return m

            t = time.perf_counter()
            m = asyncio.run(run())
            el = time.perf_counter() - t
            count = state.consent_count
            state.close()
            return el, m, count

        rows = [
            ("first start (empty store)", *start()),
            ("restart (resumes)", *start()),
            ("restart with --rebuild-state", *start(rebuild=True)),
        ]
    print(f"{'start':<30} {'to ready':>10} {'records read':>13} {'consents':>10}  how")
    for name, el, m, count in rows:
        print(f"{name:<30} {el:>9.2f}s {m.applied:>13,} {count:>10,}  {m.rebuild_reason or 'resume'}")
    print(f"restart vs first start: {rows[0][1] / rows[1][1]:,.0f}x faster")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--restart", action="store_true", help="time worker starts and restarts on the real broker")
    args = ap.parse_args()
    scanner = Scanner(hmac_key=b"bench-key-0123456789abcdef")
    if args.restart:
        return restarts(args.records, scanner)
    work = Path(args.dir or tempfile.mkdtemp(prefix="pw-state-"))
    state = StateStore(work)
    before = rss_mb()
    t = time.perf_counter()
    step = max(1, args.records // 10)
    batch = []
    for i in range(args.records):
        batch.append(store_record("consents", consent(i), scanner))
        if len(batch) == 5000 or i + 1 == args.records:
            state.apply(batch, {("piplwatch.consents", 0): SourcePosition(i + 1, bytes(16))})
            batch = []
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
    print(
        f"{args.records:,} consents: {args.records / load:,.0f} records/s, RSS {before:.0f} -> {rss_mb():.0f} MB, "
        f"disk {disk:,.0f} MB, {n / look:,.0f} lookups/s ({hits} hits of {n} random probes)"
    )
    state.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
