"""Luhn (ISO/IEC 7812-1) check, used by bank cards and IMEIs."""

from __future__ import annotations

from detectors.validators.exceptions import InvalidChecksum, InvalidFormat, passes

_DOUBLED = bytes((2 * d - 9 if d > 4 else 2 * d) for d in range(10))


try:
    from detectors.validators._checks import luhn as _luhn
except ImportError:  # no C compiler at install: the Python reference answers (same results, slower)
    _luhn = None


def checksum(number: str) -> int:
    """Return the Luhn sum mod 10 of an ASCII digit string (0 means valid); compiled (``_checks.luhn``), with
    ``checksum_py`` for anything else and as the reference."""
    if _luhn is not None:
        r = _luhn(number)
        if r >= 0:
            return r
    return checksum_py(number)


def checksum_py(number: str) -> int:
    """``checksum`` in Python: the reference the compiled Luhn is tested against."""
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
