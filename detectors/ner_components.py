"""spaCy components the NER model needs at training and load time (registered on import, no model state).

``piplwatch_char_bigrams`` writes each character's forward bigram (this char + the next) into ``token.lemma_``:
with one token per character, the tok2vec layer then embeds bigrams through the ``LEMMA`` attribute, the
single most useful feature for Chinese character-level NER. It never touches ``doc.ents``.
"""

from __future__ import annotations

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


# a clause (no sentence or list punctuation) that reaches a street-level part and ends in a building unit
_ADDRESS_TAIL = __import__("re").compile(
    r"[^，。；,;：:！？!?、\s]*?(?:路|街|道|巷|弄|村|胡同|大道)[^，。；,;：:！？!?、\s]*(?:号楼|号院|号|室|楼|栋|幢|单元|层|座)"
    r"[0-9A-Za-z\-]*")
MAX_ADDRESS_CHARS = 80


@Language.component("piplwatch_address_extend")
def address_extend(doc: Doc) -> Doc:
    """Grow a LOCATION/ADDRESS span into one ADDRESS when its clause continues to a street and a building unit.

    The model often stops at the toponym (浙江省) of a full postal address; the address-parsing corpus defines the
    whole line as one address. Entities inside the grown span (a shop name, a person at the address) are absorbed.
    """
    text = doc.text
    ents = list(doc.ents)
    out = []
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
    doc.ents = [e for i, e in enumerate(out) if not any(o is not e and o.start <= e.start and e.end <= o.end
                                                       for o in out[:i] + out[i + 1:])]
    return doc
