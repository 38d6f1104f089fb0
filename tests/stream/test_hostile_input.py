"""Hostile input through the judge (in-process, real RocksDB state): nothing bypasses, nothing poisons, nothing leaks.

Each test names the attack it holds off (issue 11); the broker-level ones are in ``test_hostile_stream.py``.
"""

from __future__ import annotations

import json
import re

import orjson
import pytest

from detectors import Scanner
from detectors.redact import mask_excerpt, printable, safe_ref
from stream.judge import DeadLettered, counter_records, dumps
from stream.judge.shaping import retraction_record
from stream.records import MAX_RECORD_COUNT, parse_counter
from stream.state.keys import ytd_set
from tests.conftest import TEST_KEY

RID = "11010519491231002X"
MOBILE = "13912345678"


def _people(n: int) -> list[dict]:
    return [{"user_id": f"u{i}", "姓名": "张三", "手机": f"139{i:08d}", "身份证号": RID} for i in range(n)]


def _deep_transfer(payload: object, depth: int, **kw: object) -> bytes:
    """A transfer whose payload is wrapped ``depth`` objects deep (built as text: serializers stop at ~250 levels)."""
    rec = {
        "schema": "piplwatch.transfer/v1",
        "transfer_id": "t-deep",
        "occurred_at": "2026-06-01T10:00:00+08:00",
        "platform": "p",
        "source_system": "s",
        "flow": "push",
        "channel": "export",
        "recipient": {"id": "r-sg", "name": "r-sg", "country": "SG"},
        "purpose": "marketing",
        "payload": "@@",
        "record_count": 50,
        **kw,
    }
    inner = b'{"data": ' * depth + orjson.dumps(payload) + b"}" * depth
    return orjson.dumps(rec).replace(b'"@@"', inner)


@pytest.mark.parametrize("depth", [65, 200, 1000])
def test_hostile_deep_nesting_is_scanned_and_never_allowed(judge_env, depth) -> None:
    judge_env.agreement("r-sg", country="SG")
    out = judge_env.judge.judge(_deep_transfer(_people(50), depth))
    assert not isinstance(out, DeadLettered)
    assert out.verdict["verdict"] == "violation" and "TA-16" in out.verdict["rules"]
    assert out.verdict["entities"]["CN_MOBILE"] == 50 and out.verdict["subjects"]["total"] == 50
    assert all(len(f.field or "") < 600 for f in out.findings)  # deep paths stay bounded


def test_hostile_nesting_beyond_what_json_parsers_follow_is_dead_lettered_too_deep(judge_env) -> None:
    raw = b'{"schema": "piplwatch.transfer/v1", "payload": ' + b"[" * 1100 + b"]" * 1100 + b"}"
    out = judge_env.judge.judge(raw)
    assert isinstance(out, DeadLettered) and out.reason == "too_deep"


def test_hostile_record_count_beyond_the_documented_maximum_is_dead_lettered(judge_env) -> None:
    judge_env.agreement("r-jp", country="JP")
    out = judge_env.transfer(_people(1), rid="r-jp", country="JP", record_count=10**9)
    assert isinstance(out, DeadLettered) and out.reason == "record_count_too_large"
    assert str(MAX_RECORD_COUNT) in out.record["error"]
    assert judge_env.state.set_size(ytd_set(judge_env.now.year, "pi")) == 0  # nothing counted


def test_hostile_declared_counts_are_marked_in_the_verdict_and_alerts(judge_env) -> None:
    judge_env.agreement("r-sg", country="SG")
    out = judge_env.transfer(_people(10), rid="r-sg", country="SG", record_count=120_000)
    assert out.verdict["counts"] == {"record_count": 120_000, "declared_only": 119_990, "basis": "declared"}
    assert out.alerts and all(a["unmapped"]["counts"]["basis"] == "declared" for a in out.alerts)
    plain = judge_env.transfer(_people(3), rid="r-sg", country="SG", transfer_id="t2")
    assert plain.verdict["counts"]["basis"] == "payload"


def test_hostile_a_retraction_takes_one_transfers_declared_individuals_out_of_every_counter(judge_env) -> None:
    judge_env.agreement("r-jp", country="JP")
    poisoned = judge_env.transfer(_people(2), rid="r-jp", country="JP", record_count=5_000_000, transfer_id="t-bad")
    assert poisoned.facts.cb_individuals_ytd_after == 5_000_000 and "TA-20" in poisoned.verdict["rules"]
    rec = parse_counter(orjson.loads(dumps(retraction_record("t-bad", "cli:test", "false record_count"))))
    removed = judge_env.state.retract(rec.transfer_id)
    assert sum(v for k, v in removed.items() if k.startswith("cb|")) == 2 * 4_999_998
    after = judge_env.transfer(
        [{"user_id": "u99", "手机": "13700000000"}], rid="r-jp", country="JP", transfer_id="t-next"
    )
    assert after.facts.cb_individuals_ytd_after == 3 and "TA-20" not in after.verdict["rules"]
    # the poisoned transfer redelivered later adds its declared count no more
    again = judge_env.transfer(_people(2), rid="r-jp", country="JP", record_count=5_000_000, transfer_id="t-bad")
    assert again.facts.cb_individuals_ytd_after == 3


def test_hostile_counter_updates_are_split_under_the_output_limit() -> None:
    from stream.state.store import CounterChange

    members = [f"{i:032x}" for i in range(260_000)]
    extras = {f"t{i}": 5 for i in range(3000)}
    changes = [CounterChange("cb|2026|pi", members, None, 0)] + [
        CounterChange("cb|2026|pi", [], t, n) for t, n in extras.items()
    ]
    recs = counter_records(changes, "w1", max_bytes=200_000)
    assert len(recs) > 40 and max(len(dumps(r)) for r in recs) <= 200_000
    assert sorted(m for r in recs for m in r["members"]) == members
    assert {k: v for r in recs for k, v in r["extra"].items()} == extras


def test_hostile_ids_carrying_personal_information_never_leave_raw(judge_env, scanner) -> None:
    judge_env.agreement(f"r-{MOBILE}")
    name = f"张三 {MOBILE}\nALERT CRITICAL forged\u202e"
    out = judge_env.transfer(
        _people(2),
        rid=f"r-{MOBILE}",
        transfer_id=f"t-{RID}",
        recipient={"id": f"r-{MOBILE}", "name": name, "country": "CN"},
    )
    assert set(out.verdict["redacted"]) == {"transfer_id", "recipient.id", "recipient.name"}
    blob = json.dumps([out.verdict, out.alerts, [list(c) for c in out.counter_changes]], ensure_ascii=False)
    for raw in (RID, MOBILE, "\n", "\u202e"):
        assert raw not in blob
    assert out.verdict["transfer_id"] == safe_ref(scanner, f"t-{RID}") and "#" in out.verdict["transfer_id"]
    # the agreement was found under the same reference, so the recipient counts as registered
    assert out.facts.recipient_registered
    from stream.runtime import alert_line

    assert all("\n" not in alert_line(a) and MOBILE not in alert_line(a) for a in out.alerts)


def test_hostile_ocsf_metadata_uid_with_an_id_number_is_redacted(judge_env) -> None:
    ev = {
        "class_uid": 6003,
        "time": 1_760_000_000_000,
        "metadata": {"uid": f"req-{RID}", "product": {"name": "gw"}},
        "dst_endpoint": {"owner": {"uid": "r-unknown", "name": "x"}, "location": {"country": "CN"}},
        "unmapped": {"payload": _people(1), "record_count": 1},
    }
    out = judge_env.judge.judge(orjson.dumps(ev))
    assert out.verdict["redacted"] == ["transfer_id"] and RID not in json.dumps(out.alerts)


# the four ways a DLQ excerpt leaked an identifier
@pytest.mark.parametrize(
    "raw",
    [
        # cut by the excerpt limit: the first 17 digits stayed
        b'{"schema": "piplwatch.transfer/v1", "transfer_id": ' + b" " * 181 + b'"' + RID.encode() + b'"',
        # an invalid byte inside the ID defeated redaction
        b'{"schema": "x", "id": "110105\xff19491231002X", "payload": ',
        # a \u-escaped ID
        b'{"schema": "x", "id": "' + "".join(f"\\u{ord(c):04x}" for c in RID).encode() + b'", ',
        # full-width digits
        '{"schema": "x", "m": "１３９１２３４５６７８", '.encode(),
    ],
)
def test_hostile_dlq_excerpts_and_keys_hold_no_identifier(judge_env, raw) -> None:
    out = judge_env.judge.judge(raw, key=f"k-{RID}".encode())
    assert isinstance(out, DeadLettered)
    text = json.dumps(out.record, ensure_ascii=False)
    digits = re.sub(r"[^0-9]", "", text.replace(out.record["sha256"], ""))
    for value in (RID, RID[:17], RID[:12], MOBILE, MOBILE[:8]):
        assert value not in digits, (value, out.record["excerpt"])
    assert out.kafka_key is not None and RID.encode() not in out.kafka_key


def test_hostile_printable_escapes_line_breaks_nul_and_bidi_controls() -> None:
    assert printable("a\nb\r\x00c\u202ed\u2066e") == "a\\u000ab\\u000d\\u0000c\\u202ed\\u2066e"
    assert printable("张三 r-1") == "张三 r-1"


def test_hostile_mask_excerpt_masks_before_cutting() -> None:
    sc = Scanner(hmac_key=TEST_KEY)
    text = "x" * 230 + RID
    cut = mask_excerpt(sc, text, 240)
    assert len(cut) == 240 and "1101051949" not in cut and cut.endswith("*" * 10)
