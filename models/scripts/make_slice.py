"""Write a small dev slice (a few hundred sentences per corpus) as JSONL for the CI quality test.

Usage: python scripts/make_slice.py CORPUS_DIR OUT_JSONL [--per-corpus N]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import spacy
from spacy.tokens import DocBin


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--per-corpus", type=int, default=150)
    args = ap.parse_args()
    nlp = spacy.blank("zh")
    rows = []
    for name in ("msra", "cluener", "address"):
        docs = list(DocBin().from_disk(args.corpus / f"dev_{name}.spacy").get_docs(nlp.vocab))
        # spread over the whole dev part (MSRA's is blocks of whole articles: its first sentences are one article)
        docs = docs[:: max(1, len(docs) // args.per_corpus)][: args.per_corpus]
        for d in docs:
            rows.append(
                {"corpus": name, "text": d.text, "ents": [[e.start_char, e.end_char, e.label_] for e in d.ents]}
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} sentences -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
