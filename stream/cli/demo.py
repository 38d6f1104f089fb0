"""``piplwatch demo``: the embedded broker, a worker, the simulator, /metrics and the dashboard in one command."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from stream.cli.common import bounded, port, positive, settings_from
from stream.cli.scan_options import ner_options


def add_commands(sub: Any) -> None:
    """Register ``demo``."""
    d = sub.add_parser("demo", help="broker + worker + simulator + /metrics + dashboard on loopback (Ctrl-C stops)")
    d.add_argument("--port", type=port, default=None, help="broker port (default: a free one)")
    d.add_argument("--web-port", type=port, default=9464, help="port of the dashboard and /metrics (9464)")
    d.add_argument("--rate", type=positive, default=5.0, help="transfers per second")
    d.add_argument(
        "--unauthorized", type=bounded(float, 0.0, 1.0), default=0.15, help="share of unauthorized transfers (0-1)"
    )
    d.add_argument("--duration", type=positive, default=None, help="stop after this many seconds")
    ner_options(d, "gated")
    d.add_argument("--dir", default=".piplwatch/demo", help="state, logs and the generated HMAC key")
    d.set_defaults(func=cmd_demo)


def generate_key(path: Path) -> Path:
    """Create a random HMAC key file readable only by its owner (0600), once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    os.chmod(path, 0o600)
    return path


def cmd_demo(args: Any) -> int:
    """``piplwatch demo``: everything on loopback, in one process plus the broker."""
    from detectors.redact import load_hmac_key
    from stream.app import create_app, run_app
    from stream.dev.broker import EmbeddedBroker, free_port, port_open
    from stream.dev.simulator import produce
    from stream.topics import ensure_topics

    base = Path(args.dir)
    key = generate_key(base / "hmac.key")
    if port_open("127.0.0.1", args.web_port):
        print(f"piplwatch demo: port {args.web_port} is in use (choose another with --web-port)", file=sys.stderr)
        return 2
    broker = EmbeddedBroker(args.port or free_port(), log=base / "broker.log").start()
    stop = threading.Event()
    try:
        # the embedded broker keeps nothing between runs, so there is no stored state to resume from
        settings = settings_from(
            argparse.Namespace(broker=broker.url),
            state_dir=base / "state",
            web_port=args.web_port,
            hmac_key_file=str(key),
            ner=args.ner,
            print_alerts=True,
            rebuild_state=True,
        )
        ensure_topics(settings)
        print(
            f"piplwatch demo\n  broker     {broker.url} (embedded Tansu, memory only)\n"
            f"  dashboard  http://127.0.0.1:{args.web_port}/\n  metrics    http://127.0.0.1:{args.web_port}/metrics\n"
            f"  HMAC key   {key} (generated, mode 0600)\n  alerts print below as they fire; Ctrl-C stops everything",
            flush=True,
        )
        app, runtime = create_app(settings)

        def simulate() -> None:
            runtime_ready = time.monotonic()
            while (
                not stop.is_set() and not runtime.materializer.ready.is_set() and time.monotonic() - runtime_ready < 60
            ):
                time.sleep(0.2)
            try:
                produce(
                    settings.bootstrap,
                    settings.topics,
                    rate=args.rate,
                    stop=stop,
                    unauthorized_share=args.unauthorized,
                    hmac_key=load_hmac_key(str(key)),
                )
            except Exception as exc:  # noqa: BLE001 - reported, the demo keeps serving
                if not stop.is_set():
                    print(f"simulator stopped: {exc}", file=sys.stderr)

        @app.task
        async def start_simulator() -> None:
            threading.Thread(target=simulate, name="simulator", daemon=True).start()

        if args.duration:

            @app.timer(interval=args.duration, on_leader=False)
            async def finish() -> None:
                # the same way out as Ctrl-C (the worker's own signal handling): stopping the app from one of its
                # own timers left the worker waiting on that timer and a consumer thread alive at exit
                stop.set()
                os.kill(os.getpid(), signal.SIGINT)

        run_app(app, loglevel="error")
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        broker.stop()
    print("piplwatch demo stopped", flush=True)
    return 0
