"""The Faust application: one thin agent that hands each batch of transfers to the worker's ``Runtime``.

``create_app(settings)`` returns the app and its ``Runtime`` (``stream.runtime``); ``run_app`` runs any such app
as a Faust worker until it is stopped (the worker command and the demo both use it). Agents stay thin; all
decisions live in ``stream.judge`` and ``stream.authz``.
"""

from __future__ import annotations

import sys
from typing import Any

import faust

from stream.runtime import Runtime
from stream.settings import Settings

#: Faust 0.15 hard-codes fetch_max_wait_ms=1500 for worker consumers. A broker that does not answer a
#: long poll when data arrives (the embedded Tansu; measured: median 715 ms, max 1.5 s per message at
#: 1500 ms, 3 ms at 50 ms) then adds that wait to every transfer. Apache Kafka answers early either way.
FETCH_MAX_WAIT_MS = 50
#: Transfers judged per agent batch, and the longest a batch waits to fill (adds at most this to latency).
BATCH_MAX = 256
BATCH_WITHIN_S = 0.01


def _bound_fetch_wait(ms: int) -> None:
    from faust.transport.drivers import aiokafka as drv

    original = drv.AIOKafkaConsumerThread._create_worker_consumer  # noqa: SLF001 - see FETCH_MAX_WAIT_MS
    if getattr(original, "_piplwatch", False):
        return

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = ms  # noqa: SLF001 - read by aiokafka when the fetcher starts
        return consumer

    create._piplwatch = True  # type: ignore[attr-defined]  # noqa: SLF001
    drv.AIOKafkaConsumerThread._create_worker_consumer = create  # type: ignore[method-assign]  # noqa: SLF001


def create_app(settings: Settings) -> tuple[faust.App, Runtime]:
    """Build the Faust app for ``settings``."""
    _bound_fetch_wait(FETCH_MAX_WAIT_MS)
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        broker_credentials=settings.faust_credentials(),
        # Faust's data dir defaults to ./<app id>-data: under the state dir, the only path a worker writes (the image
        # runs as a non-root user on a read-only root filesystem)
        datadir=str(settings.state_dir / "faust"),
        store="memory://",
        broker_session_timeout=6,
        broker_heartbeat_interval=2,
        broker_commit_every=500,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        topic_partitions=settings.partitions,
        web_enabled=False,
        consumer_max_fetch_size=settings.max_message_bytes * 4,
        producer_max_request_size=settings.max_message_bytes * 2,
    )
    transfers = app.topic(
        settings.topics.transfers,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
    )
    runtime = Runtime(settings, app)

    @app.agent(transfers, name="judge_transfers")
    async def judge_transfers(stream: Any) -> None:
        # batches: outputs go out as one record batch per partition, and input offsets are acknowledged only
        # after the broker acknowledged the batch's outputs (Stream.take_events acks after the body returns)
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            await runtime.handle_batch(events)

    @app.task
    async def start_runtime() -> None:
        await runtime.start()

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def stop_runtime(sender: Any, **kwargs: Any) -> None:
        await runtime.stop()

    return app, runtime


def run_app(app: faust.App, *, loglevel: str = "warning") -> int:
    """Run ``app`` as a Faust worker until it is stopped (blocks; SIGINT/SIGTERM stop it); its exit status."""
    from faust.worker import Worker

    worker = Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.spinner = None  # no terminal escape codes in logs and piped output
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def run_worker(settings: Settings, *, loglevel: str = "warning") -> int:
    """Create the topics if missing, then run a worker until stopped."""
    from stream.topics import check_for_worker, ensure_topics

    ensure_topics(settings)
    check_for_worker(settings)
    app, _ = create_app(settings)
    return run_app(app, loglevel=loglevel)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_worker(Settings()))
