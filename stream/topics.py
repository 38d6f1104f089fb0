"""Create the topics piplwatch reads and writes (missing ones only)."""

from __future__ import annotations

import logging
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from stream.settings import Settings

logger = logging.getLogger(__name__)
#: the shared counter updates must outlive the longest counter (a year-to-date set): 400 days, not Kafka's 7
COUNTER_TOPIC_CONFIG = {"retention.ms": str(400 * 86400 * 1000)}


def ensure_topics(settings: Settings, *, timeout: float = 30.0) -> list[str]:
    """Create missing topics with ``settings.partitions`` partitions; return the ones created."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=settings.bootstrap,
                client_id="piplwatch-admin",
                request_timeout_ms=10000,
                **settings.kafka_python_kwargs(),
            )
            break
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise ConnectionError(f"cannot reach Kafka at {settings.bootstrap}: {exc}") from None
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in settings.topics.all() if t not in existing]
        if missing:
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            t,
                            settings.partitions,
                            1,
                            topic_configs=COUNTER_TOPIC_CONFIG if t == settings.topics.counters else {},
                        )
                        for t in missing
                    ]
                )
            except TopicAlreadyExistsError:
                pass
        return missing
    finally:
        admin.close()
