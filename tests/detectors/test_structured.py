"""Structured payloads: nested JSON, field names as context, field paths, batch API, config."""

from __future__ import annotations

import pytest

from detectors import DetectorConfig, Scanner, scan_batch
from detectors.config import ConfigError
from tests.conftest import TEST_KEY


def test_structured_nested_payload_reports_field_paths(scanner) -> None:
    payload = {
        "users": [
            {"xm": "张三", "sjh": 13812345678, "sfzh": "11010519491231002X"},
            {"contact": {"email": "li@example.cn"}},
        ]
    }
    got = sorted((f.field, f.entity_type, f.start, f.end) for f in scanner.scan(payload))
    assert got == [
        ("users[0].sfzh", "CN_RESIDENT_ID", 0, 18),
        ("users[0].sjh", "CN_MOBILE", 0, 11),
        ("users[1].contact.email", "EMAIL_ADDRESS", 0, 13),
    ]


def test_structured_field_name_is_context(scanner) -> None:
    # 8 digits are only a Taiwan permit next to a context word: the field name is one
    assert [f.entity_type for f in scanner.scan({"台胞证": "12345678"})] == ["CN_TAIWAN_COMPATRIOT_PERMIT"]
    assert scanner.scan({"amount": "12345678"}) == []


def test_structured_context_does_not_leak_across_fields(scanner) -> None:
    assert scanner.scan({"qq": "x", "count": "123456789"}) == []


def test_structured_hmac_is_stable_across_formats(scanner) -> None:
    a = scanner.scan("手机+86 138-0000-1111")[0].hmac
    b = scanner.scan({"phone": "13800001111"})[0].hmac
    assert a == b and len(a) == 32
    assert Scanner(hmac_key=b"another-key-0123456789").scan("手机13800001111")[0].hmac != a


def test_structured_findings_carry_no_raw_value(scanner) -> None:
    f = scanner.scan("身份证号11010519491231002X")[0]
    assert "11010519491231002X" not in str(f.to_dict())


def test_structured_batch_streams_in_order() -> None:
    out = list(scan_batch(["手机13812345678", "nothing", {"id": "11010519491231002X"}]))
    assert [[f.entity_type for f in fs] for fs in out] == [["CN_MOBILE"], [], ["CN_RESIDENT_ID"]]


def test_structured_config_thresholds_allow_and_deny_lists(tmp_path) -> None:
    cfg = tmp_path / "piplwatch.toml"
    cfg.write_text(
        '[detectors]\nmin_score = 0.5\ndisabled = ["CN_QQ"]\n[detectors.thresholds]\nCN_MOBILE = 0.99\n'
        '[detectors.allow_list]\nvalues = ["11010519491231002X"]\n[detectors.deny_list]\nCN_WECHAT_ID = ["vip_zhang"]\n',
        encoding="utf-8",
    )
    sc = Scanner(DetectorConfig.load(cfg), hmac_key=TEST_KEY)
    text = "手机13812345678 QQ:123456789 身份证11010519491231002X 联系vip_zhang"
    assert [f.entity_type for f in sc.scan(text)] == ["CN_WECHAT_ID"]


def test_structured_yaml_config_and_bad_config(tmp_path) -> None:
    y = tmp_path / "c.yaml"
    y.write_text("detectors:\n  enabled: [CN_MOBILE]\n", encoding="utf-8")
    assert DetectorConfig.load(y).enabled == frozenset({"CN_MOBILE"})
    bad = tmp_path / "bad.toml"
    bad.write_text("[detectors]\nenabled = ['NOPE']\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown entity"):
        DetectorConfig.load(bad)


def test_scanner_hmac_equals_the_documented_keyed_hmac() -> None:
    from detectors.redact import KeyedHasher, keyed_hmac

    key = b"k" * 70  # longer than the SHA-256 block: hashed first, as RFC 2104 says
    scanner = Scanner(hmac_key=key)
    f = scanner.scan("手机 13800001111")[0]
    assert f.hmac == keyed_hmac(key, "mobile", "13800001111") == scanner.hmac_of("mobile", "13800001111")
    assert KeyedHasher(b"short-key-16byte", b"email:")("a@b.cn") == keyed_hmac(b"short-key-16byte", "email", "a@b.cn")
