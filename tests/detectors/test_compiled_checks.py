"""The compiled checksums (detectors/validators/_checks.pyx) answer exactly as their Python references."""

from __future__ import annotations

import datetime as dt
import random
import string

from detectors.patterns.cn_bank_card import distinct_digits
from detectors.validators import cn_ric, luhn

from .synth import bank_card, resident_id


def test_the_compiled_checks_are_built() -> None:
    # the install compiles them (setup.py); without a C compiler the references answer, but the tests require both
    assert cn_ric._ric18 is not None and luhn._luhn is not None


def _id_variants(rnd: random.Random) -> list[str]:
    """Valid numbers and every way they can go wrong: one digit, the check character, a lower-case x, dates at and
    past the month's end, 29 February, tomorrow, every province-like prefix, HMT and leading-9 forms, non-ASCII
    digits and letters that upper-case to two characters."""
    today = cn_ric._today()
    out = []
    for _ in range(3000):
        v = resident_id(rnd)
        out.append(v)
        i = rnd.randrange(18)
        out.append(v[:i] + rnd.choice(string.digits + "Xx") + v[i + 1 :])
        out.append(v[:17] + "x" if v[17] == "X" else v)
        out.append(f"{rnd.randint(0, 99):02d}" + v[2:])
    base = "110105"
    for y, m, d in [
        (2000, 2, 29),
        (1900, 2, 29),
        (2023, 2, 29),
        (2024, 2, 29),
        (1999, 4, 31),
        (1999, 13, 1),
        (1999, 0, 10),
        (1999, 1, 0),
        (1999, 12, 31),
        (today.year, today.month, today.day),
    ]:
        first17 = f"{base}{y:04d}{m:02d}{d:02d}001"
        out.append(first17 + cn_ric.calc_check_digit(first17))
    tomorrow = today + dt.timedelta(days=1)
    first17 = f"{base}{tomorrow:%Y%m%d}001"
    out.append(first17 + cn_ric.calc_check_digit(first17))
    for prefix in ("810000", "820000", "830000", "840000", "810001", "910105", "000000", "991234"):
        first17 = f"{prefix}19900101001"
        out.append(first17 + cn_ric.calc_check_digit(first17))
    v = resident_id(rnd)
    out += [v[:5] + "５" + v[6:], v[:17] + "ß", "ß" + v[1:], v[:17] + "Ｘ", v[:17] + "\U0001f600", v + "0", v[:17], ""]
    return out


def test_resident_id_check_matches_the_reference_on_valid_broken_and_odd_values() -> None:
    values = _id_variants(random.Random(5))
    assert sum(map(cn_ric.is_valid_py, values)) > 3000  # the set holds valid numbers, not only failures
    for v in values:
        assert cn_ric.is_valid(v) == cn_ric.is_valid_py(v), v


def test_luhn_matches_the_reference() -> None:
    rnd = random.Random(6)
    values = ["", "0", "79927398713", "79927398710"] + [bank_card(rnd) for _ in range(3000)]
    values += ["".join(rnd.choices(string.digits, k=rnd.randint(1, 25))) for _ in range(3000)]
    for v in values:
        assert luhn.checksum(v) == luhn.checksum_py(v), v
    assert luhn.checksum("6222 0200") == luhn.checksum_py("6222 0200")  # not digits only: the reference answers


def test_distinct_digit_count_matches_set_size() -> None:
    rnd = random.Random(7)
    for _ in range(3000):
        v = "".join(rnd.choices(rnd.choice(["01", "012", string.digits]), k=rnd.randint(0, 20)))
        assert distinct_digits(v) == len(set(v)), v
