"""Normalisation that keeps offsets stable (identifiers.md §0.1).

Full-width forms U+FF01..U+FF5E fold 1:1 to ASCII and U+3000 to a space: one character in,
one character out, so offsets into the folded text are offsets into the original. NFKC is
deliberately not used (it changes lengths).
"""

from __future__ import annotations

import re

_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FOLD[0x3000] = 0x20
_FOLD.update({0x2010: 0x2D, 0x2014: 0x2D, 0x2022: 0xB7, 0x2027: 0xB7})
# only characters that can be part of an identifier trigger folding: full-width punctuation
# such as ，。：（ is everywhere in Chinese text and patterns accept it as it is
_NEEDS_FOLD = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff0a\uff0b\uff0d\uff20\uff0e\u3000\u2010\u2014]")


def fold(text: str) -> str:
    """Fold full-width characters and dashes to ASCII, 1:1."""
    if _NEEDS_FOLD.search(text) is None:
        return text
    return text.translate(_FOLD)


_NON_DIGITS = re.compile("[^0-9]+")
_SEPARATORS = str.maketrans("", "", " -()")


def digits_only(value: str) -> str:
    """Keep only ASCII digits."""
    if value.isdigit() and value.isascii():
        return value  # the common case on the hot path: nothing to strip
    return _NON_DIGITS.sub("", value)


def strip_separators(value: str) -> str:
    """Drop spaces, hyphens and parentheses (the default normal form before HMAC)."""
    return value.translate(_SEPARATORS)
