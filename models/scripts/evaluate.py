"""Evaluate a trained pipeline per corpus and label on our own dev splits; write metrics.json.

Usage: python scripts/evaluate.py MODEL_DIR CORPUS_DIR OUT_JSON [--limit N]

Per corpus: precision/recall/F1 per label (spaCy's scorer) and overall. For the address corpus also the share
of held-back addresses covered by one predicted ADDRESS span (>= 90% of the gold characters, and exact).
The pipeline runs as piplwatch runs it (``detectors.ner_fast``: spaCy's components, our greedy decoder for NER).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from spacy.scorer import Scorer
from spacy.tokens import DocBin
from spacy.training import Example

from detectors import ner_fast

CORPORA = ("msra", "cluener", "weibo", "resume", "boson", "address")


def address_coverage(pairs: list[tuple]) -> dict[str, float]:
    gold_n = covered = exact = 0
    for pred, gold in pairs:
        preds = [(e.start_char, e.end_char) for e in pred.ents if e.label_ == "ADDRESS"]
        for g in gold.ents:
            if g.label_ != "ADDRESS":
                continue
            gold_n += 1
            glen = g.end_char - g.start_char
            best = max((min(e, g.end_char) - max(s, g.start_char) for s, e in preds), default=0)
            covered += best >= 0.9 * glen
            exact += (g.start_char, g.end_char) in preds
    return {"addresses": gold_n, "covered_90": covered / max(1, gold_n), "exact": exact / max(1, gold_n)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--limit", type=int, default=0, help="documents per corpus (0 = all)")
    args = ap.parse_args()
    nlp = ner_fast.load_pipeline(args.model)  # what piplwatch runs: same entities as spaCy's own path
    result: dict[str, dict] = {
        "model": f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}",
        "version": nlp.meta.get("version"),
    }
    for name in CORPORA:
        path = args.corpus / f"dev_{name}.spacy"
        if not path.exists():
            continue
        gold = list(DocBin().from_disk(path).get_docs(nlp.vocab))
        if args.limit:
            gold = gold[: args.limit]
        t = time.perf_counter()
        preds = list(ner_fast.pipe(nlp, [d.text for d in gold], batch_size=256))
        secs = time.perf_counter() - t
        examples = [Example(p, g) for p, g in zip(preds, gold)]
        scores = Scorer.score_spans(examples, "ents")
        per = {lab: {k: round(v, 4) for k, v in s.items()} for lab, s in (scores["ents_per_type"] or {}).items()}
        entry = {
            "docs": len(gold),
            "chars": sum(len(d.text) for d in gold),
            "p": round(scores["ents_p"], 4),
            "r": round(scores["ents_r"], 4),
            "f": round(scores["ents_f"], 4),
            "per_label": per,
            "chars_per_second": round(sum(len(d.text) for d in gold) / secs),
        }
        if name == "address":
            entry["address_coverage"] = {k: round(v, 4) for k, v in address_coverage(list(zip(preds, gold))).items()}
        result[name] = entry
        print(f"{name:8} F1 {entry['f']:.3f}  " + "  ".join(f"{k} {v['f']:.3f}" for k, v in sorted(per.items())))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
