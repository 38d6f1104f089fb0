"""Engine internals that must not change what is found: start recovery for patterns scanned without SOM."""

from __future__ import annotations

import dataclasses
import random

from detectors import Scanner
from detectors.registry import build_registry
from tests.conftest import TEST_KEY


def test_start_recovery_finds_the_same_spans_as_hyperscan_start_tracking() -> None:
    shipped = build_registry()
    assert any(p.som_window for d in shipped for p in d.patterns), "no pattern uses som_window any more"
    assert any(p.start_anchor for d in shipped for p in d.patterns), "no pattern uses start_anchor any more"
    tracked = build_registry()
    for det in tracked:
        det.patterns = tuple(dataclasses.replace(p, som_window=0, start_anchor=None) for p in det.patterns)
    fast, reference = Scanner(hmac_key=TEST_KEY, detectors=shipped), Scanner(hmac_key=TEST_KEY, detectors=tracked)
    parts = [
        "z***@example.com",
        "ab**cd@mail.qq.com",
        "abcdefghij****k@163.com",
        "a*b**c@x.cn",
        "li＊＊＊@sina.com.cn",
        "x.y**@a-b.co",
        "**@q.com",
        "邮箱",
        "，",
        "张三",
        "12345",
        " ",
        "@",
        "*",
        "abc",
        "ü",
        "zhang.san@example.com",
        "a@b.cn",
        "%+-",
        "x@y",
        "a.b-c@d.e-f.gh",
        "@@",
        ".com",
        "Ａ",
        "＠qq.com",
    ]
    rnd = random.Random(7)
    found = emails = 0
    for _ in range(2000):
        text = "".join(rnd.choice(parts) for _ in range(rnd.randint(1, 8)))
        got = [(f.entity_type, f.start, f.end, f.hmac) for f in fast.scan(text)]
        assert got == [(f.entity_type, f.start, f.end, f.hmac) for f in reference.scan(text)], text
        found += sum(e == "EMAIL_MASKED" for e, *_ in got)
        emails += sum(e == "EMAIL_ADDRESS" for e, *_ in got)
    assert found > 500 and emails > 500
