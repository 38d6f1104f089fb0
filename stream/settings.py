"""Environment-driven settings of a worker (CLI flags override the environment)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


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

    broker: str = field(default_factory=lambda: os.environ.get("PIPLWATCH_BROKER", "kafka://127.0.0.1:9092"))
    app_id: str = field(default_factory=lambda: os.environ.get("PIPLWATCH_APP_ID", "piplwatch"))
    partitions: int = field(default_factory=lambda: int(os.environ.get("PIPLWATCH_PARTITIONS", "4")))
    state_dir: Path = field(default_factory=lambda: Path(os.environ.get("PIPLWATCH_STATE_DIR", ".piplwatch/state")))
    web_bind: str = field(default_factory=lambda: os.environ.get("PIPLWATCH_WEB_BIND", "127.0.0.1"))
    web_port: int = field(default_factory=lambda: int(os.environ.get("PIPLWATCH_WEB_PORT", "9464")))
    hmac_key_file: str | None = field(default_factory=lambda: os.environ.get("PIPLWATCH_HMAC_KEY_FILE"))
    max_message_bytes: int = field(
        default_factory=lambda: int(os.environ.get("PIPLWATCH_MAX_MESSAGE_BYTES", str(8 << 20)))
    )
    #: the largest record piplwatch produces (verdicts, alerts, dead letters, counter updates): keep it under the
    #: brokers' and topics' max.message.bytes (Apache Kafka's default is 1,048,588)
    max_output_bytes: int = field(default_factory=lambda: int(os.environ.get("PIPLWATCH_MAX_OUTPUT_BYTES", "1000000")))
    #: transfers declaring more records than this are dead-lettered (record_count_too_large)
    max_record_count: int = field(default_factory=lambda: int(os.environ.get("PIPLWATCH_MAX_RECORD_COUNT", "10000000")))
    ner: bool = field(default_factory=lambda: os.environ.get("PIPLWATCH_NER", "1") != "0")
    detector_config: str | None = field(default_factory=lambda: os.environ.get("PIPLWATCH_DETECTOR_CONFIG"))
    security_protocol: str = field(default_factory=lambda: os.environ.get("PIPLWATCH_SECURITY_PROTOCOL", "PLAINTEXT"))
    sasl_mechanism: str | None = field(default_factory=lambda: os.environ.get("PIPLWATCH_SASL_MECHANISM"))
    sasl_username: str | None = field(default_factory=lambda: os.environ.get("PIPLWATCH_SASL_USERNAME"))
    sasl_password: str | None = field(default_factory=lambda: os.environ.get("PIPLWATCH_SASL_PASSWORD"))
    ssl_cafile: str | None = field(default_factory=lambda: os.environ.get("PIPLWATCH_SSL_CAFILE"))
    rebuild_state: bool = field(default_factory=lambda: os.environ.get("PIPLWATCH_REBUILD_STATE", "0") == "1")
    print_alerts: bool = False
    topics: Topics = field(default_factory=Topics)

    @property
    def bootstrap(self) -> str:
        """``host:port[,host:port]`` for plain Kafka clients."""
        return ",".join(u.split("://", 1)[-1] for u in self.broker.split(","))

    def kafka_python_kwargs(self) -> dict:
        """TLS/SASL options for kafka-python clients."""
        kw: dict = {"security_protocol": self.security_protocol}
        if self.sasl_mechanism:
            kw.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        if self.ssl_cafile:
            kw["ssl_cafile"] = self.ssl_cafile
        return kw

    def aiokafka_kwargs(self) -> dict:
        """TLS/SASL options for aiokafka clients (the materializer)."""
        kw: dict = {"security_protocol": self.security_protocol}
        if self.sasl_mechanism:
            kw.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        if self.ssl_cafile:
            import ssl

            kw["ssl_context"] = ssl.create_default_context(cafile=self.ssl_cafile)
        return kw
