"""The worker as the image runs it: a non-root uid, a read-only root filesystem and working directory, the state
volume the only writable path. Before, Faust created ./piplwatch-data in the working directory and the worker
crash-looped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from stream.dev.broker import EmbeddedBroker, free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "deploy" / "run_as_image.sh"
UID = 10001

pytestmark = [
    pytest.mark.broker,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("unshare"),
        reason="needs root, setpriv and unshare to build the image's sandbox",
    ),
]


def test_image_worker_runs_as_uid_10001_on_a_read_only_root_with_only_its_state_writable() -> None:
    base = Path(tempfile.mkdtemp(prefix="pw-image-"))
    base.chmod(0o755)
    state = base / "state"
    state.mkdir()
    os.chown(state, UID, UID)
    key = base / "hmac.key"
    key.write_text("image-test-hmac-key-0123456789abcdef")
    os.chown(key, UID, UID)
    key.chmod(0o400)
    web = free_port()
    with EmbeddedBroker(free_port()) as broker:
        cmd = [
            "unshare",
            "-m",
            str(SCRIPT),
            sys.executable,
            "-m",
            "stream",
            "worker",
            "--broker",
            broker.url,
            "--state-dir",
            str(state),
            "--hmac-key-file",
            str(key),
            "--web-port",
            str(web),
            "--partitions",
            "2",
        ]
        log = base / "worker.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                cmd,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env={**os.environ, "STATE": str(state), "PYTHONPATH": str(ROOT)},
            )
        try:
            ready = None
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{web}/healthz", timeout=2) as r:
                        ready = json.load(r)
                        if ready.get("ready"):
                            break
                except OSError:
                    pass
                time.sleep(0.5)
            assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
            assert ready and ready["ready"], log.read_text(errors="replace")[-2000:]
            # it wrote only under its state dir, and as uid 10001
            written = {p.relative_to(state).parts[0] for p in state.rglob("*")}
            assert {"faust", "materialized", "durable"} <= written
            assert all(p.stat().st_uid == UID for p in state.rglob("*"))
        finally:
            proc.terminate()
            proc.wait(20)
    shutil.rmtree(base, ignore_errors=True)
