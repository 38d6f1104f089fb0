"""How much of the shipped model's dev score is memorised names: PERSON recall on names seen vs unseen in training.

A sentence split put most MSRA dev names in training too (People's Daily repeats the same people across
sentences); ``convert.py`` now carves MSRA by blocks of whole articles. This prints, per corpus, PERSON F1 on the dev
part, the share of gold dev names that occur as a PERSON in the training parts, and recall on seen and unseen names,
and writes ``models/metrics/name_overlap.json``.

Usage: python models/scripts/name_overlap.py DATA_DIR [--msra-train N] [--pd1998]
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import convert  # the corpus readers

from detectors.ner import LABELS, load_ner
from detectors.ner_fast import pipe

ROOT = Path(__file__).resolve().parents[2]

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("data", type=Path, nargs="?", default=ROOT.parent / "shared" / "data")
ap.add_argument("--msra-train", type=int, default=49000, help="as the model was trained (models/project.yml)")
ap.add_argument("--model", type=Path, default=None, help="a pipeline directory (default: the shipped one)")
ap.add_argument("--out", type=Path, default=ROOT / "models" / "metrics" / "name_overlap.json")
ap.add_argument("--pd1998", action="store_true", help="the model was trained on People's Daily 1998 too")
args = ap.parse_args()
corpora = convert.training_corpora(
    args.data / "ner", random.Random(13), msra_train=args.msra_train, pd1998=args.pd1998
)  # the training seed
msra_dev, clu_dev, wb_dev = corpora["msra"][1], corpora["cluener"][1], corpora["weibo"][1]
seen = {t[s:e] for train, _ in corpora.values() for t, sp in train for s, e, lab in sp if lab == "PERSON"}
st = load_ner(args.model)
out = {}
for name, dev in (("MSRA", msra_dev), ("CLUENER", clu_dev), ("Weibo", wb_dev)):
    gold = [{(s, e) for s, e, lab in sp if lab == "PERSON"} for t, sp in dev]
    texts = [t for t, _ in dev]
    pred = [
        {(e.start_char, e.end_char) for e in d.ents if LABELS.get(e.label_) == "PERSON"}
        for d in pipe(st.nlp, texts, batch_size=256)
    ]
    stats = collections.Counter()
    for t, g, p in zip(texts, gold, pred):
        for s, e in g:
            k = "seen" if t[s:e] in seen else "unseen"
            stats[k + "_gold"] += 1
            stats[k + "_hit"] += (s, e) in p
        stats["pred"] += len(p)
        stats["tp"] += len(g & p)
        stats["gold"] += len(g)
    P = stats["tp"] / max(1, stats["pred"])
    R = stats["tp"] / max(1, stats["gold"])
    f = 2 * P * R / max(1e-9, P + R)
    sg, ug = stats["seen_gold"], stats["unseen_gold"]
    out[name] = {
        "person_f1": round(f, 3),
        "gold_names": sg + ug,
        "seen_in_training": round(sg / max(1, sg + ug), 3),
        "recall_seen": round(stats["seen_hit"] / max(1, sg), 3),
        "recall_unseen": round(stats["unseen_hit"] / max(1, ug), 3),
    }
    print(
        f"{name}: PERSON F1 {f:.3f} (P {P:.3f} R {R:.3f}); gold names seen in training {sg}/{sg + ug} = {sg / max(1, sg + ug):.0%}; recall on seen names {stats['seen_hit'] / max(1, sg):.3f}, on unseen names {stats['unseen_hit'] / max(1, ug):.3f}"
    )
args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
