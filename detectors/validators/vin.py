"""Vehicle identification number check digit (ISO 3779, 49 CFR 565; ``identifiers.md`` §3.7)."""

from __future__ import annotations

from detectors.validators.exceptions import InvalidChecksum, InvalidFormat, passes

TRANSLITERATION = dict(
    zip("ABCDEFGHJKLMNPRSTUVWXYZ", (1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9))
)
WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def calc_check_digit(vin: str) -> str:
    """Return the position-9 check character."""
    total = sum((int(c) if c.isdigit() else TRANSLITERATION[c]) * w for c, w in zip(vin, WEIGHTS))
    r = total % 11
    return "X" if r == 10 else str(r)


def validate(value: str) -> str:
    """Validate a VIN; return it upper-cased."""
    vin = value.strip().upper()
    if len(vin) != 17 or any(not (c.isdigit() or c in TRANSLITERATION) for c in vin):
        raise InvalidFormat()
    if calc_check_digit(vin) != vin[8]:
        raise InvalidChecksum()
    return vin


def is_valid(value: str) -> bool:
    """Return whether ``value`` is a valid VIN."""
    return passes(validate, value)
