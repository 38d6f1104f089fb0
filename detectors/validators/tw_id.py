"""Taiwan national ID / new-format resident certificate, weighted mod 10 (``identifiers.md`` §2.8)."""

from __future__ import annotations

from detectors.validators.exceptions import InvalidChecksum, InvalidFormat, passes

LETTER_CODES = dict(
    zip(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        (10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21, 22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33),
    )
)
WEIGHTS = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1)


def calc_check_digit(first9: str) -> str:
    """Return the check digit for a letter + 8 digits."""
    code = LETTER_CODES[first9[0]]
    digits = [code // 10, code % 10] + [int(c) for c in first9[1:]]
    return str((10 - sum(d * w for d, w in zip(digits, WEIGHTS)) % 10) % 10)


def validate(value: str) -> str:
    """Validate a Taiwan ID; return its compact form."""
    code = value.strip().upper()
    if len(code) != 10 or code[0] not in LETTER_CODES or not code[1:].isdigit():
        raise InvalidFormat()
    if calc_check_digit(code[:9]) != code[9]:
        raise InvalidChecksum()
    return code


def is_valid(value: str) -> bool:
    """Return whether ``value`` is a valid Taiwan ID."""
    return passes(validate, value)
