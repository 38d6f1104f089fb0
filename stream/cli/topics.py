"""``piplwatch topics plan|apply|check``: the topics piplwatch needs, their partitions, replication and retention."""

from __future__ import annotations

import sys
from typing import Any

from stream.cli.common import kafka_options, port, settings_from


def add_commands(sub: Any) -> None:
    """Register ``topics plan``, ``topics apply`` and ``topics check``."""
    t = sub.add_parser("topics", help="the topics piplwatch needs: plan, create and check them")
    tsub = t.add_subparsers(dest="topics_cmd", metavar="{plan,apply,check}")
    for name, func, text in (
        ("plan", cmd_plan, "print every topic with its partitions, cleanup policy, retention and writers (no broker)"),
        ("apply", cmd_apply, "create missing topics and set the retention piplwatch needs on existing ones"),
        ("check", cmd_check, "verify every topic exists with the retention piplwatch needs (exit 1 if not)"),
    ):
        p = tsub.add_parser(name, help=text, description=text)
        kafka_options(p)
        p.add_argument(
            "--partitions", type=port, default=None, help="partitions of new topics (env PIPLWATCH_PARTITIONS)"
        )
        p.add_argument(
            "--replication-factor",
            type=port,
            default=None,
            help="replication of new topics (env PIPLWATCH_REPLICATION_FACTOR; default min(3, brokers))",
        )
        p.set_defaults(func=func)


def _settings(args: Any) -> Any:
    over = {}
    if args.partitions is not None:
        over["partitions"] = args.partitions
    if args.replication_factor is not None:
        over["replication_factor"] = args.replication_factor
    settings = settings_from(args, **over)
    settings.security.check()
    return settings


def cmd_plan(args: Any) -> int:
    """``piplwatch topics plan``."""
    from stream.topics import plan_rows

    rows = [
        ("topic", "role", "key", "partitions", "cleanup", "retention", "writers -> readers"),
        *plan_rows(_settings(args)),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def cmd_apply(args: Any) -> int:
    """``piplwatch topics apply``."""
    from stream.topics import apply_topics

    done = apply_topics(_settings(args))
    for line in done:
        print(line)
    print("topics: nothing to change" if not done else f"topics: {len(done)} change(s) applied")
    return 0


def cmd_check(args: Any) -> int:
    """``piplwatch topics check``: exit 0 if every topic is as planned, 1 if not."""
    from stream.topics import _admin, describe, problems, replication_for, topic_specs, unverified

    settings = _settings(args)
    admin = _admin(settings, 30.0)
    try:
        specs = topic_specs(settings)
        states = describe(admin, [s.name for s in specs])
        rf = replication_for(settings, admin)
    finally:
        admin.close()
    bad = [p for s in specs for p in problems(s, states.get(s.name), partitions=settings.partitions, replication=rf)]
    for s in specs:
        st = states.get(s.name)
        if st is not None and (missing := unverified(s, st)):
            print(f"{s.name}: the broker does not report {', '.join(missing)} (cannot verify)", file=sys.stderr)
    for p in bad:
        print(p)
    print("topics: ok" if not bad else f"topics: {len(bad)} problem(s); 'piplwatch topics apply' fixes configs")
    return 1 if bad else 0
