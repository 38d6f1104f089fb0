"""False-positive regression on real review text (shared/data/fp-text).

The reviews contain a few real phone numbers, landlines and one QQ number (data README);
those are pinned below as known true positives. Anything else is a false positive, and the
budget is at most 1 identifier finding per 2,000 reviews.
"""

from __future__ import annotations

import collections
import csv

import pytest

# fmt: off
PINNED = {
    "hotel_reviews.csv": {"CN_MOBILE": 6, "CN_LANDLINE": 4, "CN_QQ": 1},
    "delivery_reviews.csv": {"CN_MOBILE": 3, "CN_MOBILE_MASKED": 1},
}
# fmt: on


@pytest.mark.parametrize("name", sorted(PINNED))
def test_fp_corpus_findings_are_the_known_true_positives(scanner, shared_data, name) -> None:
    with open(shared_data / "fp-text" / name, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    counts: collections.Counter[str] = collections.Counter()
    for row in rows:
        for f in scanner.scan(row["review"]):
            counts[f.entity_type] += 1
    assert dict(counts) == PINNED[name]
    unexpected = sum(counts.values()) - sum(PINNED[name].values())
    assert unexpected <= len(rows) / 2000
