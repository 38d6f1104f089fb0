"""Detector configuration from a TOML or YAML file.

```toml
[detectors]
min_score = 0.5
disabled = ["CN_QQ"]            # or: enabled = ["CN_RESIDENT_ID", "CN_MOBILE"]
ner = true
[detectors.thresholds]
CN_LANDLINE = 0.7
[detectors.allow_list]          # normalized values never reported (company hotlines, test cards)
values = ["4008001234"]
[detectors.deny_list]           # values always reported, per entity
CN_MOBILE = ["13800000000"]
```
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MIN_SCORE = 0.5


class ConfigError(ValueError):
    """The configuration file is unreadable or invalid."""


@dataclass(frozen=True)
class DetectorConfig:
    """What to detect and how strictly."""

    min_score: float = DEFAULT_MIN_SCORE
    enabled: frozenset[str] | None = None
    disabled: frozenset[str] = frozenset()
    thresholds: dict[str, float] = field(default_factory=dict)
    allow_list: frozenset[str] = frozenset()
    deny_list: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ner: bool = True

    def threshold(self, entity: str) -> float:
        """The minimum score for ``entity``."""
        return self.thresholds.get(entity, self.min_score)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> DetectorConfig:
        """Build from the ``[detectors]`` table."""
        from detectors.registry import entity_names
        from detectors.taxonomy import NER_LABELS

        known = set(entity_names()) | set(NER_LABELS)
        d = data.get("detectors", data)
        if not isinstance(d, dict):
            raise ConfigError("[detectors] must be a table")
        for key in ("enabled", "disabled"):
            unknown = set(d.get(key) or ()) - known
            if unknown:
                raise ConfigError(f"unknown entity in {key}: {', '.join(sorted(unknown))}")
        try:
            thresholds = {str(k): float(v) for k, v in (d.get("thresholds") or {}).items()}
            min_score = float(d.get("min_score", DEFAULT_MIN_SCORE))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"thresholds must be numbers: {exc}") from exc
        allow = d.get("allow_list") or {}
        allow_values = allow.get("values", []) if isinstance(allow, dict) else allow
        deny = {str(k): tuple(str(x) for x in v) for k, v in (d.get("deny_list") or {}).items()}
        return cls(
            min_score=min_score,
            enabled=frozenset(d["enabled"]) if d.get("enabled") else None,
            disabled=frozenset(d.get("disabled") or ()),
            thresholds=thresholds,
            allow_list=frozenset(str(v).replace(" ", "").replace("-", "").upper() for v in allow_values),
            deny_list=deny,
            ner=bool(d.get("ner", True)),
        )

    @classmethod
    def load(cls, path: str | Path) -> DetectorConfig:
        """Load a ``.toml``, ``.yaml`` or ``.yml`` file."""
        p = Path(path)
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{p}: {exc.strerror or exc}") from exc
        try:
            if p.suffix in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(raw) or {}
            else:
                data = tomllib.loads(raw.decode("utf-8"))
        except Exception as exc:
            raise ConfigError(f"{p}: not valid {p.suffix.lstrip('.') or 'TOML'}: {exc}") from exc
        return cls.from_mapping(data)
