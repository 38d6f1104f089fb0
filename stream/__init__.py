"""piplwatch stream monitor: Faust agents, the authorization rule engine, metrics and the CLI."""

__version__ = "0.1.0"
