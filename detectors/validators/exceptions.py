"""Validation exceptions, modelled on python-stdnum's ``stdnum.exceptions``."""


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
