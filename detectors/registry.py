"""Discovers detectors: every ``Detector`` subclass defined in a module of ``detectors.patterns``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from detectors import patterns
from detectors.base import Detector


def detector_classes() -> list[type[Detector]]:
    """All concrete detector classes, in a stable order (by entity name)."""
    found: dict[str, type[Detector]] = {}
    for info in pkgutil.iter_modules(patterns.__path__):
        module = importlib.import_module(f"{patterns.__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Detector) and obj.__module__ == module.__name__ and "ENTITY" in vars(obj):
                found[obj.ENTITY] = obj
    return [found[k] for k in sorted(found)]


def build_registry(*, entities: set[str] | None = None, disabled: set[str] | None = None) -> list[Detector]:
    """Instantiate the enabled detectors."""
    out = []
    for cls in detector_classes():
        if entities is not None and cls.ENTITY not in entities:
            continue
        if disabled and cls.ENTITY in disabled:
            continue
        out.append(cls())
    return out


def entity_names() -> list[str]:
    """Every entity type a pattern detector can report."""
    return [c.ENTITY for c in detector_classes()]
