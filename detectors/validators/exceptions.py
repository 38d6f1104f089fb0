"""Validation exceptions, modelled on python-stdnum's ``stdnum.exceptions``."""

from __future__ import annotations

from collections.abc import Callable


class ValidationError(ValueError):
    """The value is not a valid identifier."""


class InvalidFormat(ValidationError):
    """Characters or structure do not match the format."""


class InvalidLength(InvalidFormat):
    """The value has the wrong length."""


class InvalidChecksum(ValidationError):
    """The check character does not match."""


class InvalidComponent(ValidationError):
    """A component (date, region, prefix) is not possible."""


def passes(validate: Callable[[str], str], value: str) -> bool:
    """``is_valid`` for a ``validate`` function: True unless it raises a ``ValueError``."""
    try:
        validate(value)
    except ValueError:
        return False
    return True
