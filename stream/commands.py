"""Stream subcommands (filled in by the stream monitor)."""

from __future__ import annotations

from typing import Any


def add_stream_commands(sub: Any) -> None:
    """Register broker/worker/demo/simulate/consents subcommands."""
