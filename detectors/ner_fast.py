"""Run the shipped spaCy pipeline with piplwatch's greedy NER decoder (same model, same moves, same result).

Two costs of spaCy 3.8's stock inference path dominate on the machines piplwatch runs on, and neither is
the model's arithmetic:

* the compiled parser loop takes and releases the GIL inside every move-validity check (``StateC::B``
  in ``_state.pxd`` as built with Cython 3), ~70% of the NER component's time;
* thinc's default matrix multiply is BLIS, whose portable reference kernel runs when BLIS does not
  recognise the CPU (an AVX-512 EPYC here): 16 GMAC/s against OpenBLAS's 90.

``load_pipeline`` loads a pipeline on numpy/OpenBLAS matrix multiplies (``NumpyOps(use_blis=False)``);
``pipe`` runs its components in order, with the ``ner`` component decoded by
``detectors._greedy_ner.decode`` (compiled at install) over the very features spaCy's step model computes.
Where the compiled decoder is missing (a build without a C compiler) or the component is not a greedy
NER, ``pipe`` is spaCy's own path. ``tests/models/test_ner_fast.py`` checks that both give the same
entities on every dev sentence of every corpus.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy

try:
    from detectors._greedy_ner import decode as _decode
except ImportError:  # pragma: no cover - depends on the build
    _decode = None

_KINDS = {"B": 1, "I": 2, "L": 3, "U": 4, "O": 5}
FAST_ENV = "PIPLWATCH_NER_DECODER"  # "spacy" forces spaCy's own parser loop (for comparisons)


def available() -> bool:
    """True when the compiled decoder is importable."""
    return _decode is not None


def load_pipeline(path: str | os.PathLike[str]) -> Any:
    """``spacy.load`` with numpy (OpenBLAS) matrix multiplies instead of BLIS for this pipeline's layers."""
    import spacy
    from thinc.api import use_ops

    import detectors.ner_components  # noqa: F401 - registers the pipeline's own components

    with use_ops("numpy", use_blis=False):
        return spacy.load(Path(path))


class _Decoder:
    """Per-component constants of the decoder (moves, labels, unseen classes), built once."""

    def __init__(self, proc: Any) -> None:
        strings = proc.vocab.strings
        names = [proc.moves.get_class_name(i) for i in range(proc.moves.n_moves)]
        kinds, labels = [], []
        for name in names:
            kind, _, label = name.partition("-")
            if kind not in _KINDS:
                raise ValueError(f"unknown NER move {name!r}")
            kinds.append(_KINDS[kind])
            labels.append(strings.as_int(label) if label else 0)
        self.n_moves = len(names)
        self.kinds = numpy.asarray(kinds, dtype=numpy.int32)
        self.labels = numpy.asarray(labels, dtype=numpy.uint64)
        model = proc.model
        self.model = model
        self.tok2vec = model.get_ref("tok2vec")
        self.lower = model.get_ref("lower")
        self.upper = model.get_ref("upper") if model.attrs.get("has_upper", True) else None

    def class_mask(self) -> numpy.ndarray:
        """1 per move, 0 for moves never seen in training (spaCy scores those with the step's minimum)."""
        mask = numpy.ones((self.n_moves,), dtype=numpy.float32)
        for c in self.model.attrs.get("unseen_classes", ()):
            mask[c] = 0
        return mask


_DECODERS: dict[int, tuple[Any, _Decoder]] = {}  # id(component) -> (component, its decoder); kept alive together


def _usable(proc: Any) -> bool:
    if _decode is None or os.environ.get(FAST_ENV) == "spacy":
        return False
    from spacy.pipeline import EntityRecognizer

    return isinstance(proc, EntityRecognizer) and proc.cfg.get("beam_width", 1) == 1


def annotate(proc: Any, docs: list[Any]) -> None:
    """What ``proc.predict`` + ``proc.set_annotations`` do for a greedy NER component, with our decoder."""
    from spacy.attrs import ENT_IOB, ENT_TYPE, IS_SPACE, SENT_START
    from spacy.tokens import Span

    if not any(len(d) for d in docs):
        return
    entry = _DECODERS.get(id(proc))
    if entry is None or entry[1].n_moves != proc.moves.n_moves:  # labels added since: rebuild
        entry = _DECODERS[id(proc)] = (proc, _Decoder(proc))
    dec = entry[1]
    tokvecs = dec.tok2vec.predict(docs)
    cached = dec.lower.predict(tokvecs)  # (tokens + 1, nF, nO, nP); row 0 is the padding
    n_feats, n_hidden, n_pieces = cached.shape[1], cached.shape[2], cached.shape[3]
    cached = numpy.ascontiguousarray(cached, dtype=numpy.float32).reshape(cached.shape[0], -1)
    bias = numpy.ascontiguousarray(dec.lower.get_param("b"), dtype=numpy.float32).reshape(-1)
    up_w = up_b = None
    if dec.upper is not None:
        up_w = numpy.ascontiguousarray(dec.upper.get_param("W"), dtype=numpy.float32)
        up_b = numpy.ascontiguousarray(dec.upper.get_param("b"), dtype=numpy.float32)
    arrays = [d.to_array([ENT_IOB, ENT_TYPE, SENT_START, IS_SPACE]) for d in docs if len(d)]
    attrs = numpy.concatenate(arrays) if arrays else numpy.zeros((0, 4), dtype=numpy.uint64)
    ents = _decode(
        cached,
        bias,
        up_w,
        up_b,
        dec.class_mask(),
        dec.kinds,
        dec.labels,
        numpy.asarray([len(d) for d in docs], dtype=numpy.int32),
        attrs[:, 0].astype(numpy.int32),
        numpy.ascontiguousarray(attrs[:, 1], dtype=numpy.uint64),
        attrs[:, 2].view(numpy.int64).astype(numpy.int32),
        attrs[:, 3].astype(numpy.uint8),
        n_feats,
        n_hidden,
        n_pieces,
    )
    for doc, found in zip(docs, ents):
        if not len(doc):
            continue
        doc.set_ents([Span(doc, s, e, label=label, kb_id=doc[s].ent_kb_id) for s, e, label in found], default="outside")


def pipe(nlp: Any, texts: Iterable[str], *, batch_size: int = 256) -> Iterator[Any]:
    """``nlp.pipe(texts)`` with the ``ner`` component decoded by piplwatch's decoder where it can be."""
    from spacy.util import minibatch

    procs = list(nlp.pipeline)
    fast = {name: _usable(proc) for name, proc in procs}
    if _decode is None:
        warnings.warn(
            "detectors._greedy_ner is not compiled (no C compiler at install?): NER runs spaCy's own "
            "parser loop, about 2x slower",
            RuntimeWarning,
            stacklevel=2,
        )
    if not any(fast.values()):
        yield from nlp.pipe(texts, batch_size=batch_size)
        return
    for batch in minibatch(texts, size=batch_size):
        docs = [nlp.make_doc(t) for t in batch]
        for name, proc in procs:
            if fast[name]:
                annotate(proc, docs)
            elif hasattr(proc, "pipe"):
                docs = list(proc.pipe(docs, batch_size=len(docs)))
            else:
                docs = [proc(d) for d in docs]
        yield from docs
