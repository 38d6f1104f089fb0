"""piplwatch stream monitor: Faust agents, the authorization rule engine, metrics and the CLI."""

from detectors import __version__

__all__ = ["__version__"]
