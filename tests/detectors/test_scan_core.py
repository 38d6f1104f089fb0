"""The compiled hot path (detectors/_scan_core.pyx) gives exactly the findings of the Python reference.

``Scanner._scan_segments`` runs the compiled core; ``Scanner._scan_segments_py`` is the readable reference it
was written from. Both run here on the same inputs: benchmark records, simulator payloads, review text, and
adversarial strings built to reach every branch (full-width digits, gated context words, masked values, mask
characters and letters next to matches, field names that hold identifiers, non-BMP characters, allow-lists).
"""

from __future__ import annotations

import random

import orjson
import pytest

from detectors import Scanner
from detectors.config import DetectorConfig
from detectors.engine import ScanCore, layout_py
from detectors.structured import leaves as flatten_leaves
from tests.benchmarks.records import make_records
from tests.detectors.synth import bank_card, resident_id, uscc

KEY = b"core-test-key-0123456789"

needs_core = pytest.mark.skipif(ScanCore is None, reason="compiled core not built")


def test_compiled_core_is_built() -> None:
    assert ScanCore is not None, "detectors._scan_core is not compiled: reinstall with a C compiler"
    import importlib

    assert importlib.util.find_spec("detectors._hs") is not None, (
        "detectors._hs is not compiled: install libhyperscan-dev (deploy/build-deps.sh), then reinstall"
    )


PIECES = [
    "订单号",  # labels that veto the value right after them
    "快递单号",
    "order_no",
    "ISBN",
    "=",
    "\u3000",
    "'",
    "手机",
    "电话",
    "身份证号",
    "银行卡",
    "QQ",
    "qq号",
    "微信",
    "护照",
    "港澳通行证",
    "车牌",
    "ip",
    "mac",
    "邮箱",
    "统一社会信用代码",
    "生日",
    "出生日期",
    "坐标",
    "IMEI",
    "支付宝",
    "台胞证",
    "回乡证",
    "：",
    "，",
    " ",
    "*",
    "#",
    "a",
    "Z",
    "0",
    "-",
    "\n",
    "🙂",
    "１３８",
    "０００",
    "＠",
    "．",
    "　",
    "—",
    "138****5678",
    "110105********002X",
    "zhang.san@example.com",
    "z***@qq.com",
    "192.168.1.1",
    "2001:db8::1",
    "00:1A:2B:3C:4D:5E",
    "粤B12345",
    "LSVAU2180N2183294",
    "123456789",
    "8613812345678",
    "+86 138-0000-1111",
    "1990年1月2日",
    "39.9042,116.4074",
    "H12345678",
    "E12345678",
    "C01234567",
    "A123456(3)",
    "A123456789",
    "12345678901234567",
    "王*明",
]


def adversarial(rnd: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        parts = [rnd.choice(PIECES) for _ in range(rnd.randint(3, 25))]
        for _ in range(rnd.randint(0, 3)):
            parts.insert(
                rnd.randrange(len(parts) + 1),
                rnd.choice(
                    [
                        resident_id(rnd),
                        bank_card(rnd),
                        uscc(rnd),
                        f"1{rnd.randint(3, 9)}{rnd.randint(0, 10**9 - 1):09d}",
                    ]
                ),
            )
        out.append("".join(parts))
    return out


def both(sc: Scanner, text: str, segs, byte_segs=None):
    assert sc._core is not None  # the compiled core, not the reference twice
    return sc._scan_segments(text, segs, byte_segs), sc._scan_segments_py(text, segs, byte_segs)


@needs_core
def test_core_matches_reference_on_benchmark_records_and_adversarial_text(scanner) -> None:
    rnd = random.Random(20161230)
    texts = [orjson.dumps(r).decode() for r in make_records(300)] + adversarial(rnd, 3000)
    found = 0
    for t in texts:
        got, want = both(scanner, t, [(0, 0, None)])
        assert got == want, t
        found += len(got)
    assert found > 3000


@needs_core
def test_core_matches_reference_on_structured_payloads(scanner) -> None:
    rnd = random.Random(7)
    for rec in make_records(200, seed=3):
        leaves = flatten_leaves(rec)
        assert scanner.scan_payload(rec, leaves=leaves) == _reference_payload(scanner, leaves)
    for t in adversarial(rnd, 300):
        payload = {"手机号": t[:40], "remark": t, "nested": [{"身份证": t[::-1]}, t[5:]], "qq": t[-12:]}
        leaves = flatten_leaves(payload)
        assert scanner.scan_payload(payload, leaves=leaves) == _reference_payload(scanner, leaves)


@needs_core
def test_core_matches_reference_with_allow_list_and_thresholds() -> None:
    cfg = DetectorConfig(
        allow_list=frozenset({"11010519491231002X", "13812345678"}),
        thresholds={"CN_BANK_CARD": 0.9},
        deny_list={"CN_WECHAT_ID": ("vip_zhang", "王*明")},
    )
    sc = Scanner(cfg, hmac_key=KEY)
    rnd = random.Random(3)
    for t in adversarial(rnd, 1000) + ["身份证11010519491231002X 手机13812345678 卡号6222021234567890123 vip_zhang"]:
        got, want = both(sc, t, [(0, 0, None)])
        assert got == want, t


def _reference_payload(sc: Scanner, leaves):
    """scan_payload's segment building (``engine.layout_py``), then the reference hot path."""
    if not leaves:
        return []
    text, segs, byte_segs = layout_py(leaves)
    return sc._scan_segments_py(text, segs, byte_segs)


@needs_core
def test_core_matches_reference_past_lone_surrogates(scanner) -> None:
    # a JSON "\ud800" escape decodes to a lone surrogate, which UTF-8 cannot encode: both paths read it as one byte
    texts = ["\ud800 13812345678", "身份证\ud800号11010519491231002X", "\udfff" * 3 + "卡号6222021234567890123\ud800"]
    for t in texts:
        got, want = both(scanner, t, [(0, 0, None)])
        assert got == want and got, t
    payload = {"a": "\udfff张三 手机13812345678", "\ud800k": "11010519491231002X", "l": ["\ud800", "13912345678"]}
    leaves = flatten_leaves(payload)
    assert scanner.scan_payload(payload, leaves=leaves) == _reference_payload(scanner, leaves)
    assert sorted(f.entity_type for f in scanner.scan(payload)) == ["CN_MOBILE", "CN_MOBILE", "CN_RESIDENT_ID"]


@needs_core
def test_core_preview_and_fold_check_match_the_python_functions() -> None:
    from detectors._scan_core import needs_fold
    from detectors._scan_core import preview as core_preview
    from detectors.normalize import _NEEDS_FOLD
    from detectors.redact import preview
    from detectors.registry import entity_names

    rnd = random.Random(5)
    alphabet = "ab@.1２张*-_ 🙂"
    for entity in list(entity_names()) + ["PERSON", "ADDRESS", "LOCATION", "ORGANIZATION", "EMAIL_MASKED"]:
        for n in range(0, 40):
            v = "".join(rnd.choice(alphabet) for _ in range(n))
            assert core_preview(v, entity) == preview(v, entity), (entity, v)
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        assert needs_fold("中" + ch) == (_NEEDS_FOLD.search(ch) is not None), hex(cp)
    assert not needs_fold("plain latin-1 text ÿ") and needs_fold("１")


def _builtin_values(rnd: random.Random) -> list[str]:
    """Values at every edge of the resident ID, mobile and card detectors' C paths (``ScanCore._builtin_score``)."""
    from detectors.validators import cn_ric

    out = [resident_id(rnd), bank_card(rnd)]
    rid = resident_id(rnd)
    out += [
        rid[:-1] + rid[-1].lower(),
        rid[:6] + " " + rid[6:14] + "-" + rid[14:],
        rid[:-1] + str((int(rid[-1], 36) + 1) % 10),
    ]
    for born in ("20150101", "20121201", "20121202", "20121203", "20200229", "20210229", "20991231", "19000229"):
        first17 = f"{rnd.choice(['11', '44', '31'])}0105{born}{rnd.randint(0, 999):03d}"
        out.append(first17 + cn_ric.calc_check_digit(first17))
    for prefix in ("81", "82", "91", "71", "00"):  # permits, leading 9, Taiwan, no province: other detectors or none
        first17 = f"{prefix}0000{rnd.randint(1950, 2010)}0101{rnd.randint(0, 999):03d}"
        out.append(first17 + cn_ric.calc_check_digit(first17))
    body = f"{rnd.randint(0, 10**8 - 1):08d}"
    for head in ("138", "140", "146", "161", "1610", "174", "17400", "17406", "199", "194"):
        num = (head + body)[:11]
        out += [
            num,
            f"+86 {num[:3]}-{num[3:7]}-{num[7:]}",
            f"0086{num}",
            f"86 {num}",
            f"{num[:3]} {num[3:7]} {num[7:]}",
        ]
    for n in (15, 16, 17, 19, 20):
        partial = rnd.choice(["62", "60", "4", "5", "9", "35", "37", "30", "1"]) + "".join(
            str(rnd.randint(0, 9)) for _ in range(n - 3)
        )
        card = (partial + "0")[: n - 1]
        good = card + luhn_digit(card)
        out += [good, card + str((int(luhn_digit(card)) + 1) % 10), " ".join(good[i : i + 4] for i in range(0, n, 4))]
    out += ["6222222222222222", "6262626262626262626", "1111111111111111"]  # fewer than three distinct digits
    return out


def luhn_digit(partial: str) -> str:
    from detectors.validators import luhn

    return luhn.calc_check_digit(partial)


@needs_core
def test_builtin_detectors_in_c_give_the_python_methods_findings(scanner) -> None:
    """The resident ID, mobile and card detectors' check/score/normalize/attributes run in C in the core
    (``ScanCore(plan, builtins=True)``, the default); with ``builtins=False`` the core calls their Python methods.
    Both, and the reference, agree on every edge: checksums, dates and the under-14 attribute around today's cutoff,
    unallocated and excepted mobile prefixes with country codes and groupings, card BINs, Luhn failures with and
    without context, too few distinct digits, lengths beside 16-19."""
    plain = ScanCore(scanner.plan, builtins=False)
    rnd = random.Random(11643)
    labels = ["", "身份证号：", "手机", "卡号 ", "订单号：", "电话:", "银行卡", "备注 ", "QQ "]
    texts = []
    for _ in range(800):
        vals = _builtin_values(rnd)
        texts.append(
            "".join(rnd.choice(labels) + rnd.choice(vals) + rnd.choice(["，", " ", "\n", "。"]) for _ in range(6))
        )
    found = 0
    for t in texts:
        fast = scanner._core.scan_segments(t, [(0, 0, None)])
        assert fast == plain.scan_segments(t, [(0, 0, None)]) == scanner._scan_segments_py(t, [(0, 0, None)]), t
        found += len(fast)
    assert found > 2500
    kinds = {f.entity_type for t in texts for f in scanner.scan(t)}
    assert {"CN_RESIDENT_ID", "CN_MOBILE", "CN_BANK_CARD"} <= kinds
    minors = [f for t in texts for f in scanner.scan(t) if f.attributes.get("age_under_14")]
    assert minors and all(f.sensitivity == "spi" for f in minors)


@needs_core
def test_a_subclassed_builtin_detector_runs_its_own_methods() -> None:
    """A detector derived from a built-in one (or one with a method replaced on the instance) is not read as the
    built-in: its own Python methods decide."""
    from detectors._scan_core import _builtin_kind
    from detectors.patterns.cn_mobile import CnMobileDetector
    from detectors.patterns.cn_resident_id import CnResidentIdDetector

    class StrictMobile(CnMobileDetector):
        def score(self, value, base, check, context):
            return None

    replaced = CnResidentIdDetector()
    replaced.check = lambda value: None  # type: ignore[method-assign]
    assert _builtin_kind(CnMobileDetector()) == 2
    assert _builtin_kind(StrictMobile()) == 0
    assert _builtin_kind(replaced) == 0


@needs_core
def test_core_hmac_is_the_keyed_hasher_on_any_value_and_key() -> None:
    """The core's own SHA-256 (detectors/_sha256.h) from the pad states gives KeyedHasher's (hashlib's) HMAC: empty,
    one-block, two- and three-block values (the 55/56-byte padding edge), non-ASCII, and keys of 16, 64 and 100
    bytes (a key beyond the block size is hashed first)."""
    from detectors._scan_core import sha256_extensions
    from detectors.redact import keyed_hmac

    rnd = random.Random(2104)
    alphabet = "0123456789Xabc张王李 -@\U0001f642"
    try:
        for extensions in (False, True):  # portable C, then the SHA extensions where this CPU has them
            sha256_extensions(extensions)
            for key in (b"k" * 16, bytes(range(64)), bytes(range(100))):
                sc = Scanner(hmac_key=key)
                for d, det in enumerate(sc.plan.detectors):
                    kind = det.SUBJECT_KIND or det.entity
                    for n in (0, 1, 18, 40, 44, 45, 46, 47, 48, 55, 56, 64, 100, 119, 120, 200, rnd.randint(0, 300)):
                        v = "".join(rnd.choice(alphabet) for _ in range(n))
                        want = keyed_hmac(key, kind, v)
                        assert sc._core.keyed_hmac(d, v) == sc.plan.hashers[d](v) == want, (kind, v, extensions)
    finally:
        sha256_extensions(True)


@needs_core
def test_core_scans_with_libhs_and_python_hyperscan_alike(scanner) -> None:
    """The core's Hyperscan through the C API (detectors/_hs.pyx, a C match handler) reports the hits
    python-hyperscan reports on the same expressions, and the core gives the same findings with either."""
    from detectors import _hs
    from detectors.normalize import fold

    plan = scanner.plan
    db = _hs.Database([e for e, _ in plan.expressions], [f for _, f in plan.expressions])
    out = bytearray()
    via_python = ScanCore(plan, libhs=False)
    rnd = random.Random(5)
    texts = [orjson.dumps(r).decode() for r in make_records(200)] + adversarial(rnd, 1500)
    hits_seen = 0
    for t in texts:
        padded = b"\n" + fold(t).encode("utf-8", "replace") + b"\n"
        want: list[tuple[int, int, int]] = []
        plan.db.scan(padded, match_event_handler=lambda i, s, e, f, ctx: ctx.append((i, s, e)), context=want)
        n = db.scan(padded, out)
        flat = memoryview(out).cast("i")[: 3 * n].tolist()
        got = [tuple(flat[i : i + 3]) for i in range(0, 3 * n, 3)]
        assert sorted(got) == sorted(want), t
        hits_seen += n
        assert scanner._core.scan_segments(t, [(0, 0, None)]) == via_python.scan_segments(t, [(0, 0, None)]), t
    assert hits_seen > 10000


@needs_core
def test_core_rounds_scores_as_round_does() -> None:
    """Scores are rounded to 3 places in C where that is exact, by ``round`` near a rounding half: the same floats."""
    import math

    from detectors._scan_core import round3

    rnd = random.Random(3)
    values = [0.0, 1.0, 0.95, 0.85, 0.6 + 0.35, 0.3 + 0.45, 2.675, 0.0005, 0.0015, 0.1235, 1e-9, 123456.7895, 1e16]
    values += [rnd.random() for _ in range(20000)] + [rnd.randint(0, 10**6) / 2000 for _ in range(20000)]
    values += [k / 1000 + d for k in range(1000) for d in (0.0, 0.0005, -0.0005, 1e-12)]
    for v in values + [-v for v in values]:
        assert round3(v) == round(v, 3) and math.copysign(1, round3(v)) == math.copysign(1, round(v, 3)), v
    assert math.isnan(round3(math.nan)) and round3(math.inf) == math.inf


@needs_core
def test_a_long_libhs_scan_lets_other_threads_run(scanner) -> None:
    """A multi-megabyte scan through the C API releases the GIL (its match handler needs no Python): the event loop
    thread of a worker keeps running while a big plain-text payload is scanned."""
    import threading
    import time

    from detectors import _hs

    plan = scanner.plan
    db = _hs.Database([e for e, _ in plan.expressions], [f for _, f in plan.expressions])
    rnd = random.Random(1)
    text = "".join(f"手机{rnd.randint(13000000000, 13999999999)}，身份证号{resident_id(rnd)}。" for _ in range(150_000))
    data = b"\n" + text.encode() + b"\n"
    assert len(data) >= 4 * _hs.RELEASE_GIL_BYTES
    t0 = time.perf_counter()
    n = db.scan(data, bytearray())
    alone = time.perf_counter() - t0
    assert n > 300_000
    done = threading.Event()
    worker = threading.Thread(target=lambda: (db.scan(data, bytearray()), done.set()))
    gaps, last = [], time.perf_counter()
    worker.start()  # (the new thread may take the GIL at once: a stall can begin here)
    while not done.is_set():
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    gaps.append(time.perf_counter() - last)  # a stall that ends with the scan ends the loop too
    worker.join()
    assert max(gaps) < alone / 2, (max(gaps), alone)


@needs_core
def test_builtin_detectors_with_other_patterns_fall_back_to_their_python_methods() -> None:
    """A shipped detector given other patterns (a deployment's config) can produce values its C path was not
    written for: non-ASCII characters, more than 64 digits, a resident ID that is not 18 characters. Those go to
    the detector's Python methods, and the findings equal the reference's."""
    from detectors.base import Boundary, Pattern
    from detectors.patterns.cn_bank_card import CnBankCardDetector
    from detectors.patterns.cn_mobile import CnMobileDetector
    from detectors.patterns.cn_resident_id import CnResidentIdDetector

    dets = [
        CnMobileDetector(
            patterns=(
                Pattern("mobile with label", r"手机[：:]?[0-9 ]{11,90}", 0.6, Boundary.NONE),
                Pattern("mobile, long", r"00[0-9]{66,80}", 0.6, Boundary.DIGIT),
            )
        ),
        CnBankCardDetector(patterns=(Pattern("card, long", r"6[0-9]{69,79}", 0.3, Boundary.DIGIT),)),
        CnResidentIdDetector(patterns=(Pattern("id with label", r"身份证[0-9Xx]{18}", 0.4, Boundary.NONE),)),
    ]
    sc = Scanner(hmac_key=KEY, detectors=dets)
    plain = ScanCore(sc.plan, builtins=False)
    rnd = random.Random(64)
    texts = []
    for _ in range(300):
        digits = "".join(str(rnd.randint(0, 9)) for _ in range(rnd.randint(60, 85)))
        texts.append(
            f"手机{rnd.randint(13000000000, 19999999999)} 卡号6{digits} 身份证{resident_id(rnd)} "
            f"手机：{rnd.randint(10**60, 10**70)} 银行卡 6{digits[:70]} 00{digits[:70]}13812345678"
        )
    found = []
    for t in texts:
        got = sc._core.scan_segments(t, [(0, 0, None)])
        assert got == plain.scan_segments(t, [(0, 0, None)]) == sc._scan_segments_py(t, [(0, 0, None)]), t
        found += got
    # (the long cards and labelled IDs fail their checks either way: what matters is that both paths agree)
    assert len(found) >= 450
    assert any(f.end - f.start > 64 and f.preview.isascii() for f in found)  # > 64 digits, scored in Python
    assert any(f.preview.startswith("手机") for f in found)  # non-ASCII values, scored in Python


@needs_core
def test_one_libhs_database_scanned_from_two_threads_at_once_raises(scanner) -> None:
    """The core's databases hold their hit arrays: a second thread scanning one while a long scan runs (the GIL
    released) gets RuntimeError, never a corrupted array."""
    import threading

    from detectors import _hs

    plan = scanner.plan
    db = _hs.Database([e for e, _ in plan.expressions], [f for _, f in plan.expressions])
    rnd = random.Random(2)
    data = ("".join(f"手机{rnd.randint(13000000000, 13999999999)}。" for _ in range(400_000))).encode()
    started, errors = threading.Event(), []
    worker = threading.Thread(target=lambda: (started.set(), db.scan(data, bytearray())))
    worker.start()
    started.wait()
    while worker.is_alive():
        try:
            db.scan(b"\n13812345678\n", bytearray())
        except RuntimeError as exc:
            errors.append(str(exc))
            break
    worker.join()
    assert errors and "two threads" in errors[0]
    assert db.scan(b"\n13812345678\n", bytearray()) >= 1  # and it scans again once the other is done


@needs_core
def test_a_scanner_without_libhs_warns_and_finds_the_same(scanner, monkeypatch) -> None:
    """An install without Hyperscan's C library (no libhyperscan-dev at build) still scans, through
    python-hyperscan, with the same findings, and says so: an operator sees the slower path at start."""
    import sys

    import detectors

    rnd = random.Random(9)
    texts = adversarial(rnd, 300)
    want = [scanner._core.scan_segments(t, [(0, 0, None)]) for t in texts]
    monkeypatch.setitem(sys.modules, "detectors._hs", None)
    monkeypatch.delattr(detectors, "_hs", raising=False)
    with pytest.warns(RuntimeWarning, match="libhyperscan-dev"):
        core = ScanCore(scanner.plan)
    assert [core.scan_segments(t, [(0, 0, None)]) for t in texts] == want
