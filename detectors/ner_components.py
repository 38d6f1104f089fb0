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
