"""Stream benchmark on the embedded broker: the full pipeline vs a bare counting Faust agent, one run.

Run:  .venv/bin/python tests/benchmarks/bench_stream.py [--messages 20000] [--ner]

Phases (each a fresh consumer group over the same pre-produced simulator transfers, ~1 KB each):
1. bare Faust agent that only counts                      -> baseline messages/s
2. one piplwatch worker, patterns only                     -> transfers/s, ratio to 1
3. (--ner) one worker with the NER stage                   -> transfers/s
4. two piplwatch workers, same group                       -> transfers/s, ratio to 2
5. one worker fed live at half its measured maximum rate   -> p50/p99 transfer -> verdict latency
Also, in this process, the judge alone on the same transfers with no Kafka at all: its CPU per transfer plus the
bare agent's is the least a worker can spend, so bare / (bare + judge) is the ceiling on the 1-worker ratio.
Ratios matter more than absolutes: this 2-core machine also runs the broker and the producer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer  # noqa: E402

from stream.dev.broker import EmbeddedBroker, free_port  # noqa: E402
from stream.dev.simulator import Simulator  # noqa: E402
from stream.settings import Settings, Topics  # noqa: E402
from stream.topics import ensure_topics  # noqa: E402

T = Topics()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (contention-independent cost)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processed(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return -1.0
    return sum(
        float(m)
        for m in re.findall(
            r'^piplwatch_messages_processed_total\{outcome="(?:judged|dead_letter)"\} (\S+)', text, re.M
        )
    )


def start_workers(
    n: int, bootstrap: str, key: Path, work: Path, app_id: str, ner: bool
) -> list[tuple[subprocess.Popen, int]]:
    out = []
    for i in range(n):
        port = free_port()
        env = {**os.environ, "PIPLWATCH_APP_ID": app_id}
        cmd = [
            sys.executable,
            "-m",
            "stream",
            "worker",
            "--broker",
            f"kafka://{bootstrap}",
            "--hmac-key-file",
            str(key),
            "--web-port",
            str(port),
            "--state-dir",
            str(work / f"{app_id}-{i}"),
            "--partitions",
            "4",
        ]
        if not ner:
            cmd.append("--no-ner")
        out.append(
            (subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), port)
        )
    return out


CPU_PER_MSG: dict[str, float] = {}


def run_phase(n_workers: int, total: int, bootstrap: str, key: Path, work: Path, app_id: str, ner: bool) -> float:
    """Transfers/s while every worker is processing: from the first moment all of them have judged something (the
    group has settled: a joining worker triggers a rebalance that pauses everyone) to 95% of the backlog."""
    procs = start_workers(n_workers, bootstrap, key, work, app_id, ner)
    try:
        first = None
        while True:
            counts = [max(0.0, processed(p)) for _, p in procs]
            done = sum(counts)
            now = time.perf_counter()
            if first is None and all(c > 0 for c in counts):
                first, first_done = now, done
                cpu0 = sum(cpu_seconds(p.pid) for p, _ in procs)
            if first is not None and done >= 0.95 * total:
                cpu = sum(cpu_seconds(p.pid) for p, _ in procs) - cpu0
                CPU_PER_MSG[app_id] = cpu / max(1.0, done - first_done)
                return (done - first_done) / (now - first) if now > first else float("nan")
            if any(p.poll() is not None for p, _ in procs):
                raise RuntimeError("a worker died")
            time.sleep(0.05)
    finally:
        for p, _ in procs:
            p.terminate()
        for p, _ in procs:
            p.wait(20)


def judge_alone(msgs: list[tuple[bytes, bytes]], agreements: list, consents: list, key: Path, work: Path) -> float:
    """CPU seconds per transfer of the worker's judge on these transfers, in-process, no broker (second pass: the
    first warms caches and counters as a running worker has them)."""
    from detectors import Scanner
    from detectors.redact import load_hmac_key
    from stream.judge import Judge
    from stream.state.materialize import apply_record
    from stream.state.store import StateStore

    scanner = Scanner(hmac_key=load_hmac_key(key))
    state = StateStore(work / "judge-alone" / "state")
    judge = Judge(scanner, state)
    for a in agreements:
        apply_record("agreements", orjson.dumps(a), state, scanner)
    for c in consents:
        apply_record("consents", orjson.dumps(c), state, scanner)
    for k, v in msgs:
        judge.judge(v, key=k)
    t = time.process_time()
    for k, v in msgs:
        judge.judge(v, key=k)
    return (time.process_time() - t) / len(msgs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--ner", action="store_true", help="also measure a worker with the NER stage")
    ap.add_argument("--latency-seconds", type=float, default=20.0)
    ap.add_argument("--latency-rate", type=float, default=None, help="default: half the measured 1-worker maximum")
    ap.add_argument("--latency-only", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pw-bench-"))
    key = work / "hmac.key"
    key.write_text("benchmark-hmac-key-0123456789abcdef")
    with EmbeddedBroker(free_port()) as broker:
        ensure_topics(Settings(broker=broker.url, partitions=4))
        sim = Simulator(seed=11)
        prod = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20, batch_size=256 << 10)
        ags, cons = sim.setup()
        for a in ags:
            prod.send(T.agreements, key=a["recipient_id"].encode(), value=orjson.dumps(a))
        for c in cons:
            prod.send(T.consents, key=b"c", value=orjson.dumps(c))
        size = 0
        msgs = []
        for _ in range(args.messages):
            k, v = sim.next_message(bad_share=0.0)
            size += len(v)
            msgs.append((k, v))
            prod.send(T.transfers, key=k, value=v)
        prod.flush()
        print(f"{args.messages} transfers pre-produced, mean {size / args.messages:.0f} bytes")
        if args.latency_only:
            one = 0.0
            prod.close()
        if not args.latency_only:
            bare = subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "tests/benchmarks/bare_agent.py"),
                    broker.url,
                    T.transfers,
                    str(args.messages),
                    "bench-bare",
                ],
                capture_output=True,
                text=True,
                timeout=600,
            )
            n, secs, cpu = re.findall(r"(\d+) ([0-9.]+) ([0-9.]+)", bare.stdout)[-1]
            CPU_PER_MSG["bench-bare"] = float(cpu) / int(n)
            bare_rate = int(n) / float(secs)
            rows = [("bare Faust agent (count only)", bare_rate, 1.0)]
            one = run_phase(1, args.messages, broker.bootstrap, key, work, "bench-one", ner=False)
            rows.append(("piplwatch, 1 worker, patterns only", one, one / bare_rate))
            if args.ner:
                ner = run_phase(1, args.messages, broker.bootstrap, key, work, "bench-ner", ner=True)
                rows.append(("piplwatch, 1 worker, patterns + NER", ner, ner / bare_rate))
            two = run_phase(2, args.messages, broker.bootstrap, key, work, "bench-two", ner=False)
            rows.append(("piplwatch, 2 workers, patterns only", two, two / one))
            print(f"{'pipeline':<40} {'transfers/s':>12} {'ratio':>8}")
            for name, rate, ratio in rows:
                print(f"{name:<40} {rate:>12,.0f} {ratio:>8.2f}")
            print("ratios: 1 worker / bare agent; NER / bare agent; 2 workers / 1 worker")
            for name, c in CPU_PER_MSG.items():
                print(f"CPU per message {name:<14} {c * 1e6:8.0f} us  -> {1 / c:8,.0f} messages/s per fully used core")
            if "bench-one" in CPU_PER_MSG:
                print(
                    f"contention-free ratio (CPU per message, bare / 1 worker): "
                    f"{CPU_PER_MSG['bench-bare'] / CPU_PER_MSG['bench-one']:.2f}"
                )
            judge_cpu = judge_alone(msgs, ags, cons, key, work)
            bare_cpu = CPU_PER_MSG["bench-bare"]
            print(
                f"judge alone in this process, no Kafka: {judge_cpu * 1e6:.0f} us CPU per transfer; ceiling on the "
                f"1-worker ratio, bare / (bare + judge): {bare_cpu / (bare_cpu + judge_cpu):.2f}"
            )
            prod.close()
    # latency at half the measured maximum, on a fresh broker so the worker starts with no backlog
    rate = args.latency_rate or one / 2
    with EmbeddedBroker(free_port()) as broker:
        ensure_topics(Settings(broker=broker.url, partitions=4))
        prod = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
        for a in ags:
            prod.send(T.agreements, key=a["recipient_id"].encode(), value=orjson.dumps(a))
        for c in cons:
            prod.send(T.consents, key=b"c", value=orjson.dumps(c))
        prod.flush()
        procs = start_workers(1, broker.bootstrap, key, work, "bench-latency", ner=False)
        try:
            while processed(procs[0][1]) < 0:
                time.sleep(0.2)
            time.sleep(3)
            sim2 = Simulator(seed=12)
            sent = []
            start = time.perf_counter()
            while time.perf_counter() - start < args.latency_seconds:
                k, v = sim2.next_message(bad_share=0.0)
                prod.send(T.transfers, key=k, value=v)
                sent.append(k.decode())
                delay = start + len(sent) / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            prod.flush()
            want = set(sent)
            c = KafkaConsumer(
                T.verdicts, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest", group_id=None
            )
            lat = {}
            deadline = time.monotonic() + 60
            while want - lat.keys() and time.monotonic() < deadline:
                for msgs in c.poll(timeout_ms=500).values():
                    for m in msgs:
                        v = orjson.loads(m.value)
                        if v["transfer_id"] in want:
                            lat[v["transfer_id"]] = (
                                dt.datetime.fromisoformat(v["decided_at"]) - dt.datetime.fromisoformat(v["occurred_at"])
                            ).total_seconds()
            c.close()
            xs = sorted(lat.values())
            p = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]  # noqa: E731
            print(
                f"latency at {rate:,.0f} transfers/s for {args.latency_seconds:.0f} s ({len(xs)} verdicts): "
                f"p50 {p(0.5) * 1000:.0f} ms, p99 {p(0.99) * 1000:.0f} ms, max {xs[-1] * 1000:.0f} ms"
            )
        finally:
            for pr, _ in procs:
                pr.terminate()
                pr.wait(20)
        prod.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
