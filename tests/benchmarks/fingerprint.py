"""Behaviour fingerprint: hashes of what the detectors find and what the judge decides, for refactors.

Run:  PYTHONHASHSEED=0 .venv/bin/python tests/benchmarks/fingerprint.py [--no-ner]

Prints three lines, each ``name count sha256-prefix``:
- ``findings``: every finding (all fields) of 3,000 benchmark records, 3,000 simulator payloads and 10,000
  review lines (``../shared/data/fp-text``), patterns only;
- ``findings+ner``: 3,000 simulator payloads, the committed NER dev slice and 300 benchmark records with the
  NER stage on;
- ``judge``: verdicts and alerts (minus wall-clock times), dead letters, the facts metrics read, and counter
  changes of 3,000 simulator
  transfers judged against the simulator's agreements and consents, one in seven judged twice.
A change that claims "behaviour unchanged" must print the same three lines before and after.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

KEY = b"fingerprint-hmac-key-0123456789abcdef"
#: the facts that leave the judge other than through the verdict (metrics, the live summary)
OBSERVED_FACTS = (
    "cross_border",
    "cb_individuals_ytd_after",
    "cb_spi_individuals_ytd_after",
    "daily_subjects_after",
    "recipient_registered",
)
TIME_FIELDS = ("decided_at", "occurred_at", "time", "created_time", "received_at")


def _digest(items: Iterable[Any]) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    for item in items:
        h.update(orjson.dumps(item, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=_default))
        n += 1
    return n, h.hexdigest()[:16]


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if hasattr(obj, "_asdict"):
        return obj._asdict()
    if hasattr(obj, "__dataclass_fields__"):
        return {k: getattr(obj, k) for k in obj.__dataclass_fields__}
    if hasattr(obj, "items"):
        return dict(obj.items())
    return str(obj)


def _strip_times(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_times(v) for k, v in obj.items() if k not in TIME_FIELDS}
    if isinstance(obj, list):
        return [_strip_times(v) for v in obj]
    return obj


def _simulator_messages(n: int, seed: int) -> tuple[Any, list[bytes]]:
    from stream.dev.simulator import Simulator

    sim = Simulator(seed=seed)
    return sim, [sim.next_message(bad_share=0.02)[1] for _ in range(n)]


def findings(scanner: Any) -> tuple[int, str]:
    from tests.benchmarks.records import make_records

    recs = make_records(3000)
    _, msgs = _simulator_messages(3000, 5)
    payloads = [orjson.loads(m)["payload"] for m in msgs if m.startswith(b"{") and b'"payload"' in m]
    shared = Path(os.environ.get("PIPLWATCH_SHARED", ROOT.parent / "shared")) / "data" / "fp-text"
    lines: list[str] = []
    for name in ("hotel_reviews.csv", "delivery_reviews.csv"):
        with open(shared / name, encoding="utf-8") as fh:
            lines += [r["review"] for r in csv.DictReader(fh)]
    lines = lines[:10_000]

    def all_findings() -> Iterable[Any]:
        for item in [*recs, *payloads, *lines]:
            yield from scanner.scan(item)

    return _digest(all_findings())


def findings_ner(scanner: Any) -> tuple[int, str]:
    from tests.benchmarks.records import make_records

    _, msgs = _simulator_messages(3000, 5)
    payloads = [orjson.loads(m)["payload"] for m in msgs if m.startswith(b"{") and b'"payload"' in m]
    dev = [
        orjson.loads(line)["text"]
        for line in (ROOT / "tests" / "data" / "ner_dev_slice.jsonl").read_bytes().splitlines()
        if line.strip()
    ]
    items = [*payloads, *dev, *make_records(300)]
    return _digest(f for batch in scanner.scan_batch(items) for f in batch)


def judge(scanner: Any) -> tuple[int, str]:
    from stream.judge import DeadLettered, Judge
    from stream.state.materialize import apply_record
    from stream.state.store import StateStore

    sim, msgs = _simulator_messages(3000, 11)
    state = StateStore(Path(tempfile.mkdtemp(prefix="pw-fp-")) / "state")
    j = Judge(scanner, state)
    agreements, consents = sim.setup()
    for a in agreements:
        apply_record("agreements", orjson.dumps(a), state, scanner)
    for c in consents:
        apply_record("consents", orjson.dumps(c), state, scanner)

    def outcomes() -> Iterable[Any]:
        for i, m in enumerate(msgs):
            for _ in range(2 if i % 7 == 0 else 1):
                out = j.judge(m)
                if isinstance(out, DeadLettered):
                    yield {"dlq": _strip_times(out.record)}
                    continue
                facts = vars(out.facts)
                yield {
                    "verdict": _strip_times(out.verdict),
                    "alerts": _strip_times(out.alerts),
                    "facts": {k: facts[k] for k in OBSERVED_FACTS},
                    "changes": [list(c) for c in out.counter_changes],
                }

    try:
        return _digest(outcomes())
    finally:
        state.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-ner", action="store_true", help="skip the NER fingerprint (no model needed)")
    args = ap.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":
        print("run with PYTHONHASHSEED=0 (the simulator hashes user ids with hash())", file=sys.stderr)
        return 2
    from detectors import Scanner

    scanner = Scanner(hmac_key=KEY)
    print("findings", *findings(scanner))
    if not args.no_ner:
        from detectors.ner import load_ner

        print("findings+ner", *findings_ner(Scanner(hmac_key=KEY, ner=load_ner())))
    print("judge", *judge(scanner))
    return 0


if __name__ == "__main__":
    sys.exit(main())
