"""The options of ``piplwatch scan`` and ``piplwatch redact``, apart from their code: ``piplwatch --help`` builds
every parser and must not import the scanner to do it."""

from __future__ import annotations

from typing import Any

FORMATS = ("table", "jsonl", "csv", "sarif")
SEVERITIES = ("low", "medium", "high")
OPERATORS = ("mask", "mask-all", "hash", "replace", "drop")


def _run_scan(args: Any) -> int:
    from stream.cli.scan import run

    return run(args)


def _run_redact(args: Any) -> int:
    from stream.cli.redact import run

    return run(args)


def add_scan_arguments(s: Any) -> None:
    """The options of ``piplwatch scan``."""
    from stream.cli.common import bounded

    s.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (recursive); - or none reads stdin")
    s.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="table (default on a terminal), jsonl (default otherwise: a line per record), csv (a row per "
        "finding) or sarif (SARIF 2.1.0 for code-scanning dashboards)",
    )
    s.add_argument("-o", "--output", default=None, help="write the report to this file instead of stdout")
    s.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="in directories, scan only files matching GLOB (repeatable; e.g. '*.csv')",
    )
    s.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="in directories, skip files matching GLOB (repeatable); .gitignore and .piplwatchignore "
        "files are honoured too",
    )
    s.add_argument("--entities", help="comma-separated entity types to report (default: all)")
    s.add_argument(
        "--min-score", type=bounded(float, 0.0, 1.0), default=None, help="drop findings below this score (0-1)"
    )
    s.add_argument(
        "--fail-on",
        default=None,
        metavar="SEVERITY|ENTITY,...",
        help="exit 1 only for findings of at least this severity (low, medium, high) or of these entity "
        "types; others are reported and exit 0",
    )
    s.add_argument("--config", help="detector config file (TOML or YAML)")
    ner_options(s, "full")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_run_scan)


NER_MODES = ("gated", "full", "off")


def ner_options(p: Any, default: str | None) -> None:
    """``--ner gated|full|off`` and ``--no-ner`` (an alias of ``--ner off``)."""
    p.add_argument(
        "--ner",
        choices=NER_MODES,
        default=default,
        help="which text the NER model reads: every Chinese free-text value (full), windows around name and "
        f"address cues (gated) or none (off; pattern detectors only); default {default or 'PIPLWATCH_NER or gated'}",
    )
    p.add_argument("--no-ner", dest="ner", action="store_const", const="off", help="the same as --ner off")


def add_redact_arguments(r: Any) -> None:
    """The options of ``piplwatch redact``."""
    from stream.cli.common import bounded

    r.add_argument("path", metavar="FILE", help="the file to redact (- reads stdin); .jsonl, .json, .csv, .tsv, text")
    r.add_argument("-o", "--output", default="-", help="where to write the redacted copy (default stdout)")
    r.add_argument(
        "--operator",
        action="append",
        default=[],
        metavar="ENTITY=OP",
        help=f"operator for one entity type, OP one of {', '.join(OPERATORS)} (repeatable)",
    )
    r.add_argument("--default", choices=OPERATORS, default="mask", help="operator for every other entity (mask)")
    r.add_argument("--entities", help="comma-separated entity types to redact (default: all)")
    r.add_argument(
        "--min-score",
        type=bounded(float, 0.0, 1.0),
        default=None,
        help="redact findings from this score on (default: the detectors' thresholds)",
    )
    r.add_argument(
        "--hmac-key-file",
        default=None,
        help="key for the hash operator (env PIPLWATCH_HMAC_KEY_FILE; else a random key for this run)",
    )
    r.add_argument("--config", help="detector config file (TOML or YAML)")
    ner_options(r, "full")
    r.set_defaults(func=_run_redact)
