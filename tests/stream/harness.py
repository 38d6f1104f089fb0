"""Start the real embedded broker and real worker processes for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer

from stream.dev.broker import free_port
from stream.settings import Topics

ROOT = Path(__file__).resolve().parents[2]
TOPICS = Topics()


class WorkerProc:
    """A ``piplwatch worker`` subprocess."""

    def __init__(
        self, bootstrap: str, workdir: Path, key_file: Path, *, web_port: int | None = None, extra: tuple[str, ...] = ()
    ) -> None:
        self.bootstrap = bootstrap
        self.workdir = workdir
        self.key_file = key_file
        self.web_port = web_port or free_port()
        self.extra = extra
        self.log = workdir / f"worker-{self.web_port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> WorkerProc:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        cmd = [
            sys.executable,
            "-m",
            "stream",
            "worker",
            "--broker",
            f"kafka://{self.bootstrap}",
            "--hmac-key-file",
            str(self.key_file),
            "--web-port",
            str(self.web_port),
            "--state-dir",
            str(self.workdir / f"state-{self.web_port}"),
            "--partitions",
            "2",
            "--no-ner",
            "--print-alerts",
            *self.extra,
        ]
        self._fh = open(self.log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._fh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/healthz", timeout=1) as r:
                    if json.load(r).get("ready"):
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("worker did not become ready")

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=5) as r:
            return r.read().decode()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._fh.close()


def producer(bootstrap: str) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, max_request_size=64 << 20, linger_ms=5)


def send_json(p: KafkaProducer, topic: str, key: str, obj: Any) -> None:
    p.send(topic, key=key.encode(), value=orjson.dumps(obj))


def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list], bool],
    timeout: float = 60.0,
    quiet: int = 0,
    **kafka: Any,
) -> list:
    """Read a topic from the beginning until ``until(records)`` holds or the timeout passes (``kafka``: security
    options for the consumer). ``quiet``: once it holds, go on reading until that many polls in a row (250 ms
    each) bring nothing, so that what comes after the records it waited for is read too."""
    c = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        fetch_max_bytes=64 << 20,
        max_partition_fetch_bytes=64 << 20,
        **kafka,
    )
    out: list = []
    deadline = time.monotonic() + timeout
    idle = 0
    try:
        while time.monotonic() < deadline:
            batch = c.poll(timeout_ms=250)
            got = [m for msgs in batch.values() for m in msgs]
            out.extend(got)
            idle = 0 if got else idle + 1
            if quiet and until(out):
                if idle >= quiet:
                    break
                continue
            if until(out) and (got or idle >= 1):
                break
            if not got and idle >= 4 and until(out):
                break
    finally:
        c.close()
    return out


def transfer(
    tid: str, payload: Any, *, rid: str = "r1", country: str = "CN", purpose: str = "marketing", **kw: Any
) -> dict:
    import datetime as dt

    rec = {
        "schema": "piplwatch.transfer/v1",
        "transfer_id": tid,
        "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
        "platform": "test",
        "source_system": "e2e",
        "flow": "push",
        "channel": "api",
        "recipient": {"id": rid, "name": rid, "country": country},
        "purpose": purpose,
        "payload": payload,
        "record_count": len(payload) if isinstance(payload, list) else 1,
    }
    rec.update(kw)
    return rec


HEX_RUN = __import__("re").compile(r"[0-9a-f]{24,}")
STATE_HEX_RUN = __import__("re").compile(r"[0-9a-f]{8,}")
DIRECT = {"CN_MOBILE", "CN_RESIDENT_ID", "CN_BANK_CARD", "EMAIL_ADDRESS"}


def raw_identifier_leaks(scanner: Any, text: str, *, binary_state: bool = False) -> list[tuple[str, str]]:
    """Direct identifiers our own detectors find in ``text`` that are not masked.

    Keyed HMACs (32 hex characters) are replaced first: a random hex string sometimes contains an 11-digit run that
    looks like a mobile number, and it is exactly the form in which piplwatch is allowed to keep identifiers.
    In RocksDB files (``binary_state``) keys are prefix-compressed, so HMACs are stored as fragments: every hex-like
    run is masked there, and the callers' exact check that no known raw value occurs is what guards those files.
    """
    clean = (STATE_HEX_RUN if binary_state else HEX_RUN).sub(lambda m: "#" * len(m.group()), text)
    return [(f.entity_type, f.preview) for f in scanner.scan(clean) if not f.masked and f.entity_type in DIRECT]
