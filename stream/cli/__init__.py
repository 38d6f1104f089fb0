"""The ``piplwatch`` command line. Heavy imports (Faust, spaCy, Hyperscan) happen inside the subcommands.

One module per group of subcommands: ``scan`` and ``redact`` (files), ``worker`` (worker, broker, simulate,
dashboard), ``demo``, ``consents``, ``counters``, ``topics``; ``common`` holds the argument types and Kafka options
they share. A bare ``piplwatch`` and a group without its subcommand print their help.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One clear line naming the command and the option, exit 2."""
        message = re.sub(r"^argument (\S+?)(/\S+)?: ", r"\1: ", message)
        message = message.replace("the following arguments are required:", "missing")
        message = re.sub(r"unrecognized arguments: (.+)", r"unknown option or argument: \1", message)
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("piplwatch")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree never installed
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    from stream.cli import consents, counters, demo, topics, worker

    p = _Parser(prog="piplwatch", description="Catch unauthorized transfers of Chinese personal information.")
    p.add_argument("--version", action="version", version=f"piplwatch {_version()}")
    sub = p.add_subparsers(dest="cmd", parser_class=_Parser, metavar="COMMAND", title="commands")
    s = sub.add_parser(
        "scan",
        help="find personal information in files and directories (table, JSONL, CSV, SARIF)",
        description="Find Chinese personal information in files and directories. Exit 0: nothing "
        "found, 1: found, 2: some input could not be read.",
    )
    from stream.cli.scan_options import add_scan_arguments

    add_scan_arguments(s)
    r = sub.add_parser(
        "redact",
        help="write a redacted copy of a file (mask, hash, replace or drop per entity type)",
        description="Write a copy of a file with every finding replaced, keeping JSON and CSV "
        "structure, and report what changed on stderr.",
    )
    from stream.cli.scan_options import add_redact_arguments

    add_redact_arguments(r)
    worker.add_commands(sub)
    demo.add_commands(sub)
    consents.add_commands(sub)
    counters.add_commands(sub)
    topics.add_commands(sub)
    return p


def _group_help(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser | None:
    """The parser whose help to print when a command or group was given without its subcommand."""
    if args.cmd is None:
        return parser
    for attr in ("consents_cmd", "counters_cmd", "topics_cmd"):
        if hasattr(args, attr) and getattr(args, attr) is None:
            sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
            return sub.choices[args.cmd]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``piplwatch`` console script."""
    # one OpenBLAS thread per process (the NER layers' matmuls are small; a worker is sized to one core), set
    # before anything imports numpy; an operator's own setting wins
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    bare = _group_help(parser, args)
    if bare is not None:
        bare.print_help()
        return 0 if bare is parser else 2
    try:
        if args.cmd in ("scan", "redact"):
            from detectors.readers import InputError

            try:
                return int(args.func(args))
            except InputError as exc:
                from detectors.redact import printable

                print(f"piplwatch {args.cmd}: {printable(str(exc))}", file=sys.stderr)
                return 2
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # config and I/O errors become one line
        from detectors import ConfigError

        if isinstance(exc, (ConfigError, OSError, ValueError)):
            print(f"piplwatch {args.cmd}: {exc}", file=sys.stderr)
            return 2
        raise
