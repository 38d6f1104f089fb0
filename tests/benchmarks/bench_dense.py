"""Benchmark: identifier-dense workloads, piplwatch vs Presidio in the same process, and the judge on a bulk export.

Run:  .venv/bin/python tests/benchmarks/bench_dense.py [--rows 20000] [--texts 2000] [--export 100000] [--rounds 3]
      [--no-presidio] [--python-parts]

Three workloads (issue 13), same data for both engines, CPU time on one core, interleaved rounds, medians:
- export rows ``{姓名, 手机, 身份证号, 银行卡, 地址, 订单号, 备注}`` as a list of dicts: ``Scanner.scan`` on chunks of
  rows vs Presidio's ``BatchAnalyzerEngine.analyze_dict`` per row (its structured API);
- identifier-dense Chinese text, ~14 identifiers per ~770 characters: ``Scanner.scan`` vs ``AnalyzerEngine.analyze``;
- the judge on one export of ``--export`` rows (name, mobile, resident ID, address) against a fresh RocksDB store:
  subjects per second end to end (parse, detection, grouping, consent lookups, counters, rules, outputs).
Presidio gets the same recognizers as ``bench_detectors.py`` (our patterns, context words and validators).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("PIPLWATCH_HMAC_KEY", "bench-key-0123456789abcdef")

import orjson
from faker import Faker

from detectors import Scanner
from tests.detectors import synth


def export_rows(n: int, seed: int = 3) -> list[dict]:
    fk = Faker("zh_CN")
    fk.seed_instance(seed)
    rnd = random.Random(seed)
    names = [fk.name() for _ in range(500)]
    addrs = [fk.address() for _ in range(500)]
    return [
        {
            "姓名": rnd.choice(names),
            "手机": f"1{rnd.choice('3456789')}{rnd.randint(0, 10**9 - 1):09d}",
            "身份证号": synth.resident_id(rnd),
            "银行卡": synth.bank_card(rnd),
            "地址": rnd.choice(addrs),
            "订单号": str(rnd.randint(10**17, 10**18 - 1)),
            "备注": rnd.choice(["", "加急", "周末送货", "请电话联系", "发票随货"]),
        }
        for _ in range(n)
    ]


def dense_texts(n: int, seed: int = 4) -> list[str]:
    fk = Faker("zh_CN")
    fk.seed_instance(seed)
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(7):
            parts.append(
                f"客户{fk.name()}，手机{1}{rnd.choice('3456789')}{rnd.randint(0, 10**9 - 1):09d}，"
                f"身份证号{synth.resident_id(rnd)}，{fk.sentence(nb_words=6)}"
            )
        out.append("".join(parts))
    return out


@contextlib.contextmanager
def python_parts(scanner: Scanner):
    """The Python references instead of the compiled checks (``detectors/validators/_checks.pyx``), the compiled
    payload walk and layout (``_scan_core.flatten``/``layout``), the built-in detectors' C paths (the core calls
    their Python methods) and libhs (python-hyperscan's per-hit callback); the core's candidate loop stays compiled."""
    from detectors import engine, structured
    from detectors._scan_core import ScanCore
    from detectors.patterns import cn_bank_card
    from detectors.validators import cn_ric, luhn

    saved = cn_ric._ric18, luhn._luhn, cn_bank_card._distinct, structured._flatten, engine._layout, scanner._core
    cn_ric._ric18 = luhn._luhn = cn_bank_card._distinct = structured._flatten = None
    engine._layout = engine.layout_py
    scanner._core = ScanCore(scanner.plan, builtins=False, libhs=False)
    try:
        yield
    finally:
        cn_ric._ric18, luhn._luhn, cn_bank_card._distinct, structured._flatten, engine._layout, scanner._core = saved


def cpu(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--presidio-rows", type=int, default=1000)
    ap.add_argument("--texts", type=int, default=2000)
    ap.add_argument("--presidio-texts", type=int, default=300)
    ap.add_argument("--export", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-presidio", action="store_true")
    ap.add_argument(
        "--python-parts",
        action="store_true",
        help="also time piplwatch with the compiled checks, payload walk, layout, built-in detectors and libhs off "
        "(their Python references)",
    )
    args = ap.parse_args()

    scanner = Scanner()
    rows = export_rows(args.rows)
    texts = dense_texts(args.texts)
    mean_row = sum(len(orjson.dumps(r)) for r in rows) / len(rows)
    mean_text = sum(len(t) for t in texts) / len(texts)
    ids_per_text = sum(len(scanner.scan(t)) for t in texts[:200]) / 200
    print(
        f"export rows: {len(rows)} x {mean_row:.0f} bytes; dense texts: {len(texts)} x {mean_text:.0f} chars, "
        f"{ids_per_text:.1f} identifiers each"
    )

    def pw_rows() -> None:
        for i in range(0, len(rows), 1000):
            scanner.scan(rows[i : i + 1000])

    def pw_texts() -> None:
        for t in texts:
            scanner.scan(t)

    presidio = None
    if not args.no_presidio:
        from presidio_analyzer import BatchAnalyzerEngine

        from tests.benchmarks.bench_detectors import presidio_engine

        presidio = presidio_engine()
        batch = BatchAnalyzerEngine(analyzer_engine=presidio)
        p_rows, p_texts = rows[: args.presidio_rows], texts[: args.presidio_texts]

        def pr_rows() -> None:
            for r in p_rows:
                list(batch.analyze_dict(r, language="zh"))

        def pr_texts() -> None:
            for t in p_texts:
                presidio.analyze(t, language="zh")

    results: dict[str, list[float]] = {
        k: [] for k in ("pw_rows", "pw_texts", "pr_rows", "pr_texts", "py_rows", "py_texts")
    }
    for _ in range(args.rounds):
        results["pw_rows"].append(len(rows) / cpu(pw_rows))
        results["pw_texts"].append(len(texts) / cpu(pw_texts))
        if args.python_parts:
            with python_parts(scanner):
                results["py_rows"].append(len(rows) / cpu(pw_rows))
                results["py_texts"].append(len(texts) / cpu(pw_texts))
        if presidio is not None:
            results["pr_rows"].append(len(p_rows) / cpu(pr_rows))
            results["pr_texts"].append(len(p_texts) / cpu(pr_texts))
    med = {k: statistics.median(v) for k, v in results.items() if v}
    print(
        f"export rows   piplwatch {med['pw_rows']:10,.0f} rows/s ({med['pw_rows'] * mean_row / 1e6:.1f} MB/s)", end=""
    )
    if presidio is not None:
        print(f"   Presidio analyze_dict {med['pr_rows']:8,.0f} rows/s   ratio {med['pw_rows'] / med['pr_rows']:.1f}x")
    else:
        print()
    print(
        f"dense text    piplwatch {med['pw_texts']:10,.0f} texts/s ({med['pw_texts'] * mean_text * 3 / 1e6:.1f} MB/s)",
        end="",
    )
    if presidio is not None:
        print(
            f"   Presidio analyze      {med['pr_texts']:8,.0f} texts/s   ratio {med['pw_texts'] / med['pr_texts']:.1f}x"
        )
    else:
        print()

    if args.python_parts:
        print(
            f"compiled checks, walk, layout and built-in detectors vs their Python references: export rows {med['pw_rows'] / med['py_rows']:.2f}x "
            f"({med['py_rows']:,.0f} rows/s without), dense text {med['pw_texts'] / med['py_texts']:.2f}x"
        )

    # the judge on one bulk export
    from stream.judge import Judge
    from stream.state.store import StateStore

    fk = Faker("zh_CN")
    fk.seed_instance(5)
    rnd = random.Random(5)
    names = [fk.name() for _ in range(500)]
    addrs = [fk.address() for _ in range(500)]
    export = [
        {"姓名": rnd.choice(names), "手机": f"13{i:09d}", "身份证号": synth.resident_id(rnd), "地址": rnd.choice(addrs)}
        for i in range(args.export)
    ]
    t = {
        "schema": "piplwatch.transfer/v1",
        "transfer_id": "t-bulk",
        "occurred_at": "2026-12-01T10:00:00+08:00",
        "platform": "p",
        "source_system": "crm",
        "flow": "push",
        "channel": "export",
        "recipient": {"id": "r-x", "name": "X", "country": "SG"},
        "purpose": "crm",
        "payload": export,
        "record_count": args.export,
    }
    raw = orjson.dumps(t)
    state = StateStore(Path(tempfile.mkdtemp(prefix="pw-dense-")) / "state")
    judge = Judge(Scanner(), state, max_message_bytes=len(raw) + 1)
    t0 = time.process_time()
    out = judge.judge(raw)
    took = time.process_time() - t0
    print(
        f"judge export  {args.export:,} rows ({len(raw) / 1e6:.1f} MB): {took:.2f} s CPU, "
        f"{out.verdict['subjects']['total'] / took:,.0f} subjects/s, detection {out.detection_seconds:.2f} s "
        f"({args.export / out.detection_seconds:,.0f} rows/s)"
    )
    state.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
