"""``piplwatch counters retract``: take one transfer's declared individuals back out of every worker's counters."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from stream.cli.common import kafka_options, settings_from


def add_commands(sub: Any) -> None:
    """Register ``counters retract``."""
    c = sub.add_parser("counters", help="the distinct-subject counters shared by the workers")
    csub = c.add_subparsers(dest="counters_cmd", metavar="{retract}")
    r = csub.add_parser(
        "retract",
        help="remove what one transfer added to the counters as declared (unnamed) individuals, on every worker",
        description="Publishes a retraction on the counters topic. Every worker removes the individuals the "
        "transfer added beyond its payload (record_count) from its cross-border and daily counters and ignores "
        "that transfer's declared count from then on. Use it when a transfer with a false record_count poisoned the "
        "counters (its verdict shows counts.basis = declared).",
    )
    r.add_argument("transfer_id", metavar="TRANSFER_ID", help="the transfer id as the verdict shows it")
    r.add_argument("--reason", default="", help="why (kept in the retraction record)")
    kafka_options(r)
    r.set_defaults(func=cmd_retract)


def cmd_retract(args: Any) -> int:
    """``piplwatch counters retract TRANSFER_ID``."""
    from kafka import KafkaProducer

    from stream.judge.shaping import dumps, retraction_record
    from stream.topics import ensure_topics

    settings = settings_from(args)
    tid = args.transfer_id.strip()
    if not tid:
        print("piplwatch counters retract: TRANSFER_ID is empty", file=sys.stderr)
        return 2
    ensure_topics(settings)
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap, acks="all", **settings.kafka_python_kwargs())
    try:
        rec = retraction_record(tid, f"cli:{getpass.getuser()}", args.reason[:256])
        producer.send(settings.topics.counters, key=f"retract|{tid}".encode(), value=dumps(rec)).get(timeout=30)
    finally:
        producer.close()
    print(f"retraction of transfer {tid} published to {settings.topics.counters}; every worker applies it")
    return 0
