"""Kafka security: one description of how to reach the brokers, mapped identically into Faust, aiokafka and
kafka-python, and a pre-flight check that turns a refused connection into one clear line.

Supported: ``PLAINTEXT``; ``SSL`` with the system CA bundle or a given one, optionally with a client certificate;
``SASL_PLAINTEXT`` and ``SASL_SSL`` with ``PLAIN``, ``SCRAM-SHA-256`` or ``SCRAM-SHA-512``. Combinations that would
silently fall back to plaintext (TLS files with a plaintext protocol, a SASL mechanism with a non-SASL protocol) or
send a password nowhere (SASL without one) are refused.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
PREFLIGHT_TIMEOUT_S = 10.0


class SettingsError(ValueError):
    """A configuration that cannot work, said in one line (the CLI prints it and exits 2)."""


@dataclass(frozen=True)
class KafkaSecurity:
    """How to reach the brokers. Files are paths; the password never appears in ``repr``."""

    protocol: str = "PLAINTEXT"
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def check(self) -> None:
        """Raise ``SettingsError`` for a combination that cannot work or would not be what it says."""
        if self.protocol not in PROTOCOLS:
            raise SettingsError(f"security protocol must be one of {', '.join(PROTOCOLS)}, not {self.protocol!r}")
        if not self.tls and (self.cafile or self.certfile or self.keyfile):
            raise SettingsError(
                f"TLS files were given but the security protocol is {self.protocol}: the connection would not be "
                "encrypted (use SSL or SASL_SSL)"
            )
        if not self.sasl and (self.sasl_mechanism or self.sasl_username or self.sasl_password):
            raise SettingsError(
                f"SASL settings were given but the security protocol is {self.protocol}: they would be ignored "
                "(use SASL_PLAINTEXT or SASL_SSL)"
            )
        if self.sasl:
            if self.sasl_mechanism not in MECHANISMS:
                raise SettingsError(f"{self.protocol} needs a SASL mechanism: one of {', '.join(MECHANISMS)}")
            if not self.sasl_username or not self.sasl_password:
                raise SettingsError(
                    f"{self.protocol} needs a SASL username and a password (PIPLWATCH_SASL_PASSWORD_FILE or "
                    "PIPLWATCH_SASL_PASSWORD)"
                )
        if self.keyfile and not self.certfile:
            raise SettingsError("a client key needs its certificate (--ssl-certfile)")
        for what, path in (
            ("CA bundle", self.cafile),
            ("client certificate", self.certfile),
            ("client key", self.keyfile),
        ):
            if path and not os.access(path, os.R_OK):
                raise SettingsError(f"{what} {path} cannot be read")
        if self.tls:
            self.ssl_context()  # a bad bundle or a key that does not match its certificate fails here, not later

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context every client uses (None without TLS): certificates verified against the given CA bundle,
        else the system's; hostnames checked; the client certificate loaded when given."""
        if not self.tls:
            return None
        try:
            ctx = ssl.create_default_context(cafile=self.cafile)
            if self.certfile:
                ctx.load_cert_chain(self.certfile, self.keyfile)
        except (ssl.SSLError, OSError) as exc:
            raise SettingsError(f"TLS files unusable: {exc}") from None
        return ctx

    def faust_credentials(self, ctx: ssl.SSLContext | None) -> Any:
        """Faust's ``broker_credentials`` (None for PLAINTEXT)."""
        import faust

        if self.sasl:
            return faust.SASLCredentials(
                username=self.sasl_username, password=self.sasl_password, ssl_context=ctx, mechanism=self.sasl_mechanism
            )
        if self.tls:
            return faust.SSLCredentials(ctx)
        return None

    def aiokafka_kwargs(self, ctx: ssl.SSLContext | None) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients (what Faust passes its own clients, field for field)."""
        kw: dict[str, Any] = {"security_protocol": self.protocol}
        if ctx is not None:
            kw["ssl_context"] = ctx
        if self.sasl:
            kw.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        return kw

    def kafka_python_kwargs(self, ctx: ssl.SSLContext | None) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients (admin, consents import, simulator)."""
        return self.aiokafka_kwargs(ctx)


def _hosts(bootstrap: str) -> list[tuple[str, int]]:
    out = []
    for part in bootstrap.split(","):
        host, _, port = part.strip().rpartition(":")
        out.append((host.strip("[]") or "localhost", int(port or 9092)))
    return out


async def _preflight(bootstrap: str, security: KafkaSecurity, ctx: ssl.SSLContext | None, timeout: float) -> None:
    from aiokafka import AIOKafkaClient

    errors = []
    reached = None
    for host, port in _hosts(bootstrap):
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=ctx, server_hostname=host if ctx else None), timeout
            )
            writer.close()
            reached = f"{host}:{port}"
            break
        except ssl.SSLCertVerificationError as exc:
            raise SettingsError(
                f"TLS: {host}:{port} presented a certificate that is not trusted ({exc.verify_message}); give the "
                "CA bundle that signed it with --ssl-cafile / PIPLWATCH_SSL_CAFILE"
            ) from None
        except ssl.SSLError as exc:
            raise SettingsError(
                f"TLS handshake with {host}:{port} failed ({exc.reason or exc}): is it a TLS listener, and does it "
                "accept this client certificate?"
            ) from None
        except (TimeoutError, OSError) as exc:
            errors.append(f"{host}:{port} ({type(exc).__name__}: {exc})" if str(exc) else f"{host}:{port} (timeout)")
    if reached is None:
        raise SettingsError(f"cannot reach Kafka at {', '.join(errors)}")
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000), **security.aiokafka_kwargs(ctx)
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
    except Exception as exc:  # noqa: BLE001 - every failure here becomes the one line the operator needs
        if security.sasl:
            raise SettingsError(
                f"SASL authentication as {security.sasl_username!r} ({security.sasl_mechanism}) to {reached} was "
                f"refused or failed ({type(exc).__name__}); check the username and password"
            ) from None
        if security.tls:
            raise SettingsError(
                f"Kafka at {reached} closed the TLS connection at the first request ({type(exc).__name__}): does the "
                "broker require a client certificate (--ssl-certfile/--ssl-keyfile)?"
            ) from None
        raise SettingsError(
            f"Kafka at {reached} did not answer a metadata request ({type(exc).__name__}): is it a TLS or SASL "
            "listener (--security-protocol)?"
        ) from None
    finally:
        await client.close()


def preflight(bootstrap: str, security: KafkaSecurity, *, timeout: float = PREFLIGHT_TIMEOUT_S) -> None:
    """Reach a broker the way every client will (TCP, the TLS handshake, SASL, one metadata request) and raise
    ``SettingsError`` with the reason in one line if it cannot: an untrusted certificate, a wrong password or a
    wrong port fails in seconds instead of after retries and a traceback."""
    ctx = security.ssl_context()
    quiet = logging.getLogger("aiokafka")
    was = quiet.disabled
    quiet.disabled = True  # its connection errors are what the one line says
    try:
        asyncio.run(_preflight(bootstrap, security, ctx, timeout))
    finally:
        quiet.disabled = was


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
