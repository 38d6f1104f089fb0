"""NER speed: the shipped model vs spaCy's default `init config -l zh -p ner -o efficiency` pipeline, same text, one run.

Run:  .venv/bin/python tests/benchmarks/bench_ner.py [--sentences 2000] [--tradeoff] [--rounds 5]

One core: OpenBLAS is held to one thread (OPENBLAS_NUM_THREADS=1, set before numpy loads). The shipped model is
timed twice: as piplwatch runs it (``detectors.ner_fast``: numpy matmuls, our greedy NER decoder) and through
spaCy's stock ``nlp.pipe`` (BLIS, spaCy's parser loop); both give the same entities (tests/models).

Speed does not depend on trained weights, so the default pipeline and the --tradeoff variants are initialized,
not trained; the quality column of the trade-off table comes from models/metrics/*.json where a variant was
trained; they run on piplwatch's path. jieba's row is the segmenter alone (what word tokens would add).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, before numpy is imported

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import spacy  # noqa: E402
from spacy.tokens import DocBin  # noqa: E402
from spacy.training import Example  # noqa: E402
from thinc.api import Config  # noqa: E402

import detectors.ner_components  # noqa: E402,F401
from detectors import ner_fast  # noqa: E402
from detectors.ner import DEFAULT_MODEL  # noqa: E402


def texts(n: int) -> list[str]:
    nlp = spacy.blank("zh")
    corpus = ROOT / "models" / "corpus" / "dev_msra.spacy"
    if corpus.exists():
        return [d.text for d in DocBin().from_disk(corpus).get_docs(nlp.vocab)][:n]
    import json

    rows = (ROOT / "tests" / "data" / "ner_dev_slice.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(r)["text"] for r in rows][:n]


def chars_per_second(nlp, xs: list[str], repeat: int = 2, *, fast: bool = False) -> float:
    run = (lambda b: ner_fast.pipe(nlp, b, batch_size=256)) if fast else (lambda b: nlp.pipe(b, batch_size=256))
    for _ in run(xs[:50]):
        pass
    best = 0.0
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in run(xs):
            pass
        best = max(best, sum(map(len, xs)) / (time.perf_counter() - t))
    return best


LABELS = ("PERSON", "LOCATION", "ORGANIZATION", "ADDRESS")


def initialized(cfg: Config, xs: list[str]):
    """An untrained pipeline with the shipped model's four labels (the output layer's size is part of the cost:
    a parser initialized without labels predicts over a handful of actions and times far too fast)."""
    nlp = spacy.util.load_model_from_config(cfg, auto_fill=True)
    for label in LABELS:
        nlp.get_pipe("ner").add_label(label)
    docs = [nlp.make_doc(x) for x in xs[:100]]
    nlp.initialize(lambda: [Example(d, d) for d in docs])
    return nlp


def default_efficiency() -> Config:
    from spacy.cli.init_config import init_config

    return init_config(lang="zh", pipeline=["ner"], optimize="efficiency", gpu=False)


def variant(width: int, depth: int, hidden: int, rows: list[int], attrs: list[str], bigrams: bool) -> Config:
    base = Config().from_disk(ROOT / "models" / "configs" / "config.cfg")
    text = base.to_str()
    cfg = Config().from_str(text)
    cfg["components"]["tok2vec"]["model"]["encode"]["width"] = width
    cfg["components"]["tok2vec"]["model"]["encode"]["depth"] = depth
    cfg["components"]["tok2vec"]["model"]["embed"]["width"] = width
    cfg["components"]["tok2vec"]["model"]["embed"]["attrs"] = attrs
    cfg["components"]["tok2vec"]["model"]["embed"]["rows"] = rows
    cfg["components"]["ner"]["model"]["tok2vec"]["width"] = width
    cfg["components"]["ner"]["model"]["hidden_width"] = hidden
    if not bigrams:
        cfg["nlp"]["pipeline"] = ["tok2vec", "ner"]
        del cfg["components"]["bigrams"]
        cfg["training"]["annotating_components"] = []
    return cfg


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--tradeoff", action="store_true", help="also time untrained architecture variants")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds for the median ratios")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="pipeline to time (default: the shipped one)")
    args = ap.parse_args()
    xs = texts(args.sentences)
    print(f"{len(xs)} sentences, {sum(map(len, xs)):,} chars (MSRA dev split)")
    shipped = ner_fast.load_pipeline(args.model)
    stock = spacy.load(args.model)
    default = initialized(default_efficiency(), xs)
    rows = [("spaCy default zh efficiency NER (char)", chars_per_second(default, xs))]
    rows.append(("shipped model, spaCy's stock nlp.pipe", chars_per_second(stock, xs)))
    name = "shipped model, as piplwatch runs it" + ("" if ner_fast.available() else " (no compiled decoder!)")
    rows.append((name, chars_per_second(shipped, xs, fast=True)))
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()  # the dictionary load is not segmentation cost
    t = time.perf_counter()
    seg = [" ".join(jieba.cut(x, HMM=False)) for x in xs]
    jieba_s = time.perf_counter() - t
    tokens = sum(len(s.split()) for s in seg)
    rows.append((f"jieba segmentation alone ({tokens / sum(map(len, xs)):.2f} tokens/char)", sum(map(len, xs)) / jieba_s))
    print(f"{'pipeline':<52} {'chars/s':>10} {'ratio':>7}")
    for name, cps in rows:
        print(f"{name:<52} {cps:>10,.0f} {cps / rows[0][1]:>7.2f}")
    # interleaved rounds (a shared machine slows one side at a time): the median ratio is the figure to quote
    r_default, r_stock = [], []
    for _ in range(args.rounds):
        d = chars_per_second(default, xs, repeat=1)
        s_ = chars_per_second(stock, xs, repeat=1)
        f = chars_per_second(shipped, xs, repeat=1, fast=True)
        r_default.append(f / d)
        r_stock.append(f / s_)
    for label, rs in (("spaCy default efficiency", r_default), ("the same model on spaCy's stock path", r_stock)):
        rs.sort()
        print(f"interleaved, shipped model as piplwatch runs it / {label}: median {rs[len(rs) // 2]:.2f}x "
              f"(min {rs[0]:.2f}x, max {rs[-1]:.2f}x, {len(rs)} rounds)")
    if args.tradeoff:
        print("\ntrade-off (untrained variants, same text): width/depth/hidden, features")
        for w, d, h, rws, attrs, bg in [(96, 4, 64, [5000, 1000, 2500, 2500], ["NORM", "PREFIX", "SUFFIX", "SHAPE"], False),
                                        (64, 2, 32, [8000], ["NORM"], False), (64, 3, 32, [8000], ["NORM"], False),
                                        (96, 3, 64, [8000, 40000], ["NORM", "LEMMA"], True),
                                        (64, 3, 48, [8000, 40000], ["NORM", "LEMMA"], True),
                                        (64, 3, 32, [8000, 40000], ["NORM", "LEMMA"], True),
                                        (64, 2, 48, [8000, 40000], ["NORM", "LEMMA"], True),
                                        (64, 2, 32, [8000, 40000], ["NORM", "LEMMA"], True)]:
            cps = chars_per_second(initialized(variant(w, d, h, rws, attrs, bg), xs), xs, repeat=1, fast=True)
            print(f"  w{w} d{d} h{h} {'+'.join(attrs):<28} {'bigrams' if bg else 'chars  '} {cps:>10,.0f} chars/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
