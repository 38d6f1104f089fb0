"""``piplwatch worker``, ``broker``, ``simulate`` and ``dashboard``: running the monitor and its companions."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any

from stream.cli.common import kafka_options, port, positive, raise_on_sigterm, settings_from
from stream.cli.scan_options import ner_options


def add_commands(sub: Any) -> None:
    """Register ``broker``, ``worker``, ``simulate`` and ``dashboard``."""
    b = sub.add_parser("broker", help="run the embedded Kafka-compatible broker on 127.0.0.1")
    b.add_argument("--port", type=port, default=9092, help="port to listen on (9092)")
    b.set_defaults(func=cmd_broker)

    from stream.environment import ENVIRONMENT

    w = sub.add_parser(
        "worker",
        help="run the monitor against a broker (creates missing topics)",
        description="Judge every transfer on the transfers topic: verdicts, alerts, dead letters, metrics.",
        epilog="environment (flags win):\n" + "\n".join(f"  {name:<32} {what}" for name, what in ENVIRONMENT),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kafka_options(w)
    w.add_argument(
        "--state-dir",
        default=os.environ.get("PIPLWATCH_STATE_DIR"),
        help="local state, the only path the worker writes (default .piplwatch/state/worker-PORT)",
    )
    w.add_argument("--web-port", type=port, default=None, help="port of /metrics, /healthz, /livez and the dashboard")
    w.add_argument("--web-bind", default=None, help="address to serve them on (default 127.0.0.1)")
    w.add_argument(
        "--web-auth-file",
        default=None,
        help="file holding 'user:password' (basic auth) or a bearer token, required when --web-bind is not loopback",
    )
    w.add_argument("--hmac-key-file", default=None, help="the keyed-HMAC key file, the same on every worker")
    w.add_argument("--partitions", type=port, default=None, help="partitions of the topics the worker creates")
    ner_options(w, None)
    w.add_argument(
        "--rebuild-state",
        action="store_true",
        default=None,
        help="read consents and agreements from the beginning instead of resuming the stored state",
    )
    w.add_argument(
        "--allow-deleting-topics",
        action="store_true",
        default=None,
        help="run even if the consents or agreements topic deletes records by time or size (not recommended)",
    )
    w.add_argument("--print-alerts", action="store_true", help="print one line per alert on stdout")
    w.add_argument(
        "--loglevel", default="warning", choices=("debug", "info", "warning", "error"), help="log level (stderr)"
    )
    w.set_defaults(func=cmd_worker)

    s = sub.add_parser("simulate", help="produce agreements, consents and a mix of transfers")
    kafka_options(s)
    s.add_argument("--rate", type=positive, default=20.0, help="transfers per second (0 = as fast as possible)")
    s.add_argument("--count", type=int, default=None, help="stop after this many transfers")
    s.add_argument("--duration", type=positive, default=None, help="seconds")
    s.add_argument("--seed", type=int, default=2016, help="random seed (same seed, same events)")
    s.add_argument("--no-setup", action="store_true", help="do not produce agreements and consents")
    s.set_defaults(func=cmd_simulate)

    db = sub.add_parser("dashboard", help="serve the live dashboard for a deployment, from Prometheus (+ alerts topic)")
    db.add_argument("--prometheus", required=True, help="Prometheus base URL, e.g. http://127.0.0.1:9090")
    db.add_argument("--port", type=port, default=9465, help="port to serve on (9465)")
    db.add_argument("--bind", default="127.0.0.1", help="address to serve on (beyond loopback needs --web-auth-file)")
    db.add_argument(
        "--web-auth-file",
        default=os.environ.get("PIPLWATCH_WEB_AUTH_FILE"),
        help="file holding 'user:password' or a bearer token (env PIPLWATCH_WEB_AUTH_FILE)",
    )
    kafka_options(db)
    db.add_argument("--no-alerts", action="store_true", help="do not read piplwatch.alerts from Kafka")
    db.set_defaults(func=cmd_dashboard)


def cmd_broker(args: Any) -> int:
    """``piplwatch broker``."""
    from stream.dev.broker import EmbeddedBroker

    raise_on_sigterm()
    with EmbeddedBroker(args.port) as broker:
        print(f"embedded broker (Tansu, memory storage) on {broker.url}; Ctrl-C stops it", flush=True)
        try:
            while broker.proc and broker.proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


def cmd_worker(args: Any) -> int:
    """``piplwatch worker``: local settings checked first, then the brokers (one clear line if either fails)."""
    from stream.app import run_worker
    from stream.security import preflight

    over: dict[str, Any] = {"print_alerts": args.print_alerts}
    if args.ner is not None:
        over["ner"] = args.ner
    for name in (
        "web_port",
        "web_bind",
        "web_auth_file",
        "hmac_key_file",
        "partitions",
        "rebuild_state",
        "allow_deleting_topics",
    ):
        if getattr(args, name) is not None:
            over[name] = getattr(args, name)
    settings = settings_from(args, **over)
    if args.state_dir is None:
        settings = dataclasses.replace(settings, state_dir=Path(f".piplwatch/state/worker-{settings.web_port}"))
    else:
        settings = dataclasses.replace(settings, state_dir=Path(args.state_dir))
    settings.validate()
    preflight(settings.bootstrap, settings.security)
    return run_worker(settings, loglevel=args.loglevel)


def cmd_simulate(args: Any) -> int:
    """``piplwatch simulate``."""
    from stream.dev.simulator import produce
    from stream.topics import ensure_topics

    settings = settings_from(args)
    ensure_topics(settings)
    n = produce(
        settings.bootstrap,
        settings.topics,
        seed=args.seed,
        rate=args.rate,
        count=args.count,
        duration=args.duration,
        setup=not args.no_setup,
        kafka_kwargs=settings.kafka_python_kwargs(),
    )
    print(f"produced {n} transfers to {settings.topics.transfers}")
    return 0


def cmd_dashboard(args: Any) -> int:
    """``piplwatch dashboard``."""
    import asyncio

    from stream.web.dashboard import serve

    if not args.prometheus.startswith(("http://", "https://")):
        print(f"piplwatch dashboard: --prometheus must be an http(s) URL, got {args.prometheus!r}", file=sys.stderr)
        return 2
    settings = settings_from(args, web_bind=args.bind, web_auth_file=args.web_auth_file)
    if not settings.web_on_loopback and not settings.web_auth_file:
        print(f"piplwatch dashboard: --bind {args.bind} is beyond loopback: give --web-auth-file", file=sys.stderr)
        return 2
    settings.security.check()
    raise_on_sigterm()
    try:
        asyncio.run(
            serve(
                args.prometheus,
                args.bind,
                args.port,
                None if args.no_alerts else settings.bootstrap,
                settings.topics.alerts,
                settings.aiokafka_kwargs(),
                settings.web_auth_file,
            )
        )
    except KeyboardInterrupt:
        pass
    return 0
