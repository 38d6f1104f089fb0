"""How much of the shipped model's dev score is memorised names: PERSON recall on names seen vs unseen in training.

The dev parts are carved per sentence (``convert.py``); People's Daily/MSRA repeats the same people across
sentences, so a sentence split puts most dev names in training too. This prints, per corpus, PERSON F1 on the dev
part, the share of gold dev names that occur as a PERSON in the training parts, and recall on seen and unseen names,
and writes ``models/metrics/name_overlap.json``.

Usage: python models/scripts/name_overlap.py DATA_DIR
"""

from __future__ import annotations

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

ner = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "data") / "ner"
carved = convert.carve(ner, random.Random(13))  # the training seed
msra_tr, msra_dev = carved["msra"]
clu_tr, clu_dev = carved["cluener"]
msra_tr = msra_tr[:24000]
wb_tr = convert.map_spans(convert.read_bio(ner / "weibo" / "train.bio"), convert.BIO_MAP)
wb_dev = convert.map_spans(convert.read_bio(ner / "weibo" / "dev.bio"), convert.BIO_MAP)
ad_tr = convert.read_address(ner / "address" / "train.bio")
train = msra_tr + clu_tr + wb_tr + ad_tr
seen = {t[s:e] for t, sp in train for s, e, lab in sp if lab == "PERSON"}
st = load_ner()
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
(ROOT / "models" / "metrics" / "name_overlap.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
