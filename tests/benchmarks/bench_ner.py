"""NER speed: the shipped model vs spaCy's default `init config -l zh -p ner -o efficiency` pipeline, same text, one run.

Run:  .venv/bin/python tests/benchmarks/bench_ner.py [--sentences 2000] [--tradeoff] [--rounds 5]

One core: OpenBLAS is held to one thread (OPENBLAS_NUM_THREADS=1, set before numpy loads). The shipped model is
timed twice: as piplwatch runs it (``detectors.ner_fast``: numpy matmuls, our greedy NER decoder) and through
spaCy's stock ``nlp.pipe`` (BLIS, spaCy's parser loop); both give the same entities (tests/models).

Speed does not depend on trained weights, so the default pipeline and the --tradeoff variants are initialized,
not trained; the quality column of the trade-off table comes from models/metrics/*.json where a variant was
trained; they run on piplwatch's path. jieba's row is the segmenter alone (what word tokens would add).

--transformers times the forward pass of BERT-shaped character encoders (the models that reach CLUENER `name`
F1 ~0.89) in numpy float32 on the same core, with random weights: no pretrained Chinese transformer can be fetched
here, and the arithmetic, which is all the timing measures, does not depend on the weights. It is a ceiling for such
a model's speed (no tokenizer, no embedding lookup, no decoding), printed beside the shipped model's.
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


def encoder_chars_per_second(
    layers: int, hidden: int, heads: int, ffn: int, *, seq: int = 128, batch: int = 8, repeat: int = 3
) -> float:
    """Characters/s of a post-LN transformer encoder's forward pass (attention, GELU FFN, layer norms), float32."""
    import numpy as np

    rng = np.random.default_rng(0)
    f32 = np.float32

    def mat(a: int, b: int):
        return rng.standard_normal((a, b), dtype=f32) * f32(0.02)

    weights = [
        (mat(hidden, 3 * hidden), mat(hidden, hidden), mat(hidden, ffn), mat(ffn, hidden)) for _ in range(layers)
    ]
    dh = hidden // heads
    scale = f32(1 / np.sqrt(dh))

    def norm(x):
        x = x - x.mean(-1, keepdims=True)
        return x / (x.std(-1, keepdims=True) + f32(1e-6))

    def forward(x):
        for qkv_w, o_w, f1, f2 in weights:
            q, k, v = (x @ qkv_w).reshape(batch, seq, 3, heads, dh).transpose(2, 0, 3, 1, 4)
            a = (q @ k.transpose(0, 1, 3, 2)) * scale
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            x = norm(x + (a @ v).transpose(0, 2, 1, 3).reshape(batch, seq, hidden) @ o_w)
            h = x @ f1
            h = f32(0.5) * h * (f32(1) + np.tanh(f32(0.7978846) * (h + f32(0.044715) * h * h * h)))
            x = norm(x + h @ f2)
        assert x.dtype == f32
        return x

    x0 = rng.standard_normal((batch, seq, hidden), dtype=f32)
    forward(x0)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        forward(x0)
        best = min(best, time.perf_counter() - t)
    return batch * seq / best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--tradeoff", action="store_true", help="also time untrained architecture variants")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds for the median ratios")
    ap.add_argument(
        "--transformers",
        action="store_true",
        help="also time BERT-shaped encoders' forward pass (the CLUENER-0.89 class of model)",
    )
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
    rows.append(
        (f"jieba segmentation alone ({tokens / sum(map(len, xs)):.2f} tokens/char)", sum(map(len, xs)) / jieba_s)
    )
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
        print(
            f"interleaved, shipped model as piplwatch runs it / {label}: median {rs[len(rs) // 2]:.2f}x "
            f"(min {rs[0]:.2f}x, max {rs[-1]:.2f}x, {len(rs)} rounds)"
        )
    if args.transformers:
        base = chars_per_second(shipped, xs, repeat=1, fast=True)
        print(
            f"\ntransformer encoders, forward pass only (numpy float32, sequences of 128, batches of 8), beside the "
            f"shipped model ({base:,.0f} chars/s now):"
        )
        for name, cfg in (
            ("BERT-base / RoBERTa-wwm-base (12 x 768, FFN 3072)", (12, 768, 12, 3072)),
            ("RBT3 (3 x 768, FFN 3072)", (3, 768, 12, 3072)),
            ("TinyBERT-4 (4 x 312, FFN 1200)", (4, 312, 12, 1200)),
        ):
            cps = encoder_chars_per_second(*cfg)
            print(f"  {name:<50} {cps:>10,.0f} chars/s  ({base / cps:,.0f}x slower)")
    if args.tradeoff:
        print("\ntrade-off (untrained variants, same text): width/depth/hidden, features")
        for w, d, h, rws, attrs, bg in [
            (96, 4, 64, [5000, 1000, 2500, 2500], ["NORM", "PREFIX", "SUFFIX", "SHAPE"], False),
            (64, 2, 32, [8000], ["NORM"], False),
            (64, 3, 32, [8000], ["NORM"], False),
            (96, 3, 64, [8000, 40000], ["NORM", "LEMMA"], True),
            (64, 3, 48, [8000, 40000], ["NORM", "LEMMA"], True),
            (64, 3, 32, [8000, 40000], ["NORM", "LEMMA"], True),
            (64, 2, 48, [8000, 40000], ["NORM", "LEMMA"], True),
            (64, 2, 32, [8000, 40000], ["NORM", "LEMMA"], True),
        ]:
            cps = chars_per_second(initialized(variant(w, d, h, rws, attrs, bg), xs), xs, repeat=1, fast=True)
            print(f"  w{w} d{d} h{h} {'+'.join(attrs):<28} {'bigrams' if bg else 'chars  '} {cps:>10,.0f} chars/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
