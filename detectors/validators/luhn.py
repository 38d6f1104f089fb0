"""Luhn (ISO/IEC 7812-1) check, used by bank cards and IMEIs."""

from __future__ import annotations

from detectors.validators.exceptions import InvalidChecksum, InvalidFormat, passes

_DOUBLED = bytes((2 * d - 9 if d > 4 else 2 * d) for d in range(10))


def checksum(number: str) -> int:
    """Return the Luhn sum mod 10 of an ASCII digit string (0 means valid)."""
    b = number.encode()[::-1]
    odd = b[0::2]
    even = b[1::2]
    return (sum(odd) - 48 * len(odd) + sum(even.translate(_DOUBLED_TABLE))) % 10


_DOUBLED_TABLE = bytes(range(48)) + _DOUBLED + bytes(range(58, 256))


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
    return passes(validate, value)
