"""The Presidio plug-in runs inside a real AnalyzerEngine."""

from __future__ import annotations

import pytest

pytest.importorskip("presidio_analyzer")


def test_presidio_plugin_finds_chinese_identifiers_in_analyzer_engine() -> None:
    from detectors.presidio import add_to_analyzer
    from tests.presidio_support import engine

    eng = engine([])
    add_to_analyzer(eng)
    text = "客户身份证号11010519491231002X，手机13812345678，银行卡6212345678900000003。"
    results = sorted(eng.analyze(text=text, language="zh"), key=lambda r: r.start)
    assert [(r.entity_type, text[r.start : r.end]) for r in results] == [
        ("CN_RESIDENT_ID", "11010519491231002X"),
        ("CN_MOBILE", "13812345678"),
        ("CN_BANK_CARD", "6212345678900000003"),
    ]
    only = eng.analyze(text=text, language="zh", entities=["CN_MOBILE"])
    assert [r.entity_type for r in only] == ["CN_MOBILE"]
