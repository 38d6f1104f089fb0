"""``piplwatch redact``: a redacted copy of a file or stream, structure kept, with a report of what changed."""

from __future__ import annotations

import collections
import sys
from typing import Any

from detectors.anonymizer import OPERATORS, redact_text_file
from detectors.readers import InputError, load


def run(args: Any) -> int:
    """Execute ``piplwatch redact``."""
    from detectors import DetectorConfig, Scanner, entity_names
    from detectors.redact import load_hmac_key
    from detectors.taxonomy import NER_LABELS

    known = set(entity_names()) | set(NER_LABELS)
    ops: dict[str, str] = {}
    for spec in args.operator:
        entity, sep, op = spec.partition("=")
        if not sep or op not in OPERATORS:
            raise InputError(f"--operator: expected ENTITY=OP with OP one of {', '.join(OPERATORS)}, not {spec!r}")
        if entity not in known:
            raise InputError(f"--operator: unknown entity type {entity}")
        ops[entity] = op
    entities = set(args.entities.split(",")) if args.entities else None
    if entities and entities - known:
        raise InputError(f"--entities: unknown entity {', '.join(sorted(entities - known))}")
    config = DetectorConfig.load(args.config) if args.config else DetectorConfig()
    ner = None
    if args.ner != "off" and config.ner:
        from detectors.ner import load_ner

        ner = load_ner(required=False)
    scanner = Scanner(config, hmac_key=load_hmac_key(args.hmac_key_file), ner=ner, ner_mode=args.ner)
    name, text, kind = load(args.path)

    def scan(data: Any) -> Any:
        return scanner.scan(data, entities=entities, min_score=args.min_score)

    changed: collections.Counter[tuple[str, str]] = collections.Counter()
    try:
        redacted = redact_text_file(text, kind, scan, ops, args.default, changed)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{name}: cannot redact ({str(exc).splitlines()[0][:100]})") from None
    if args.output == "-":
        sys.stdout.write(redacted)
    else:
        with open(args.output, "w", encoding="utf-8", newline="") as fh:
            fh.write(redacted)
    total = sum(changed.values())
    print(
        f"piplwatch redact: {name}: {total} value{'s' * (total != 1)} redacted"
        + (" (" + ", ".join(f"{e} {op} {n}" for (e, op), n in sorted(changed.items())) + ")" if total else ""),
        file=sys.stderr,
    )
    return 0
