"""Environment-driven settings of a worker (CLI flags override the environment).

Every variable a worker reads is listed in ``ENVIRONMENT`` (``piplwatch worker --help`` prints it). ``Settings``
parses them once; ``Settings.validate()`` checks every local file and value before anything contacts Kafka, so a
missing key file is one line at once, not a bare ``[Errno 2]`` after a 30 s wait.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from stream.environment import ENVIRONMENT  # noqa: F401 - re-exported: the worker's environment
from stream.security import KafkaSecurity, SettingsError


def _env(name: str, default: str | None = None) -> str | None:
    v = os.environ.get(name)
    return v if v not in (None, "") else default


def _env_int(name: str, default: int, lo: int = 0) -> int:
    text = _env(name)
    if text is None:
        return default
    try:
        v = int(text)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {text!r}") from None
    if v < lo:
        raise SettingsError(f"{name} must be at least {lo}, not {v}")
    return v


NER_MODES = ("gated", "full", "off")


def _env_ner(name: str, default: str) -> str:
    text = _env(name)
    if text is None:
        return default
    mode = {"1": "gated", "true": "gated", "yes": "gated", "on": "gated", "0": "off", "false": "off", "no": "off"}.get(
        text.lower(), text.lower()
    )
    if mode not in NER_MODES:
        raise SettingsError(f"{name} must be one of {', '.join(NER_MODES)}, not {text!r}")
    return mode


def _env_flag(name: str, default: bool = False) -> bool:
    text = _env(name)
    if text is None:
        return default
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0, not {text!r}")


@dataclass(frozen=True)
class Topics:
    """Topic names: the public contract (schemas in ``stream/schemas``)."""

    transfers: str = "piplwatch.transfers"
    agreements: str = "piplwatch.agreements"
    consents: str = "piplwatch.consents"
    verdicts: str = "piplwatch.verdicts"
    alerts: str = "piplwatch.alerts"
    dlq: str = "piplwatch.transfers.dlq"
    counters: str = "piplwatch.counters"  # internal: workers share their distinct-subject counter updates here

    def all(self) -> list[str]:
        """Every topic the worker reads or writes."""
        return [self.transfers, self.agreements, self.consents, self.verdicts, self.alerts, self.dlq, self.counters]


@dataclass(frozen=True)
class Settings:
    """Everything a worker needs to run."""

    broker: str = field(default_factory=lambda: _env("PIPLWATCH_BROKER", "kafka://127.0.0.1:9092") or "")
    app_id: str = field(default_factory=lambda: _env("PIPLWATCH_APP_ID", "piplwatch") or "piplwatch")
    partitions: int = field(default_factory=lambda: _env_int("PIPLWATCH_PARTITIONS", 4, 1))
    #: None: min(3, the number of brokers) when a worker creates a topic
    replication_factor: int | None = field(
        default_factory=lambda: _env_int("PIPLWATCH_REPLICATION_FACTOR", 0, 0) or None
    )
    state_dir: Path = field(default_factory=lambda: Path(_env("PIPLWATCH_STATE_DIR", ".piplwatch/state") or "."))
    web_bind: str = field(default_factory=lambda: _env("PIPLWATCH_WEB_BIND", "127.0.0.1") or "127.0.0.1")
    web_port: int = field(default_factory=lambda: _env_int("PIPLWATCH_WEB_PORT", 9464, 1))
    web_auth_file: str | None = field(default_factory=lambda: _env("PIPLWATCH_WEB_AUTH_FILE"))
    hmac_key_file: str | None = field(default_factory=lambda: _env("PIPLWATCH_HMAC_KEY_FILE"))
    max_message_bytes: int = field(default_factory=lambda: _env_int("PIPLWATCH_MAX_MESSAGE_BYTES", 8 << 20, 1024))
    #: the largest record piplwatch produces (verdicts, alerts, dead letters, counter updates): keep it under the
    #: brokers' and topics' max.message.bytes (Apache Kafka's default is 1,048,588)
    max_output_bytes: int = field(default_factory=lambda: _env_int("PIPLWATCH_MAX_OUTPUT_BYTES", 1_000_000, 16_384))
    #: transfers declaring more records than this are dead-lettered (record_count_too_large)
    max_record_count: int = field(default_factory=lambda: _env_int("PIPLWATCH_MAX_RECORD_COUNT", 10_000_000, 1))
    #: which text reaches the NER model: gated (cue windows; the worker's default), full (every Chinese free-text
    #: leaf) or off; PIPLWATCH_NER=1/0 still mean gated/off
    ner: str = field(default_factory=lambda: _env_ner("PIPLWATCH_NER", "gated"))
    detector_config: str | None = field(default_factory=lambda: _env("PIPLWATCH_DETECTOR_CONFIG"))
    security_protocol: str = field(default_factory=lambda: _env("PIPLWATCH_SECURITY_PROTOCOL", "PLAINTEXT") or "")
    sasl_mechanism: str | None = field(default_factory=lambda: _env("PIPLWATCH_SASL_MECHANISM"))
    sasl_username: str | None = field(default_factory=lambda: _env("PIPLWATCH_SASL_USERNAME"))
    sasl_password: str | None = field(default_factory=lambda: _env("PIPLWATCH_SASL_PASSWORD"), repr=False)
    sasl_password_file: str | None = field(default_factory=lambda: _env("PIPLWATCH_SASL_PASSWORD_FILE"))
    ssl_cafile: str | None = field(default_factory=lambda: _env("PIPLWATCH_SSL_CAFILE"))
    ssl_certfile: str | None = field(default_factory=lambda: _env("PIPLWATCH_SSL_CERTFILE"))
    ssl_keyfile: str | None = field(default_factory=lambda: _env("PIPLWATCH_SSL_KEYFILE"))
    rebuild_state: bool = field(default_factory=lambda: _env_flag("PIPLWATCH_REBUILD_STATE"))
    #: run even when the consents or agreements topic deletes records by time or size (not recommended)
    allow_deleting_topics: bool = field(default_factory=lambda: _env_flag("PIPLWATCH_ALLOW_DELETING_TOPICS"))
    print_alerts: bool = False
    topics: Topics = field(default_factory=Topics)

    @property
    def bootstrap(self) -> str:
        """``host:port[,host:port]`` for plain Kafka clients."""
        return ",".join(u.split("://", 1)[-1] for u in self.broker.split(","))

    @cached_property
    def security(self) -> KafkaSecurity:
        """How every client reaches the brokers (the password read from its file when one is given)."""
        password = self.sasl_password
        if self.sasl_password_file:
            try:
                password = Path(self.sasl_password_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(f"SASL password file {self.sasl_password_file}: {exc.strerror}") from None
        return KafkaSecurity(
            protocol=self.security_protocol,
            cafile=self.ssl_cafile,
            certfile=self.ssl_certfile,
            keyfile=self.ssl_keyfile,
            sasl_mechanism=self.sasl_mechanism,
            sasl_username=self.sasl_username,
            sasl_password=password,
        )

    @cached_property
    def ssl_context(self) -> Any:
        """One TLS context shared by every client of this process (None without TLS)."""
        return self.security.ssl_context()

    def faust_credentials(self) -> Any:
        return self.security.faust_credentials(self.ssl_context)

    def kafka_python_kwargs(self) -> dict:
        """TLS/SASL options for kafka-python clients."""
        return self.security.kafka_python_kwargs(self.ssl_context)

    def aiokafka_kwargs(self) -> dict:
        """TLS/SASL options for aiokafka clients (the materializer, the output producer, the health probe)."""
        return self.security.aiokafka_kwargs(self.ssl_context)

    @property
    def web_on_loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.web_bind).is_loopback
        except ValueError:
            return self.web_bind == "localhost"

    def validate(self, *, need_key: bool = True) -> None:
        """Check every local setting and file before anything contacts Kafka; ``SettingsError`` in one line."""
        from detectors.redact import load_hmac_key

        if not self.broker or "://" not in self.broker:
            raise SettingsError(f"broker must be kafka://HOST:PORT, not {self.broker!r}")
        self.security.check()
        if need_key:
            if not self.hmac_key_file and not _env("PIPLWATCH_HMAC_KEY"):
                raise SettingsError(
                    "set --hmac-key-file or PIPLWATCH_HMAC_KEY_FILE (consents are joined through a keyed HMAC; every "
                    "worker needs the same key)"
                )
            try:
                load_hmac_key(self.hmac_key_file)
            except (OSError, ValueError) as exc:
                raise SettingsError(f"HMAC key: {getattr(exc, 'strerror', None) or exc}") from None
        if self.detector_config:
            from detectors import ConfigError, DetectorConfig

            try:
                DetectorConfig.load(self.detector_config)
            except (OSError, ConfigError) as exc:
                raise SettingsError(f"detector config {self.detector_config}: {exc}") from None
        if not self.web_on_loopback:
            if not self.web_auth_file:
                raise SettingsError(
                    f"the web endpoint binds {self.web_bind}, beyond loopback: set PIPLWATCH_WEB_AUTH_FILE (or "
                    "--web-auth-file) to a file holding 'user:password' or a bearer token"
                )
            from stream.web.guard import load_web_auth

            load_web_auth(self.web_auth_file)
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            probe = self.state_dir / ".piplwatch-write-check"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise SettingsError(f"state dir {self.state_dir} is not writable ({exc.strerror})") from None
