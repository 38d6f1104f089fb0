"""piplwatch detectors: find Chinese personal information in text and structured payloads.

A pure library (no Faust, Kafka or Prometheus). Public API::

    from detectors import scan, Scanner, Finding
    scan("身份证号11010519491231002X，手机13812345678")
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from detectors.base import Check, Detector, Finding, Pattern
from detectors.config import ConfigError, DetectorConfig
from detectors.engine import Scanner
from detectors.registry import build_registry, entity_names

__all__ = [
    "Check",
    "ConfigError",
    "Detector",
    "DetectorConfig",
    "Finding",
    "Pattern",
    "Scanner",
    "build_registry",
    "entity_names",
    "scan",
    "scan_batch",
]
try:  # the one version string is pyproject.toml's
    __version__ = metadata.version("piplwatch")
except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree that was never installed
    __version__ = "0+unknown"

_default: Scanner | None = None


def _scanner() -> Scanner:
    global _default
    if _default is None:
        _default = Scanner()
    return _default


def scan(data: Any, **kwargs: Any) -> list[Finding]:
    """Scan text or a JSON-like payload with the default scanner (patterns only)."""
    return _scanner().scan(data, **kwargs)


def scan_batch(items: Any, **kwargs: Any) -> Any:
    """Stream over many records with the default scanner."""
    return _scanner().scan_batch(items, **kwargs)
