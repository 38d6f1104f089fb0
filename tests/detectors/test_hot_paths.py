"""Hot-path shortcuts give exactly what the readable definitions give."""

from __future__ import annotations

import datetime as dt
import random

from detectors.base import Check, Detector
from detectors.patterns.cn_mobile import (
    ALLOCATED_EXCEPTIONS,
    INVALID_PREFIXES,
    UNALLOCATED_SCORE,
    CnMobileDetector,
)
from detectors.validators import cn_ric


def test_born_after_cutoff_is_age_under_n_for_every_birth_date_around_today() -> None:
    today = cn_ric._today()
    day = dt.date(today.year - 16, 1, 1)
    while day <= dt.date(today.year - 12, 12, 31):  # every day of five years, leap days included
        number = f"110105{day:%Y%m%d}0010"
        assert cn_ric.born_after_cutoff(number, 14) == (cn_ric.age_on(number) < 14), day
        day += dt.timedelta(days=1)


def test_mobile_score_shortcut_matches_the_generic_rule() -> None:
    det = CnMobileDetector()
    rnd = random.Random(1)
    values = ["13812345678", "14012345678", "16101234567", "+86 138 1234 5678", "17400123456", "0086-13812345678"]
    values += [f"1{rnd.randint(3, 9)}{rnd.randint(0, 10**9 - 1):09d}" for _ in range(2000)]
    for v in values:
        for base in (0.3, 0.6):
            for context in (False, True):
                for check in (Check.NOT_APPLICABLE, Check.PASS, Check.FAIL):
                    number = v.replace(" ", "").replace("-", "").replace("+", "")[-11:]
                    unallocated = number[:3] in INVALID_PREFIXES and not number.startswith(ALLOCATED_EXCEPTIONS)
                    b = UNALLOCATED_SCORE if unallocated else base
                    assert det.score(v, base, check, context) == Detector.score(det, v, b, check, context), v
