"""Luhn (ISO/IEC 7812-1) check, used by bank cards and IMEIs."""

from __future__ import annotations

from detectors.validators.exceptions import InvalidChecksum, InvalidFormat


def checksum(number: str) -> int:
    """Return the Luhn sum mod 10 of a digit string (0 means valid)."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10


def calc_check_digit(partial: str) -> str:
    """Return the digit that makes ``partial`` + digit Luhn-valid."""
    return str((10 - checksum(partial + "0")) % 10)


def validate(value: str) -> str:
    """Validate a Luhn digit string; return its compact form."""
    number = "".join(c for c in value if c not in " -")
    if not number.isdigit():
        raise InvalidFormat()
    if checksum(number) != 0:
        raise InvalidChecksum()
    return number


def is_valid(value: str) -> bool:
    """Return whether ``value`` passes Luhn."""
    try:
        validate(value)
    except ValueError:
        return False
    return True
