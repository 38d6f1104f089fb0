"""piplwatch detectors: find Chinese personal information in text and structured payloads.

A pure library (no Faust, Kafka or Prometheus). Public API::

    from detectors import scan, Scanner, Finding
    scan("身份证号11010519491231002X，手机13812345678")

Its names load on first use (``import detectors`` alone compiles nothing), so a command that only prints its help
starts fast.
"""

from __future__ import annotations

from importlib import import_module, metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
_LAZY = {
    "Check": "detectors.base",
    "Detector": "detectors.base",
    "Finding": "detectors.base",
    "Pattern": "detectors.base",
    "ConfigError": "detectors.config",
    "DetectorConfig": "detectors.config",
    "Scanner": "detectors.engine",
    "build_registry": "detectors.registry",
    "entity_names": "detectors.registry",
}
try:  # the one version string is pyproject.toml's
    __version__ = metadata.version("piplwatch")
except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree that was never installed
    __version__ = "0+unknown"


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'detectors' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


_default: Scanner | None = None


def _scanner() -> Scanner:
    global _default
    if _default is None:
        from detectors.engine import Scanner

        _default = Scanner()
    return _default


def scan(data: Any, **kwargs: Any) -> list[Finding]:
    """Scan text or a JSON-like payload with the default scanner (patterns only)."""
    return _scanner().scan(data, **kwargs)


def scan_batch(items: Any, **kwargs: Any) -> Any:
    """Stream over many records with the default scanner."""
    return _scanner().scan_batch(items, **kwargs)
