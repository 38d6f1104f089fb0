"""Property-based fuzzing of the worker's input path and of ``piplwatch scan`` (hypothesis).

Whatever arrives: nothing raises, every input yields exactly one verdict or one dead letter, and no identifier that
was planted anywhere in the input (ids, names, keys, payload leaves at any depth, broken or escaped encodings)
appears raw in any output, in the worker's state files or in its log.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.judge import DeadLettered, Judged
from stream.runtime import alert_line

pytestmark = pytest.mark.slow  # a few hundred generated cases

# identifiers that must never come out raw (a valid resident ID, a mobile, a Luhn-valid UnionPay card)
PLANTED = ["11010519491231002X", "13912345678", "6212345678900000003"]
LEAK_FORMS = [*PLANTED, PLANTED[0][:17], PLANTED[2][:16]]

ident = st.sampled_from(PLANTED)
words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
leaf_text = st.one_of(words, ident, st.builds(lambda a, i, b: f"{a}{i}{b}", words, ident, words))
scalars = st.one_of(leaf_text, st.integers(-(10**20), 10**20), st.floats(allow_nan=False), st.booleans(), st.none())
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.one_of(words, ident, st.just("手机")), children, max_size=4)
    ),
    max_leaves=25,
)


def _dumps(value: object) -> bytes:
    """JSON as a producer might send it (Python's encoder: integers of any size, non-ASCII unescaped)."""
    return json.dumps(value, ensure_ascii=False).encode()


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """A message value: a transfer with hostile fields, something else JSON, or bytes that are not JSON at all."""
    kind = draw(st.sampled_from(["transfer", "transfer", "transfer", "ocsf", "json", "bytes", "deep"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300)) + draw(ident).encode()
    if kind == "json":
        return _dumps(draw(json_values))
    payload = draw(json_values)
    if kind == "deep":
        depth = draw(st.integers(60, 1200))
        return (
            b'{"schema": "piplwatch.transfer/v1", "payload": '
            + b'{"a": ' * depth
            + _dumps(payload)
            + b"}" * depth
            + b"}"
        )
    tid = draw(st.one_of(words, leaf_text)) or "t"
    rid = draw(st.one_of(st.just("r-1"), leaf_text))
    count = draw(st.one_of(st.integers(0, 20), st.integers(-5, 10**10), st.booleans(), st.text(max_size=3)))
    if kind == "ocsf":
        ev = {
            "class_uid": draw(st.sampled_from([6001, 6003, 4008, 1])),
            "time": draw(st.integers(-(10**18), 10**18)),
            "metadata": {"uid": tid},
            "dst_endpoint": {"owner": {"uid": rid, "name": draw(leaf_text)}},
            "unmapped": {"payload": payload, "record_count": count},
        }
        return _dumps(ev)
    t = {
        "schema": "piplwatch.transfer/v1",
        "transfer_id": tid,
        "occurred_at": "2026-06-01T10:00:00+08:00",
        "platform": "p",
        "source_system": "s",
        "flow": "push",
        "channel": "api",
        "recipient": {"id": rid, "name": draw(leaf_text), "country": draw(st.sampled_from(["CN", "SG", "X1", "cn"]))},
        "purpose": "marketing",
        "payload": payload,
        "record_count": count,
    }
    raw = _dumps(t)
    if draw(st.booleans()):  # the same transfer with its identifiers \\u-escaped
        raw = re.sub(rb"[0-9]", lambda m: b"\\u00%02x" % m.group()[0], raw)
    return raw


def _leaks(text: str) -> list[str]:
    digits_only = re.sub(r"[^0-9X]", "", text)
    return [v for v in LEAK_FORMS if v in text or (len(v) >= 15 and v in digits_only)]


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory):
    from detectors import Scanner
    from stream.judge import Judge
    from stream.state.materialize import apply_record
    from stream.state.store import StateStore
    from tests.conftest import TEST_KEY

    scanner = Scanner(hmac_key=TEST_KEY)
    state_dir = tmp_path_factory.mktemp("fuzz") / "state"
    state = StateStore(state_dir)
    apply_record(
        "agreements",
        orjson.dumps(
            {
                "schema": "piplwatch.agreement/v1",
                "recipient_id": "r-1",
                "role": "independent_handler",
                "allowed_categories": ["contact"],
                "allowed_purposes": ["marketing"],
                "valid_from": "2020-01-01T00:00:00Z",
                "country": "CN",
            }
        ),
        state,
        scanner,
    )
    yield Judge(scanner, state), state, state_dir
    state.close()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(raw=messages(), key=st.one_of(st.none(), leaf_text.map(str.encode)))
def test_fuzz_worker_input_path_one_output_per_input_and_no_raw_identifier(fuzz_env, caplog, raw, key) -> None:
    judge, _, _ = fuzz_env
    caplog.set_level(logging.DEBUG)
    out = judge.judge(raw, key=key, source={"topic": "t", "partition": 0, "offset": 1})
    assert isinstance(out, (Judged, DeadLettered))
    if isinstance(out, DeadLettered):
        emitted = [out.record, (out.kafka_key or b"").decode("utf-8", "replace")]
    else:
        emitted = [out.verdict, out.alerts, [list(c) for c in out.counter_changes], [alert_line(a) for a in out.alerts]]
    text = json.dumps(emitted, ensure_ascii=False) + caplog.text
    assert not _leaks(text), (_leaks(text), raw[:200])


def test_fuzz_state_files_hold_no_raw_identifier_after_fuzzing(fuzz_env) -> None:
    _, state, state_dir = fuzz_env
    state.mat.flush()
    state.durable.flush()
    blob = b"".join(p.read_bytes() for p in Path(state_dir).rglob("*") if p.is_file())
    for v in PLANTED:
        assert v.encode() not in blob


@st.composite
def scan_files(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(["in.jsonl", "in.json", "in.csv", "in.txt"]))
    lines = draw(
        st.lists(st.one_of(json_values.map(_dumps), leaf_text.map(str.encode), st.binary(max_size=40)), max_size=8)
    )
    return name, b"\n".join(lines)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(case=scan_files())
def test_fuzz_scan_never_crashes_and_prints_no_raw_identifier(tmp_path, capsys, case) -> None:
    from stream.cli import main

    name, data = case
    path = tmp_path / name
    path.write_bytes(data)
    code = main(["scan", "--no-ner", "-q", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2)
    assert "Traceback" not in err
    for line in out.splitlines():
        json.loads(line)  # one JSON object per output line
    assert not _leaks(out + err)
