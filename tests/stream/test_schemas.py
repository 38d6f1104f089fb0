"""The topic contracts (stream/schemas/*.schema.json) hold for what producers send and what piplwatch writes."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from stream.dev.simulator import Simulator

SCHEMAS = Path(__file__).resolve().parents[2] / "stream" / "schemas"


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.v1.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(seed=3)


def test_schemas_simulator_inputs_are_valid(sim) -> None:
    ags, cons = sim.setup()
    for a in ags:
        validator("agreement").validate(a)
    for c in cons:
        validator("consent").validate(c)
    for _ in range(200):
        validator("transfer").validate(orjson.loads(sim.next_message(bad_share=0)[1]))


def test_schemas_judge_outputs_are_valid(sim, judge_env) -> None:
    from stream.judge import DeadLettered, counter_record
    from stream.state.materialize import apply_record

    ags, cons = sim.setup()
    for a in ags:
        apply_record("agreements", orjson.dumps(a), judge_env.state, judge_env.scanner)
    for c in cons:
        apply_record("consents", orjson.dumps(c), judge_env.state, judge_env.scanner)
    kinds = {"verdict": 0, "alert": 0, "dlq": 0, "counter": 0}
    for i in range(300):
        _, value = sim.next_message(unauthorized_share=0.4, bad_share=0.05)
        out = judge_env.judge.judge(
            value, key=b"k", source={"topic": "piplwatch.transfers", "partition": 0, "offset": i}
        )
        if isinstance(out, DeadLettered):
            validator("dlq").validate(out.record)
            kinds["dlq"] += 1
            continue
        validator("verdict").validate(out.verdict)
        kinds["verdict"] += 1
        for a in out.alerts:
            validator("alert").validate(a)
            kinds["alert"] += 1
        for name, members, source, extra in out.counter_changes:
            validator("counter").validate(counter_record(name, members, {source: extra} if source else {}, "w1"))
            kinds["counter"] += 1
    assert all(kinds.values()), kinds


def test_schemas_reject_what_the_worker_rejects() -> None:
    bad = {"schema": "piplwatch.transfer/v1", "transfer_id": "t", "record_count": "many"}
    assert list(validator("transfer").iter_errors(bad))
