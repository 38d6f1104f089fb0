"""Hong Kong Identity Card number, mod 11 with weights 9..2 (``identifiers.md`` §2.6)."""

from __future__ import annotations

from detectors.validators.exceptions import InvalidChecksum, InvalidFormat, passes

WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)
SPACE_VALUE = 36  # a single-letter prefix is padded with a space worth 36


def compact(value: str) -> str:
    """Drop parentheses and separators, upper-case."""
    return "".join(c for c in value if c not in " ()（）-").upper()


def calc_check_digit(body: str) -> str:
    """Return the check character for 1-2 letters + 6 digits."""
    vals = ([SPACE_VALUE] if len(body) == 7 else []) + [ord(c) - 55 if c.isalpha() else int(c) for c in body]
    r = sum(v * w for v, w in zip(vals, WEIGHTS)) % 11
    return "0" if r == 0 else "A" if r == 1 else str(11 - r)


def validate(value: str) -> str:
    """Validate an HKID; return its compact form."""
    code = compact(value)
    body, check = code[:-1], code[-1:]
    if not (len(body) in (7, 8) and body[:-6].isalpha() and body[-6:].isdigit() and body[:-6].isascii()):
        raise InvalidFormat()
    if calc_check_digit(body) != check:
        raise InvalidChecksum()
    return code


def is_valid(value: str) -> bool:
    """Return whether ``value`` is a valid HKID."""
    return passes(validate, value)
