"""spaCy components the NER model needs at training and load time (registered on import, no model state).

``piplwatch_char_bigrams`` writes each character's forward bigram (this char + the next) into ``token.lemma_``:
with one token per character, the tok2vec layer then embeds bigrams through the ``LEMMA`` attribute, the
single most useful feature for Chinese character-level NER. It never touches ``doc.ents``.
"""

from __future__ import annotations

import re
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

END = "</s>"


@Language.component("piplwatch_char_bigrams")
def char_bigrams(doc: Doc) -> Doc:
    """Set ``lemma_`` to the forward character bigram of every token."""
    words = [t.text for t in doc]
    words.append(END)
    for i, tok in enumerate(doc):
        tok.lemma_ = words[i] + words[i + 1]
    return doc


# a character inside a clause (no sentence or list punctuation, no space)
_IN_CLAUSE = r"[^，。；,;：:！？!?、\s]"
# a clause that reaches a street-level part and ends in a building unit
_ADDRESS_TAIL = re.compile(
    rf"{_IN_CLAUSE}*?(?:路|街|道|巷|弄|村|胡同|大道){_IN_CLAUSE}*(?:号楼|号院|号|室|楼|栋|幢|单元|层|座)"
    r"[0-9A-Za-z\-]*"
)
MAX_ADDRESS_CHARS = 80


@Language.component("piplwatch_address_extend")
def address_extend(doc: Doc) -> Doc:
    """Grow a LOCATION/ADDRESS span into one ADDRESS when its clause continues to a street and a building unit.

    The model often stops at the toponym (浙江省) of a full postal address; the address-parsing corpus defines the
    whole line as one address. Entities inside the grown span (a shop name, a person at the address) are absorbed.
    Then ``_join_address_parts`` makes the remaining pieces of one address one span (see there).
    """
    text = doc.text
    ents = list(doc.ents)
    out: list[Any] = []
    covered_until = -1
    for ent in ents:
        if ent.start_char < covered_until:
            continue
        if ent.label_ in ("LOCATION", "ADDRESS"):
            m = _ADDRESS_TAIL.match(text, ent.start_char, min(len(text), ent.start_char + MAX_ADDRESS_CHARS))
            if m and m.end() > ent.end_char:
                span = doc.char_span(ent.start_char, m.end(), label="ADDRESS", alignment_mode="expand")
                if span is not None:
                    out = [e for e in out if e.end <= span.start]
                    out.append(span)
                    covered_until = span.end_char
                    continue
        out.append(ent)
    out = [
        e
        for i, e in enumerate(out)
        if not any(o is not e and o.start <= e.start and e.end <= o.end for o in out[:i] + out[i + 1 :])
    ]
    doc.ents = _join_address_parts(doc, text, sorted(out, key=lambda e: e.start))
    return doc


_CLAUSE_BREAK = frozenset("，。；,;：:！？!?、()（）[]【】\"'“”‘’ \t\n")
MAX_BACK_CHARS = 24
_NUM = "0-9A-Za-z一二三四五六七八九十百零"
# a span that ends in a building unit (号, 室, 栋, 幢, 单元 ... or 8-6-1440) is a postal address, whatever the model
# called it (it often calls an estate name plus unit an ORGANIZATION)
_UNIT_TAIL = re.compile(
    rf"(?:[{_NUM}]+(?:号楼|号院|号|室|栋|幢|单元|层|楼|座|组团)[0-9A-Za-z\-]*|[0-9]+-[0-9]+(?:-[0-9]+)?)$"
)
# a street name, its number and what follows up to the clause end: an address the model missed entirely
_STREET_NUMBER = re.compile(
    r"(?:(?![在于到是住的和与从往去向及或])[\u4e00-\u9fff]){2,5}(?:大道|路|街|巷|弄)"
    rf"[0-9一二三四五六七八九十百]+{_IN_CLAUSE}{{0,30}}"
)


def _street_number_spans(doc: Doc, text: str, ents: list) -> list:
    taken = [(e.start_char, e.end_char) for e in ents]
    extra = []
    for m in _STREET_NUMBER.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        span = doc.char_span(m.start(), m.end(), label="ADDRESS", alignment_mode="expand")
        if span is not None:
            extra.append(span)
    return sorted(ents + extra, key=lambda e: e.start) if extra else ents


def _relabel_unit_tail(doc: Doc, ent):
    if ent.label_ in ("ORGANIZATION", "LOCATION", "PERSON") and len(ent.text) >= 6 and _UNIT_TAIL.search(ent.text):
        return doc.char_span(ent.start_char, ent.end_char, label="ADDRESS") or ent
    return ent


def _join_address_parts(doc: Doc, text: str, ents: list) -> list:
    """One address, one span: the model often cuts a postal address into toponym and unit pieces.

    First spans ending in a building unit become ADDRESS and street + number spans the model missed are added; then
    - a LOCATION/ADDRESS chain whose pieces touch (at most one character between them, no clause break) and that
      holds an ADDRESS becomes one ADDRESS;
    - an ADDRESS that starts with its unit number (``12幢11号``) takes in the unlabelled estate or street name
      before it in the same clause.
    Pure LOCATION chains (``中国北京``) stay as they are.
    """
    ents = [_relabel_unit_tail(doc, e) for e in ents]
    ents = _street_number_spans(doc, text, ents)
    merged: list = []
    for ent in ents:
        merged.append(ent)
        while len(merged) >= 2:  # merging can make the piece before it joinable too
            prev, cur = merged[-2], merged[-1]
            gap = text[prev.end_char : cur.start_char]
            if not (
                prev.label_ in ("LOCATION", "ADDRESS")
                and cur.label_ in ("LOCATION", "ADDRESS")
                and "ADDRESS" in (prev.label_, cur.label_)
                and len(gap) <= 1
                and not any(c in _CLAUSE_BREAK for c in gap)
            ):
                break
            span = doc.char_span(prev.start_char, cur.end_char, label="ADDRESS", alignment_mode="expand")
            if span is None:
                break
            merged[-2:] = [span]
    out: list[Any] = []
    for ent in merged:
        if ent.label_ == "ADDRESS" and ent.text[:1].isascii() and ent.text[:1].isalnum():
            floor = out[-1].end_char if out else 0
            start = ent.start_char
            while start > floor and ent.start_char - start < MAX_BACK_CHARS and text[start - 1] not in _CLAUSE_BREAK:
                start -= 1
            if start < ent.start_char:
                span = doc.char_span(start, ent.end_char, label="ADDRESS", alignment_mode="expand")
                if span is not None:
                    ent = span
        out.append(ent)
    return out
