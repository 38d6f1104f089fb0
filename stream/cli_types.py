"""Argument types with one-line errors, shared by every subcommand."""

from __future__ import annotations

import argparse
from typing import Any


def bounded(cast: type, lo: float | None = None, hi: float | None = None, what: str = "a number") -> Any:
    """An argparse type: ``cast(text)`` within [lo, hi], with a one-line error otherwise."""

    def parse(text: str) -> Any:
        try:
            v = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}"
            raise argparse.ArgumentTypeError(f"must be {rng}: {text}")
        return v

    return parse
