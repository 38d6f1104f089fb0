"""piplwatch's greedy NER decoder gives exactly the entities spaCy's own parser loop gives, on the shipped model.

``detectors.ner_fast`` runs the pipeline with numpy matmuls and ``detectors._greedy_ner`` for the NER component
(spaCy 3.8's loop takes the GIL inside every validity check). These tests compare it against spaCy's stock
``nlp.pipe`` on the committed dev slice and on documents that exercise the rarer validity rules: preset
entities and outside tokens, sentence starts, whitespace tokens, empty documents and moves marked unseen.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from spacy.language import Language

from detectors import ner_fast
from detectors.ner import DEFAULT_MODEL

SLICE = Path(__file__).resolve().parents[1] / "data" / "ner_dev_slice.jsonl"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (DEFAULT_MODEL / "meta.json").exists(), reason="no shipped NER model"),
]


def ents(docs) -> list[list[tuple[int, int, str, str]]]:
    return [[(e.start_char, e.end_char, e.label_, e.kb_id_) for e in d.ents] for d in docs]


def iob(docs) -> list[list[str]]:
    return [[t.ent_iob_ for t in d] for d in docs]


@Language.component("test_preset_entities")
def preset(doc):
    """Presets the rarer transitions must respect: a two-token ORGANIZATION at the start, one token marked
    outside, a one-token PERSON, and a sentence start in the middle."""
    from spacy.tokens import Span

    n = len(doc)
    spans = []
    if n >= 8:
        spans = [Span(doc, 0, 2, label="ORGANIZATION"), Span(doc, 6, 7, label="PERSON")]
    doc.set_ents(spans, outside=[doc[4:5]] if n >= 8 else [], default="unmodified")
    if n >= 12:
        doc[10].is_sent_start = True
    return doc


@pytest.fixture(scope="module")
def texts() -> list[str]:
    rows = [json.loads(line) for line in SLICE.read_text(encoding="utf-8").splitlines()]
    return [r["text"] for r in rows]


@pytest.fixture(scope="module")
def stock():
    import detectors.ner_components  # noqa: F401

    return spacy.load(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def fast():
    return ner_fast.load_pipeline(DEFAULT_MODEL)


def test_compiled_decoder_is_built() -> None:
    assert ner_fast.available(), "detectors._greedy_ner is not compiled: reinstall with a C compiler"


def test_fast_decoder_matches_spacy_on_the_dev_slice(stock, fast, texts) -> None:
    want = list(stock.pipe(texts, batch_size=64))
    got = list(ner_fast.pipe(fast, texts, batch_size=64))
    assert sum(len(d.ents) for d in want) > 300  # the slice has plenty of entities to agree on
    assert ents(got) == ents(want)
    assert iob(got) == iob(want)


def test_fast_decoder_matches_spacy_with_spaces_and_empty_documents(stock, fast) -> None:
    texts = ["", "张 三 在 北京 工作", "  ", "李四住在上海市浦东新区世纪大道100号 ,  王五在杭州", "王", "aaa bbb 赵六"]
    want = list(stock.pipe(texts, batch_size=4))
    got = list(ner_fast.pipe(fast, texts, batch_size=4))
    assert ents(got) == ents(want)
    assert iob(got) == iob(want)


def test_fast_decoder_respects_preset_entities_and_sentence_starts(texts) -> None:
    import detectors.ner_components  # noqa: F401

    stock = spacy.load(DEFAULT_MODEL)
    fast = ner_fast.load_pipeline(DEFAULT_MODEL)
    for nlp in (stock, fast):
        nlp.add_pipe("test_preset_entities", before="ner")
    want = list(stock.pipe(texts[:200], batch_size=50))
    got = list(ner_fast.pipe(fast, texts[:200], batch_size=50))
    assert all(d.ents and d.ents[0].label_ == "ORGANIZATION" and d.ents[0].end == 2 for d in got if len(d) >= 8)
    assert ents(got) == ents(want)
    assert iob(got) == iob(want)


def test_fast_decoder_scores_unseen_moves_like_spacy(texts) -> None:
    import detectors.ner_components  # noqa: F401

    stock = spacy.load(DEFAULT_MODEL)
    fast = ner_fast.load_pipeline(DEFAULT_MODEL)
    names = [stock.get_pipe("ner").moves.get_class_name(i) for i in range(stock.get_pipe("ner").moves.n_moves)]
    unseen = {names.index("U-PERSON"), names.index("B-LOCATION")}
    for nlp in (stock, fast):
        nlp.get_pipe("ner").model.attrs["unseen_classes"] = set(unseen)
    want = list(stock.pipe(texts[:300], batch_size=100))
    got = list(ner_fast.pipe(fast, texts[:300], batch_size=100))
    assert ents(got) == ents(want)


def test_decoder_can_be_switched_off_for_comparisons(fast, texts, monkeypatch) -> None:
    monkeypatch.setenv(ner_fast.FAST_ENV, "spacy")
    called = []
    monkeypatch.setattr(ner_fast, "annotate", lambda *a: called.append(a))
    docs = list(ner_fast.pipe(fast, texts[:20]))
    assert not called and len(docs) == 20
