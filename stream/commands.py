"""Stream subcommands: broker, worker, simulate, demo, consents import."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from stream.cli_types import bounded

DEFAULT_PORT = 9092


def _broker_url(text: str) -> str:
    if "://" not in text:
        text = "kafka://" + text
    if not text.startswith(("kafka://", "aiokafka://")):
        raise argparse.ArgumentTypeError(f"expected kafka://HOST:PORT, got {text!r}")
    return text


_positive = bounded(float, 0.0)
_port = bounded(int, 1, 65535, "a port number")


def _kafka_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", type=_broker_url, default=os.environ.get("PIPLWATCH_BROKER", f"kafka://127.0.0.1:{DEFAULT_PORT}"),
                   help="Kafka bootstrap, kafka://HOST:PORT (env PIPLWATCH_BROKER)")
    p.add_argument("--security-protocol", choices=("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"), default=None)
    p.add_argument("--sasl-mechanism", choices=("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"), default=None)
    p.add_argument("--sasl-username", default=None)
    p.add_argument("--ssl-cafile", default=None, help="CA bundle for TLS (password via env PIPLWATCH_SASL_PASSWORD)")


def _settings(args: Any, **over: Any) -> Any:
    from stream.settings import Settings

    kw: dict[str, Any] = {"broker": args.broker}
    for name in ("security_protocol", "sasl_mechanism", "sasl_username", "ssl_cafile"):
        if getattr(args, name, None):
            kw[name] = getattr(args, name)
    kw.update(over)
    return Settings(**kw)


def add_stream_commands(sub: Any) -> None:
    """Register the stream subcommands on the ``piplwatch`` parser."""
    b = sub.add_parser("broker", help="run the embedded Kafka-compatible broker on 127.0.0.1")
    b.add_argument("--port", type=_port, default=DEFAULT_PORT)
    b.set_defaults(func=cmd_broker)

    w = sub.add_parser("worker", help="run the monitor against a broker (creates missing topics)")
    _kafka_options(w)
    w.add_argument("--state-dir", default=None, help="local state (default .piplwatch/state/worker-PORT)")
    w.add_argument("--web-port", type=_port, default=int(os.environ.get("PIPLWATCH_WEB_PORT", "9464")),
                   help="/metrics and dashboard port (loopback)")
    w.add_argument("--web-bind", default=os.environ.get("PIPLWATCH_WEB_BIND", "127.0.0.1"))
    w.add_argument("--hmac-key-file", default=os.environ.get("PIPLWATCH_HMAC_KEY_FILE"))
    w.add_argument("--partitions", type=int, default=int(os.environ.get("PIPLWATCH_PARTITIONS", "4")))
    w.add_argument("--no-ner", action="store_true", help="pattern detectors and field rules only")
    w.add_argument("--rebuild-state", action="store_true", default=os.environ.get("PIPLWATCH_REBUILD_STATE") == "1",
                   help="read consents and agreements from the beginning instead of resuming the stored state")
    w.add_argument("--print-alerts", action="store_true", help="print one line per alert on stdout")
    w.add_argument("--loglevel", default="warning", choices=("debug", "info", "warning", "error"))
    w.set_defaults(func=cmd_worker)

    s = sub.add_parser("simulate", help="produce agreements, consents and a mix of transfers")
    _kafka_options(s)
    s.add_argument("--rate", type=_positive, default=20.0, help="transfers per second (0 = as fast as possible)")
    s.add_argument("--count", type=int, default=None)
    s.add_argument("--duration", type=_positive, default=None, help="seconds")
    s.add_argument("--seed", type=int, default=2016)
    s.add_argument("--no-setup", action="store_true", help="do not produce agreements and consents")
    s.set_defaults(func=cmd_simulate)

    d = sub.add_parser("demo", help="broker + worker + simulator + /metrics + dashboard on loopback (Ctrl-C stops)")
    d.add_argument("--port", type=_port, default=None, help="broker port (default: a free one)")
    d.add_argument("--web-port", type=_port, default=9464)
    d.add_argument("--rate", type=_positive, default=5.0, help="transfers per second")
    d.add_argument("--unauthorized", type=bounded(float, 0.0, 1.0), default=0.15,
                   help="share of unauthorized transfers (0-1)")
    d.add_argument("--duration", type=_positive, default=None, help="stop after this many seconds")
    d.add_argument("--no-ner", action="store_true")
    d.add_argument("--dir", default=".piplwatch/demo", help="state, logs and the generated HMAC key")
    d.set_defaults(func=cmd_demo)

    db = sub.add_parser("dashboard", help="serve the live dashboard for a deployment, from Prometheus (+ alerts topic)")
    db.add_argument("--prometheus", required=True, help="Prometheus base URL, e.g. http://127.0.0.1:9090")
    db.add_argument("--port", type=_port, default=9465)
    db.add_argument("--bind", default="127.0.0.1")
    _kafka_options(db)
    db.add_argument("--no-alerts", action="store_true", help="do not read piplwatch.alerts from Kafka")
    db.set_defaults(func=cmd_dashboard)

    c = sub.add_parser("consents", help="consent and agreement records")
    csub = c.add_subparsers(dest="consents_cmd", required=True)
    imp = csub.add_parser("import", help="load consents or agreements from CSV or JSONL into their topic")
    imp.add_argument("file")
    imp.add_argument("--kind", choices=("consents", "agreements"), default=None, help="default: from the records")
    _kafka_options(imp)
    imp.set_defaults(func=cmd_consents_import)


def _raise_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt so `with`/`finally` blocks stop the processes we started."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def cmd_broker(args: Any) -> int:
    """``piplwatch broker``."""
    from stream.broker import EmbeddedBroker

    _raise_on_sigterm()
    with EmbeddedBroker(args.port) as broker:
        print(f"embedded broker (Tansu, memory storage) on {broker.url}; Ctrl-C stops it", flush=True)
        try:
            while broker.proc and broker.proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


def cmd_worker(args: Any) -> int:
    """``piplwatch worker``."""
    from stream.app import run_worker

    if not args.hmac_key_file and not os.environ.get("PIPLWATCH_HMAC_KEY"):
        print("piplwatch worker: set --hmac-key-file or PIPLWATCH_HMAC_KEY_FILE (consents are joined through a keyed"
              " HMAC; every worker needs the same key)", file=sys.stderr)
        return 2
    state = Path(args.state_dir or f".piplwatch/state/worker-{args.web_port}")
    settings = _settings(args, state_dir=state, web_port=args.web_port, web_bind=args.web_bind,
                         hmac_key_file=args.hmac_key_file, partitions=args.partitions, ner=not args.no_ner,
                         print_alerts=args.print_alerts, rebuild_state=args.rebuild_state)
    return run_worker(settings, loglevel=args.loglevel)


def cmd_simulate(args: Any) -> int:
    """``piplwatch simulate``."""
    from stream.simulator import produce
    from stream.topics import ensure_topics

    settings = _settings(args)
    ensure_topics(settings)
    n = produce(settings.bootstrap, settings.topics, seed=args.seed, rate=args.rate, count=args.count,
                duration=args.duration, setup=not args.no_setup, kafka_kwargs=settings.kafka_python_kwargs())
    print(f"produced {n} transfers to {settings.topics.transfers}")
    return 0


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
    from stream.app import create_app
    from stream.broker import EmbeddedBroker, free_port, port_open
    from stream.simulator import produce
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
        settings = _settings(argparse.Namespace(broker=broker.url), state_dir=base / "state", web_port=args.web_port,
                             hmac_key_file=str(key), ner=not args.no_ner, print_alerts=True, rebuild_state=True)
        ensure_topics(settings)
        print(f"piplwatch demo\n  broker     {broker.url} (embedded Tansu, memory only)\n"
              f"  dashboard  http://127.0.0.1:{args.web_port}/\n  metrics    http://127.0.0.1:{args.web_port}/metrics\n"
              f"  HMAC key   {key} (generated, mode 0600)\n  alerts print below as they fire; Ctrl-C stops everything",
              flush=True)
        app, runtime = create_app(settings)

        def simulate() -> None:
            runtime_ready = time.monotonic()
            while not stop.is_set() and not runtime.materializer.ready.is_set() and time.monotonic() - runtime_ready < 60:
                time.sleep(0.2)
            try:
                produce(settings.bootstrap, settings.topics, rate=args.rate, stop=stop,
                        unauthorized_share=args.unauthorized)
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

        from faust.worker import Worker

        worker = Worker(app, loglevel="error", quiet=True, redirect_stdouts=False)
        worker.spinner = None  # no terminal escape codes in logs and piped output
        try:
            worker.execute_from_commandline()
        except SystemExit:
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        broker.stop()
    print("piplwatch demo stopped", flush=True)
    return 0


def cmd_dashboard(args: Any) -> int:
    """``piplwatch dashboard``."""
    import asyncio

    from stream.dashboard import serve

    if not args.prometheus.startswith(("http://", "https://")):
        print(f"piplwatch dashboard: --prometheus must be an http(s) URL, got {args.prometheus!r}", file=sys.stderr)
        return 2
    settings = _settings(args)
    _raise_on_sigterm()
    try:
        asyncio.run(serve(args.prometheus, args.bind, args.port, None if args.no_alerts else settings.bootstrap,
                          settings.topics.alerts, settings.aiokafka_kwargs()))
    except KeyboardInterrupt:
        pass
    return 0


def _import_rows(path: Path, fh: Any) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, record or None, error) per record of a consents/agreements CSV or JSONL file, lazily."""
    import csv
    import json

    from stream.records import AGREEMENT_SCHEMA, CONSENT_SCHEMA

    if path.suffix.lower() != ".csv":
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield n, json.loads(line), None
                except json.JSONDecodeError as exc:
                    yield n, None, f"malformed JSON ({exc.msg})"
        return
    reader = csv.DictReader(fh)
    for row in reader:
        rec: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
        for listy in ("purposes", "categories", "allowed_categories", "allowed_purposes", "allowed_fields"):
            if listy in rec:
                rec[listy] = [x.strip() for x in rec[listy].split(";") if x.strip()]
        kinds = [k for k in ("user_id", "mobile", "id_number", "email", "key") if k in rec]
        if kinds:
            rec["subject"] = {kinds[0]: rec.pop(kinds[0])}
        if "max_subjects_per_day" in rec:
            try:
                rec["max_subjects_per_day"] = int(rec["max_subjects_per_day"])
            except ValueError:
                yield reader.line_num, None, "max_subjects_per_day must be a whole number"
                continue
        rec.setdefault("schema", AGREEMENT_SCHEMA if "role" in rec else CONSENT_SCHEMA)
        yield reader.line_num, rec, None


def _import_destination(rec: Any, kind: str | None, topics: Any) -> tuple[str, bytes]:
    """(topic, key) for a validated consent or agreement record; raises ``BadInput``."""
    from stream.records import AGREEMENT_SCHEMA, parse_agreement, parse_consent

    if kind is None:
        kind = "agreements" if isinstance(rec, dict) and rec.get("schema") == AGREEMENT_SCHEMA else "consents"
    if kind == "agreements":
        return topics.agreements, parse_agreement(rec).recipient_id.encode()
    c = parse_consent(rec)
    return topics.consents, f"{c.subject_kind}|{c.recipient_id}".encode()  # no raw identifier in Kafka keys


def cmd_consents_import(args: Any) -> int:
    """``piplwatch consents import FILE``: validate every record and produce the valid ones, streaming (a file of
    millions of consents needs no more memory than one); each bad record is reported with its line."""
    import orjson
    from kafka import KafkaProducer

    from stream.records import BadInput
    from stream.topics import ensure_topics

    path = Path(args.file)
    settings = _settings(args)
    producer = None
    imported = errors = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for n, rec, error in _import_rows(path, fh):
                if error is None:
                    try:
                        topic, key = _import_destination(rec, args.kind, settings.topics)
                    except BadInput as exc:
                        error = str(exc)
                if error is not None:
                    print(f"piplwatch consents import: {path}:{n}: {error}", file=sys.stderr)
                    errors += 1
                    continue
                if producer is None:
                    ensure_topics(settings)
                    producer = KafkaProducer(bootstrap_servers=settings.bootstrap, linger_ms=50, batch_size=256 << 10,
                                             **settings.kafka_python_kwargs())
                producer.send(topic, key=key, value=orjson.dumps(rec))
                imported += 1
    except FileNotFoundError:
        print(f"piplwatch consents import: {path}: no such file", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"piplwatch consents import: {path}: not UTF-8", file=sys.stderr)
        return 2
    finally:
        if producer is not None:
            producer.flush()
            producer.close()
    print(f"imported {imported} records, rejected {errors}")
    return 2 if errors else 0
