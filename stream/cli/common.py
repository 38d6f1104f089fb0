"""What every subcommand shares: argument types with one-line errors, the Kafka connection options, settings."""

from __future__ import annotations

import argparse
import math
import os
import signal
from typing import Any

DEFAULT_PORT = 9092


def bounded(cast: type, lo: float | None = None, hi: float | None = None, what: str = "a number") -> Any:
    """An argparse type: ``cast(text)`` within [lo, hi], with a one-line error otherwise."""

    def parse(text: str) -> Any:
        try:
            v = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if isinstance(v, float) and not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}"
            raise argparse.ArgumentTypeError(f"must be {rng}: {text}")
        return v

    return parse


def broker_url(text: str) -> str:
    """An argparse type: ``HOST:PORT`` or ``kafka://HOST:PORT``, as a Faust broker URL."""
    if "://" not in text:
        text = "kafka://" + text
    if not text.startswith(("kafka://", "aiokafka://")):
        raise argparse.ArgumentTypeError(f"expected kafka://HOST:PORT, got {text!r}")
    return text


positive = bounded(float, 0.0)
port = bounded(int, 1, 65535, "a port number")


def kafka_options(p: argparse.ArgumentParser) -> None:
    """The Kafka connection options of every subcommand that talks to a broker."""
    p.add_argument(
        "--broker",
        type=broker_url,
        default=os.environ.get("PIPLWATCH_BROKER", f"kafka://127.0.0.1:{DEFAULT_PORT}"),
        help="Kafka bootstrap, kafka://HOST:PORT (env PIPLWATCH_BROKER)",
    )
    p.add_argument(
        "--security-protocol",
        choices=("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
        default=None,
        help="how to reach the brokers (env PIPLWATCH_SECURITY_PROTOCOL; default PLAINTEXT)",
    )
    p.add_argument(
        "--sasl-mechanism",
        choices=("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
        default=None,
        help="SASL mechanism (env PIPLWATCH_SASL_MECHANISM)",
    )
    p.add_argument("--sasl-username", default=None, help="SASL user (env PIPLWATCH_SASL_USERNAME)")
    p.add_argument(
        "--sasl-password-file",
        default=None,
        help="file holding the SASL password (env PIPLWATCH_SASL_PASSWORD_FILE; or PIPLWATCH_SASL_PASSWORD)",
    )
    p.add_argument(
        "--ssl-cafile", default=None, help="CA bundle that signed the brokers' certificates (env PIPLWATCH_SSL_CAFILE)"
    )
    p.add_argument(
        "--ssl-certfile", default=None, help="client certificate for mutual TLS (env PIPLWATCH_SSL_CERTFILE)"
    )
    p.add_argument("--ssl-keyfile", default=None, help="client key for mutual TLS (env PIPLWATCH_SSL_KEYFILE)")


def settings_from(args: Any, **over: Any) -> Any:
    """``Settings`` from the environment, the parsed Kafka options and ``over``."""
    from stream.settings import Settings

    kw: dict[str, Any] = {"broker": args.broker}
    for name in (
        "security_protocol",
        "sasl_mechanism",
        "sasl_username",
        "sasl_password_file",
        "ssl_cafile",
        "ssl_certfile",
        "ssl_keyfile",
    ):
        if getattr(args, name, None):
            kw[name] = getattr(args, name)
    kw.update(over)
    return Settings(**kw)


def raise_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt so `with`/`finally` blocks stop the processes we started."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
