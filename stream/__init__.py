"""piplwatch stream monitor: Faust agents, the authorization rule engine, metrics and the CLI."""

from importlib import metadata

try:  # the one version string is pyproject.toml's (detectors reads the same)
    __version__ = metadata.version("piplwatch")
except metadata.PackageNotFoundError:  # pragma: no cover
    __version__ = "0+unknown"

__all__ = ["__version__"]
