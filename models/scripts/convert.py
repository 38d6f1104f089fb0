"""Convert the shared Chinese NER corpora into spaCy DocBins for piplwatch's NER model.

Output labels: PERSON, LOCATION, ORGANIZATION, ADDRESS (see ../README.md for the mapping).
Every corpus keeps its own held-back dev split (carved here, deterministically, where the
corpus ships none) so that quality can be reported per corpus and label.

Usage: python scripts/convert.py DATA_DIR OUT_DIR [--msra-train N] [--seed S] [--upsample cluener=2,...]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

import spacy
from spacy.tokens import DocBin

from detectors.taxonomy import NER_LABELS

STREET = re.compile(r"[路街巷弄道号室栋幢楼村组里胡同小区单元]")

CLUENER_MAP = {
    "name": "PERSON",
    "company": "ORGANIZATION",
    "organization": "ORGANIZATION",
    "government": "ORGANIZATION",
    "address": "LOCATION",
}
BOSON_MAP = {
    "person_name": "PERSON",
    "location": "LOCATION",
    "org_name": "ORGANIZATION",
    "company_name": "ORGANIZATION",
}
BIO_MAP = {
    "PER": "PERSON",
    "LOC": "LOCATION",
    "ORG": "ORGANIZATION",
    "GPE": "LOCATION",
    "PER.NAM": "PERSON",
    "LOC.NAM": "LOCATION",
    "GPE.NAM": "LOCATION",
    "ORG.NAM": "ORGANIZATION",
    "NAME": "PERSON",
}
assert {*CLUENER_MAP.values(), *BOSON_MAP.values(), *BIO_MAP.values()} <= set(NER_LABELS)


def _address_or_location(text: str, label: str) -> str:
    """CLUENER/BDCI ``address`` mixes toponyms and street addresses: split them."""
    if label == "LOCATION" and STREET.search(text) and len(text) >= 6:
        return "ADDRESS"
    return label


def read_bio(path: Path, *, bmes: bool = False) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Read char<TAB>tag files (BIO or BMES) into (text, [(start, end, raw_label)])."""
    out = []
    chars: list[str] = []
    tags: list[str] = []
    for line in list(path.open(encoding="utf-8")) + [""]:
        line = line.rstrip("\n")
        if not line.strip():
            if chars:
                out.append(_spans_from_tags(chars, tags, bmes))
            chars, tags = [], []
            continue
        tok, _, tag = line.partition("\t")
        if len(tok) > 1 and tok[-1].isdigit() and not tok.isdigit():
            tok = tok[:-1]  # weibo: stray word-position digit
        chars.append(tok)
        tags.append(tag.strip() or "O")
    return out


def _spans_from_tags(toks: list[str], tags: list[str], bmes: bool):
    text = ""
    offs = []
    for t in toks:
        offs.append((len(text), len(text) + len(t)))
        text += t
    spans = []
    cur = None
    for (s, e), tag in zip(offs, tags):
        pre, _, lab = tag.partition("-")
        if pre in ("B", "S") or (pre in ("I", "M", "E") and (cur is None or cur[2] != lab)):
            if cur:
                spans.append(tuple(cur))
            cur = [s, e, lab]
            if pre == "S":
                spans.append(tuple(cur))
                cur = None
        elif pre in ("I", "M", "E") and cur is not None:
            cur[1] = e
            if pre == "E" and bmes:
                spans.append(tuple(cur))
                cur = None
        else:
            if cur:
                spans.append(tuple(cur))
            cur = None
    if cur:
        spans.append(tuple(cur))
    return text, spans


def map_spans(items, mapping):
    out = []
    for text, spans in items:
        mapped = [(s, e, mapping[lab]) for s, e, lab in spans if lab in mapping]
        out.append((text, mapped))
    return out


def read_address(path: Path):
    """Address parsing: union of components = ADDRESS; the ``person`` component = PERSON."""
    out = []
    for text, spans in read_bio(path):
        spans = sorted(spans)
        res = []
        cur = None
        for s, e, lab in spans:
            if lab.lower() == "person":
                if cur:
                    res.append(tuple(cur))
                    cur = None
                res.append((s, e, "PERSON"))
                continue
            if cur and s <= cur[1] + 1:
                cur[1] = e
            else:
                if cur:
                    res.append(tuple(cur))
                cur = [s, e, "ADDRESS"]
        if cur:
            res.append(tuple(cur))
        out.append((text, res))
    return out


def read_cluener(path: Path):
    out = []
    for line in path.open(encoding="utf-8"):
        rec = json.loads(line)
        spans = []
        for lab, ents in rec.get("label", {}).items():
            if lab not in CLUENER_MAP:
                continue
            for ent, offs in ents.items():
                for s, e in offs:
                    spans.append((s, e + 1, _address_or_location(ent, CLUENER_MAP[lab])))
        out.append((rec["text"], spans))
    return out


def read_jsonl_spans(path: Path, key: str, mapping):
    out = []
    for line in path.open(encoding="utf-8"):
        rec = json.loads(line)
        text = rec["text"]
        spans = []
        for ent in rec[key]:
            if key == "entity_list":
                s, e, lab = ent["entity_index"]["begin"], ent["entity_index"]["end"], ent["entity_type"]
            else:
                s, e, lab = ent["start"], ent["end"], ent["type"]
            if lab not in mapping:
                continue
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if s < e:
                spans.append((s, e, _address_or_location(text[s:e], mapping[lab])))
        out.append((text.rstrip("\n"), spans))
    return out


def to_docbin(nlp, items, stats: Counter) -> DocBin:
    db = DocBin(store_user_data=False)
    for text, spans in items:
        if not text.strip():
            continue
        doc = nlp.make_doc(text)
        ents = []
        taken = set()
        for s, e, lab in sorted(set(spans), key=lambda x: (x[0], -(x[1] - x[0]))):
            span = doc.char_span(s, e, label=lab, alignment_mode="strict")
            if span is None or any(i in taken for i in range(span.start, span.end)):
                stats["skipped_span"] += 1
                continue
            taken.update(range(span.start, span.end))
            ents.append(span)
            stats[lab] += 1
        doc.ents = ents
        db.add(doc)
        stats["docs"] += 1
    return db


MSRA_DEV, CLUENER_DEV = 2000, 1000
MSRA_BLOCK = 250  # MSRA is in document order: a block of 250 sentences is a run of whole articles but for its edges
OVERLAP_CHARS = 14  # the data README's rule for its withheld splits: a shared 14-character run is a leak


def shuffled_split(rnd: random.Random, items, n_dev: int):
    """(train, dev): ``items`` shuffled by ``rnd``, the first ``n_dev`` held back."""
    items = list(items)
    rnd.shuffle(items)
    return items[n_dev:], items[:n_dev]


def block_split(rnd: random.Random, items, n_dev: int, block: int):
    """(train, dev) by contiguous blocks of ``block`` items, ``rnd`` choosing which blocks are held back: a corpus in
    document order is split by document (up to the blocks' edges), not by sentence."""
    items = list(items)
    blocks = [items[i : i + block] for i in range(0, len(items), block)]
    order = list(range(len(blocks)))
    rnd.shuffle(order)
    held = set(order[: -(-n_dev // block)])
    train = [x for i, b in enumerate(blocks) if i not in held for x in b]
    dev = [x for i, b in enumerate(blocks) if i in held for x in b]
    return train, dev


def _grams(text: str, n: int = OVERLAP_CHARS):
    return (text[i : i + n] for i in range(max(1, len(text) - n + 1)))


def overlap_grams(*devs, n: int = OVERLAP_CHARS) -> set[str]:
    """Every ``n``-character run of the dev texts."""
    return {g for dev in devs for text, _ in dev for g in _grams(text, n)}


def drop_overlapping(train, *devs, n: int = OVERLAP_CHARS, grams: set[str] | None = None):
    """``train`` without the texts that share an ``n``-character run with any dev text (repeated sentences, quotes,
    boilerplate: a sentence split would otherwise score the model on text it was trained on). ``grams``: the dev
    texts' runs when the caller has them already (``overlap_grams``)."""
    seen = overlap_grams(*devs, n=n) if grams is None else grams
    return [(t, sp) for t, sp in train if not any(g in seen for g in _grams(t, n))]


def carve(ner: Path, rnd: random.Random) -> dict[str, tuple[list, list]]:
    """The corpora without a dev file of their own, split leak-free (``rnd`` seeded with the training seed; MSRA
    first, then CLUENER: the order is part of the split). MSRA by blocks of whole articles; CLUENER (a shuffled
    file with no document ids) by sentence; both then lose every training sentence that shares a 14-character run
    with their dev part. The gate and overlap scripts and the NER gate benchmark use this too, so they never read a
    training sentence as dev."""
    msra_train, msra_dev = block_split(
        rnd, map_spans(read_bio(ner / "msra" / "msra.bio"), BIO_MAP), MSRA_DEV, MSRA_BLOCK
    )
    clu_train, clu_dev = shuffled_split(rnd, read_cluener(ner / "cluener" / "train.json"), CLUENER_DEV)
    return {
        "msra": (drop_overlapping(msra_train, msra_dev), msra_dev),
        "cluener": (drop_overlapping(clu_train, clu_dev), clu_dev),
    }


PD_LABELS = {"nr": "PERSON", "ns": "LOCATION", "nt": "ORGANIZATION"}
_PD_SENT = re.compile(r"(?<=[。！？])")


def read_peoples_daily(path: Path):
    """People's Daily 1998 (``word/POS`` tokens): ``nr`` PERSON (a surname and given name are two adjacent ``nr``
    tokens: joined), ``ns`` LOCATION, ``nt`` ORGANIZATION, bracketed compounds (``[中央/n 电视台/n]nt``) by their
    outer tag. Paragraphs are cut into sentences."""
    out = []
    for line in path.open(encoding="utf-8"):
        text = ""
        spans: list[list] = []
        compound = None
        for tok in line.split():
            start_compound = tok.startswith("[")
            tok = tok.lstrip("[")
            word, _, tag = tok.rpartition("/")
            outer = None
            if "]" in tag:
                tag, _, outer = tag.partition("]")
            if start_compound:
                compound = len(text)
            label = PD_LABELS.get(tag[:2]) if compound is None else None
            s = len(text)
            text += word
            if label:
                if label == "PERSON" and spans and spans[-1][2] == "PERSON" and spans[-1][1] == s and spans[-1][3]:
                    spans[-1][1] = len(text)  # given name after a surname
                    spans[-1][3] = False
                else:
                    spans.append([s, len(text), label, label == "PERSON" and len(word) == 1])
            if outer is not None and compound is not None:
                if outer[:2] in PD_LABELS:
                    spans.append([compound, len(text), PD_LABELS[outer[:2]], False])
                compound = None
        offset = 0
        for sent in filter(None, _PD_SENT.split(text)):
            end = offset + len(sent)
            sub = [(s - offset, e - offset, lab) for s, e, lab, _ in spans if s >= offset and e <= end]
            if sent.strip():
                out.append((sent, sub))
            offset = end
    return out


def training_corpora(ner: Path, rnd: random.Random, *, msra_train: int, pd1998: bool) -> dict[str, tuple[list, list]]:
    """Every corpus as (train, dev), leak-free: MSRA and CLUENER carved (``carve``: their training parts lose the
    texts that overlap their own dev part), Boson split by document, the rest with their own dev files, and these
    (and People's Daily) lose the texts that overlap any dev part. ``rnd`` is the
    training seed's generator (``main`` goes on using it). ``name_overlap.py`` and ``gate_chars.py`` read the
    training parts from here, so they see exactly what the model was trained on."""
    corpora: dict[str, tuple[list, list]] = carve(ner, rnd)
    corpora["msra"] = (corpora["msra"][0][:msra_train], corpora["msra"][1])
    dev_texts = {t for t, _ in corpora["cluener"][1]}
    bdci = read_jsonl_spans(ner / "bdci2020_privacy" / "train.jsonl", "entities", {**CLUENER_MAP})
    # BDCI texts concatenate CLUENER sentences: drop any that contain a CLUENER dev sentence.
    corpora["bdci"] = ([(t, s) for t, s in bdci if not any(d in t for d in dev_texts)], [])
    corpora["weibo"] = (
        map_spans(read_bio(ner / "weibo" / "train.bio"), BIO_MAP),
        map_spans(read_bio(ner / "weibo" / "dev.bio"), BIO_MAP),
    )
    corpora["resume"] = (
        map_spans(read_bio(ner / "resume" / "train.bmes", bmes=True), BIO_MAP),
        map_spans(read_bio(ner / "resume" / "dev.bmes", bmes=True), BIO_MAP),
    )
    boson = read_jsonl_spans(ner / "boson" / "boson.jsonl", "entity_list", BOSON_MAP)
    corpora["boson"] = shuffled_split(rnd, boson, 200)  # one item per document
    corpora["address"] = (read_address(ner / "address" / "train.bio"), read_address(ner / "address" / "dev.bio"))
    grams = overlap_grams(*(dev for _, dev in corpora.values()))  # once, not per corpus
    for name in ("weibo", "resume", "boson", "address", "bdci"):
        corpora[name] = (drop_overlapping(corpora[name][0], grams=grams), corpora[name][1])
    if pd1998:
        pd = read_peoples_daily(ner / "peoples_daily_1998" / "199801.txt")
        corpora["pd1998"] = (drop_overlapping(pd, grams=grams), [])
    return corpora


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--msra-train", type=int, default=24000, help="MSRA sentences to train on")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument(
        "--pd1998",
        action="store_true",
        help="train on People's Daily 1998 too (sentences overlapping a dev part dropped)",
    )
    ap.add_argument(
        "--upsample",
        default="",
        metavar="NAME=K,...",
        help="repeat a corpus' training part K times (e.g. cluener=2,weibo=2: the informal-text corpora)",
    )
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    ner = args.data / "ner"
    nlp = spacy.blank("zh")  # char segmenter: one token per character, spans always align
    args.out.mkdir(parents=True, exist_ok=True)

    corpora = training_corpora(ner, rnd, msra_train=args.msra_train, pd1998=args.pd1998)

    upsample = {}
    for part in filter(None, args.upsample.split(",")):
        name, _, k = part.partition("=")
        if name not in corpora or not k.isdigit() or int(k) < 1:
            ap.error(f"--upsample: {part!r} is not CORPUS=K with CORPUS one of {', '.join(corpora)}")
        upsample[name] = int(k)
    train_all: list = []
    for name, (train, dev) in corpora.items():
        stats: Counter = Counter()
        train_all.extend(train * upsample.get(name, 1))
        if dev:
            to_docbin(nlp, dev, stats).to_disk(args.out / f"dev_{name}.spacy")
        print(
            f"{name}: train={len(train)}x{upsample.get(name, 1)} dev={len(dev)} dev_stats={dict(stats)}",
            file=sys.stderr,
        )
    rnd.shuffle(train_all)
    stats = Counter()
    to_docbin(nlp, train_all, stats).to_disk(args.out / "train.spacy")
    print(f"train: {dict(stats)}", file=sys.stderr)
    # a mixed, small dev set for model selection during training
    mixed = []
    for _, dev in corpora.values():
        mixed.extend(dev[:300])
    to_docbin(nlp, mixed, Counter()).to_disk(args.out / "dev.spacy")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
