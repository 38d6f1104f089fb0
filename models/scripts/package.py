"""Copy a trained pipeline into models/piplwatch_zh_ner with a pinned name and version (what detectors/ loads).

Usage: python scripts/package.py TRAINED_DIR OUT_DIR --version X.Y.Z
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import spacy

import detectors.ner_components  # noqa: F401 - registers the bigram component before loading


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trained", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--pd1998", action="store_true", help="the pipeline was trained on People's Daily 1998 too")
    args = ap.parse_args()
    nlp = spacy.load(args.trained)
    if "address_extend" not in nlp.pipe_names:
        nlp.add_pipe("piplwatch_address_extend", name="address_extend", after="ner")
    nlp.meta.update(
        {
            "name": "piplwatch_ner",
            "version": args.version,
            "lang": "zh",
            "description": "piplwatch Chinese NER: PERSON, LOCATION, ORGANIZATION, ADDRESS. Character tokens with "
            "forward-bigram features; trained on MSRA, CLUENER, Weibo, Resume, Boson, BDCI 2020, "
            + ("People's Daily 1998, " if args.pd1998 else "")
            + "and the Chinese address-parsing corpus (see models/README.md).",
            "author": "piplwatch",
            "license": "Apache-2.0 (code); model trained on research corpora, see README",
            "sources": [
                {"name": n}
                for n in (
                    "MSRA NER (SIGHAN 2006)",
                    "CLUENER2020 train",
                    "Weibo NER",
                    "Resume NER",
                    "BosonNLP NER",
                    "CCF BDCI 2020 privacy",
                    "Neural Chinese Address Parsing",
                    *(["People's Daily 1998 (PKU segmented and tagged, January)"] if args.pd1998 else []),
                )
            ],
        }
    )
    nlp.meta.pop("performance", None)
    if args.out.exists():
        shutil.rmtree(args.out)
    nlp.to_disk(args.out)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(json.dumps({"out": str(args.out), "version": args.version, "bytes": size}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
