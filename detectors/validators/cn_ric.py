"""Citizen identity number (GB 11643-1999), ISO 7064 MOD 11-2, and the 15-digit legacy form.

Also used by the HMT residence permit (81/82/83 prefix) and the 2023 foreigner PR card
(leading 9): same checksum, different first digits.
Reference: GB 11643-1999 Appendix A; ``identifiers.md`` §2.1-2.4.
"""

from __future__ import annotations

import datetime as _dt
import operator
import time

from detectors.validators.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

# w_i = 2^(18-i) mod 11 for positions 1..17 (GB 11643-1999 §7.2)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # indexed by S mod 11
# province-level prefixes (GB/T 2260); county codes are deliberately not checked (historic codes stay valid)
MAINLAND_PROVINCES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
    ]
)
HMT_PREFIXES = ("810000", "820000", "830000")


_SEPARATORS = str.maketrans("", "", " -\u2010\u2014\uff0d")
_today_cache: list = [0.0, _dt.date.today()]


def _today() -> _dt.date:
    now = time.time()
    if now - _today_cache[0] > 60:
        _today_cache[:] = [now, _dt.date.today()]
    return _today_cache[1]


def compact(value: str) -> str:
    """Strip separators and upper-case the check character."""
    return value.translate(_SEPARATORS).upper()


def calc_check_digit(first17: str) -> str:
    """Return the MOD 11-2 check character for the first 17 digits."""
    return CHECK_CHARS[sum(map(operator.mul, map(int, first17), WEIGHTS)) % 11]


def birth_date(number: str, *, today: _dt.date | None = None) -> _dt.date:
    """Return the birth date encoded in an 18-digit number or raise ``InvalidComponent``."""
    try:
        born = _dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise InvalidComponent("impossible birth date") from exc
    today = today or _today()
    if born > today:
        raise InvalidComponent("birth date in the future")
    return born


def validate(value: str, *, today: _dt.date | None = None) -> str:
    """Validate an 18-character number of the MOD 11-2 family; return its compact form."""
    number = compact(value)
    if len(number) != 18:
        raise InvalidLength()
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidFormat()
    if calc_check_digit(number[:17]) != number[17]:
        raise InvalidChecksum()
    birth_date(number, today=today)
    if not (number[:2] in MAINLAND_PROVINCES or number.startswith(HMT_PREFIXES) or number[0] == "9"):
        raise InvalidComponent("unknown province")
    return number


_WEIGHT_SUM_48 = 48 * sum(WEIGHTS)

try:
    from detectors.validators._checks import ric18 as _ric18
    from detectors.validators._checks import set_provinces as _set_provinces
except ImportError:  # no C compiler at install: the Python reference answers (same results, slower)
    _ric18 = None
else:
    _set_provinces(MAINLAND_PROVINCES)
_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_valid(value: str) -> bool:
    """Return whether ``value`` is a valid 18-character number of the MOD 11-2 family (hot path, no exceptions):
    compiled for 18-character values (``_checks.ric18``), ``is_valid_py`` for the rest and as the reference."""
    if _ric18 is not None and len(value) == 18:
        t = _today()
        return _ric18(value, t.year * 10000 + t.month * 100 + t.day)
    return is_valid_py(value)


def is_valid_py(value: str) -> bool:
    """``is_valid`` in Python: the reference the compiled check is tested against."""
    number = value.upper() if len(value) == 18 else compact(value)
    if len(number) != 18 or not number[:17].isdigit() or not number[:17].isascii():
        return False
    # sum of (ord(c) - 48) * w over ASCII digit bytes, without int() per character
    if CHECK_CHARS[(sum(map(operator.mul, number[:17].encode(), WEIGHTS)) - _WEIGHT_SUM_48) % 11] != number[17]:
        return False
    y, m, d = int(number[6:10]), int(number[10:12]), int(number[12:14])
    if (
        not 1 <= m <= 12
        or not 1 <= d <= _DAYS[m]
        or (m == 2 and d == 29 and not (y % 4 == 0 and (y % 100 or y % 400 == 0)))
    ):
        return False
    t = _today()
    if (y, m, d) > (t.year, t.month, t.day):
        return False
    return number[:2] in MAINLAND_PROVINCES or number.startswith(HMT_PREFIXES) or number[0] == "9"


def validate_legacy(value: str, *, today: _dt.date | None = None) -> str:
    """Validate a 15-digit first-generation ID (date and province only); return it converted to 18."""
    number = compact(value)
    if len(number) != 15 or not number.isdigit():
        raise InvalidFormat()
    if number[:2] not in MAINLAND_PROVINCES:
        raise InvalidComponent("unknown province")
    first17 = number[:6] + "19" + number[6:]
    full = first17 + calc_check_digit(first17)
    birth_date(full, today=today)
    return full


_cutoff_cache: dict[tuple[_dt.date, int], str] = {}


def born_after_cutoff(number: str, years: int) -> bool:
    """``age_on(number) < years`` for a valid number, by comparing YYYYMMDD strings with today's date ``years``
    years back (one string comparison on the hot path; ``age_on`` stays the readable definition)."""
    t = _today()
    cutoff = _cutoff_cache.get((t, years))
    if cutoff is None:
        if len(_cutoff_cache) > 64:
            _cutoff_cache.clear()
        cutoff = _cutoff_cache[(t, years)] = f"{t.year - years:04d}{t.month:02d}{t.day:02d}"
    return number[6:14] > cutoff


def age_on(number: str, day: _dt.date | None = None) -> int:
    """Age in whole years on ``day`` (default today) of the holder of an 18-character number."""
    day = day or _today()
    y, m, d = int(number[6:10]), int(number[10:12]), int(number[12:14])
    return day.year - y - ((day.month, day.day) < (m, d))
