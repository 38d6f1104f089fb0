"""Validator unit tests: cited vectors and one case per exception type."""

from __future__ import annotations

import random

import pytest

from detectors.validators import cn_ric, cn_uscc, hkid, luhn, tw_id, vin
from detectors.validators.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength


# fmt: off
@pytest.mark.parametrize("value", [
    "11010519491231002X",   # GB 11643-1999 Appendix A
    "440524188001010014",   # Appendix A, historic county code absent from today's table
    "11010519491231002x",   # lower-case check character
    "110105200002290021",   # 2000-02-29 exists
    "810000199001010019", "820000199001010010", "830000199001010012",  # HMT residence permits
    "911840199001010018",   # 2023 foreigner PR card
])
def test_cn_ric_accepts_standard_vectors(value: str) -> None:
    assert cn_ric.is_valid(value)


@pytest.mark.parametrize("value,exc", [
    ("110105194912310021", InvalidChecksum),    # wrong check
    ("110105194902300020", InvalidComponent),   # 30 Feb
    ("110105190002290025", InvalidComponent),   # 1900 not a leap year
    ("110105209912310029", InvalidComponent),   # future birth date
    ("200105194912310021", InvalidComponent),   # province 20
    ("110101199003077578", InvalidChecksum),    # README "example IDs" that fail MOD 11-2
    ("110101199003077593", InvalidChecksum),
    ("11010519900101003X", InvalidChecksum),
    ("1101051949123100", InvalidLength),
    ("11010519491231002Y", InvalidFormat),
])
def test_cn_ric_rejects_with_reason(value: str, exc: type) -> None:
    with pytest.raises(exc):
        cn_ric.validate(value)
# fmt: on


def test_cn_ric_legacy_converts_to_18_digits() -> None:
    assert cn_ric.validate_legacy("110105491231002") == "11010519491231002X"


# (value, ours, stdnum's): stdnum checks the county against its own table, which lacks codes that were issued and
# later retired (440524, Chaoyang county, Shantou: merged in 2003); ours checks the province only (identifiers.md)
@pytest.mark.parametrize(
    "value,ours,stdnum",
    [
        ("11010519491231002X", True, True),
        ("11010519491231002x", True, True),
        ("110105194912310021", False, False),
        ("11010519490231002X", False, False),
        ("440524188001010014", True, False),
    ],
)
def test_cn_ric_agrees_with_stdnum_except_retired_county_codes(value: str, ours: bool, stdnum: bool) -> None:
    from stdnum.cn import ric

    assert cn_ric.is_valid(value) is ours
    assert ric.is_valid(value) is stdnum


def _ric_candidates(rnd: random.Random, n: int) -> list[str]:
    """18-character strings near the resident-ID shape: valid ones and every way of being almost valid."""
    out = []
    for _ in range(n):
        region = rnd.choice(["110105", "440524", "810000", "830000", "910000", "990000", "000000", "350203"])
        year = rnd.choice([1900, 1949, 1999, 2000, 2024, 2099, rnd.randint(1850, 2100)])
        month, day = rnd.randint(0, 13), rnd.randint(0, 32)
        body = f"{region}{year:04d}{month:02d}{day:02d}{rnd.randint(0, 999):03d}"
        check = cn_ric.calc_check_digit(body) if rnd.random() < 0.8 else rnd.choice("0123456789X")
        v = body + check
        kind = rnd.random()
        if kind < 0.05:
            v = v.lower()
        elif kind < 0.1:
            v = v[:6] + " " + v[6:14] + "-" + v[14:]
        elif kind < 0.15:
            v = v[:17] + rnd.choice("ABZ")
        elif kind < 0.2:
            v = "\uff11" + v[1:]  # a full-width digit
        out.append(v)
    return out


def test_cn_ric_is_valid_agrees_with_validate() -> None:
    rnd = random.Random(20261201)
    cases = _ric_candidates(rnd, 5000)
    valid = 0
    for v in cases:
        try:
            cn_ric.validate(v)
            ok = True
        except ValueError:
            ok = False
        assert cn_ric.is_valid(v) is ok, v
        valid += ok
    assert 500 < valid < 4500  # both sides of the line were exercised


@pytest.mark.parametrize(
    "value,valid",
    [
        ("6200000000000005", True),
        ("6200000000000047", True),
        ("6205500000000000004", True),
        ("62123456789000003", True),
        ("621234567890000002", True),
        ("6212345678900000003", True),
        ("4111111111111111", True),
        ("490154203237518", True),
        ("4111111111111112", False),
    ],
)
def test_luhn_public_test_numbers(value: str, valid: bool) -> None:
    assert luhn.is_valid(value) is valid


@pytest.mark.parametrize(
    "value,valid", [("91110000600037341L", True), ("91110000600037341M", False), ("91110000600037341", False)]
)
def test_uscc_mod31(value: str, valid: bool) -> None:
    assert cn_uscc.is_valid(value) is valid


def test_uscc_agrees_with_stdnum() -> None:
    from stdnum.cn import uscc

    assert uscc.is_valid("91110000600037341L") and cn_uscc.is_valid("91110000600037341L")


@pytest.mark.parametrize(
    "value,valid",
    [
        ("A123456(3)", True),
        ("A1234563", True),
        ("A123456(4)", False),
        ("AB9876543", hkid.calc_check_digit("AB987654") == "3"),
    ],
)
def test_hkid_mod11(value: str, valid: bool) -> None:
    assert hkid.is_valid(value) is valid


@pytest.mark.parametrize("value,valid", [("A123456789", True), ("A123456788", False), ("1123456789", False)])
def test_tw_id_weighted_mod10(value: str, valid: bool) -> None:
    assert tw_id.is_valid(value) is valid


@pytest.mark.parametrize(
    "value,valid",
    [
        ("1M8GDM9AXKP042788", True),
        ("11111111111111111", True),
        ("1M8GDM9A1KP042788", False),
        ("1M8GDM9AXKP04278O", False),
    ],
)
def test_vin_check_digit(value: str, valid: bool) -> None:
    assert vin.is_valid(value) is valid


def test_uscc_fast_is_valid_agrees_with_validate_on_near_misses() -> None:
    import random

    from detectors.validators.exceptions import passes

    rnd = random.Random(31)
    alphabet = cn_uscc.ALPHABET + "IOSZ -a*"
    valid = 0
    for _ in range(20000):
        body = "".join(rnd.choice(alphabet) for _ in range(rnd.choice([17, 17, 17, 18, 19])))
        body = body[:2] + "".join(rnd.choice("0123456789") for _ in range(6)) + body[8:]
        if all(c in cn_uscc.ALPHABET for c in body[:17]) and rnd.random() < 0.5:
            body = body[:17] + cn_uscc.calc_check_digit(body[:17])
        assert cn_uscc.is_valid(body) == passes(cn_uscc.validate, body), body
        valid += cn_uscc.is_valid(body)
    assert valid > 500  # the sample really exercises both outcomes
