"""What a worker knows about its own health: broker connectivity, event-loop stalls, and logs that stay readable.

- ``KafkaHealth`` probes the brokers (a metadata request with a timeout) every ``PROBE_INTERVAL_S`` and hears of
  every successful or failed produce; ``piplwatch_kafka_up`` and ``piplwatch_kafka_last_contact_timestamp_seconds``
  export it, and readiness (``/healthz``) requires a contact within ``STALE_AFTER_S``.
- ``LoopMonitor`` measures how late the event loop wakes up (``piplwatch_event_loop_lag_seconds``): judging runs
  off the loop, so this stays in milliseconds even while a big export is judged.
- ``RateLimitFilter`` keeps a broker outage from writing thousands of identical ERROR lines: the first of a kind is
  logged, then at most one per ``interval`` with the number suppressed since.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

logger = logging.getLogger(__name__)

PROBE_INTERVAL_S = 2.0
PROBE_TIMEOUT_S = 3.0
STALE_AFTER_S = 10.0
LOOP_TICK_S = 0.1


class KafkaHealth:
    """Broker connectivity as this worker sees it."""

    def __init__(self, metrics: Any = None) -> None:
        self.metrics = metrics
        self.last_contact: float | None = None  # wall clock
        self._mono: float | None = None
        self._down_logged = False

    @property
    def up(self) -> bool:
        """A successful contact within ``STALE_AFTER_S``."""
        return self._mono is not None and time.monotonic() - self._mono <= STALE_AFTER_S

    def produced(self) -> None:
        """A request the broker answered (a produce acknowledged, a probe answered)."""
        self.last_contact = time.time()
        self._mono = time.monotonic()
        if self._down_logged:
            logger.warning("Kafka reachable again")
            self._down_logged = False
        self._export()

    def failed(self) -> None:
        """A request the broker did not answer."""
        if not self.up and not self._down_logged:
            logger.error("Kafka unreachable: no broker answered for %.0f s", STALE_AFTER_S)
            self._down_logged = True
        self._export()

    def _export(self) -> None:
        if self.metrics is not None:
            self.metrics.kafka_up.set(1 if self.up else 0)
            if self.last_contact is not None:
                self.metrics.kafka_last_contact.set(self.last_contact)

    async def probe(self, client: Any) -> None:
        """Every ``PROBE_INTERVAL_S``: one metadata request (``client``: an aiokafka client), bounded by a timeout."""
        while True:
            try:
                await asyncio.wait_for(client.fetch_all_metadata(), PROBE_TIMEOUT_S)
                self.produced()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - any failure to answer is "down"; the reason is in aiokafka's log
                self.failed()
            await asyncio.sleep(PROBE_INTERVAL_S)


class LoopMonitor:
    """How late the event loop wakes from a ``LOOP_TICK_S`` sleep: the longest time anything blocked it."""

    def __init__(self, metrics: Any = None) -> None:
        self.metrics = metrics
        self.max_lag = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(LOOP_TICK_S)
            lag = max(0.0, loop.time() - t0 - LOOP_TICK_S)
            self.max_lag = max(self.max_lag, lag)
            if self.metrics is not None:
                self.metrics.loop_lag.observe(lag)


class RateLimitFilter(logging.Filter):
    """Passes the first record of each (logger, message template) and then at most one per ``interval`` seconds,
    noting how many were suppressed in between."""

    def __init__(self, interval: float = 10.0, min_level: int = logging.WARNING) -> None:
        super().__init__()
        self.interval = interval
        self.min_level = min_level
        self._seen: dict[tuple[str, Any], list[float]] = {}  # key -> [last emitted, suppressed since]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.min_level:
            return True
        key = (record.name, record.msg)
        now = time.monotonic()
        entry = self._seen.get(key)
        if entry is None:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[key] = [now, 0]
            return True
        if now - entry[0] < self.interval:
            entry[1] += 1
            return False
        if entry[1]:
            record.msg = f"{record.msg} ({int(entry[1])} similar suppressed in the last {now - entry[0]:.0f} s)"
        entry[0], entry[1] = now, 0
        return True


def install_log_rate_limit(interval: float = 10.0) -> RateLimitFilter:
    """Attach one ``RateLimitFilter`` to every handler of the root logger (Faust configures them at start)."""
    flt = RateLimitFilter(interval)
    for handler in logging.getLogger().handlers:
        handler.addFilter(flt)
    return flt
