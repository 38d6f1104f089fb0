"""The ``piplwatch`` command line. Heavy imports (Faust, spaCy) happen inside the subcommands.

One module per group of subcommands: ``scan`` (files), ``worker`` (worker, broker, simulate, dashboard),
``demo``, ``consents``; ``common`` holds the argument types and Kafka options they share.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from stream import __version__
from stream.cli.common import bounded


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one clear line, exit 2
        self.exit(2, f"piplwatch: {message} (see --help)\n")


_score = bounded(float, 0.0, 1.0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    from stream.cli import consents, counters, demo, topics, worker

    p = _Parser(prog="piplwatch", description="Catch unauthorized transfers of Chinese personal information.")
    p.add_argument("--version", action="version", version=f"piplwatch {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    s = sub.add_parser("scan", help="find personal information in files (JSONL, CSV, JSON, text)")
    s.add_argument("files", nargs="*", metavar="FILE", help="input files; - or none reads stdin")
    s.add_argument("--format", choices=("jsonl", "table"), default="jsonl")
    s.add_argument("--entities", help="comma-separated entity types to report")
    s.add_argument("--min-score", type=_score, default=None, help="drop findings below this score (0-1)")
    s.add_argument("--config", help="detector config file (TOML or YAML)")
    s.add_argument("--no-ner", action="store_true", help="pattern detectors only (no NER model)")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    worker.add_commands(sub)
    demo.add_commands(sub)
    consents.add_commands(sub)
    counters.add_commands(sub)
    topics.add_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``piplwatch`` console script."""
    # one OpenBLAS thread per process (the NER layers' matmuls are small; a worker is sized to one core), set
    # before anything imports numpy; an operator's own setting wins
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = build_parser().parse_args(argv)
    try:
        if args.cmd == "scan":
            from detectors.readers import InputError
            from stream.cli.scan import run

            try:
                return run(args)
            except InputError as exc:
                print(f"piplwatch scan: {exc}", file=sys.stderr)
                return 2
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        from detectors import ConfigError

        if isinstance(exc, (ConfigError, OSError, ValueError)):
            print(f"piplwatch: {exc}", file=sys.stderr)
            return 2
        raise
