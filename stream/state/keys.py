"""Names of the distinct-subject counter sets, built and parsed here only.

A counter set is a set of subject HMACs (plus per-transfer counts of unnamed individuals) that every worker keeps
in its durable store and shares on the counters topic:

- ``daily|<recipient>|<YYYY-MM-DD>``: distinct subjects sent to one recipient on one day (TA-26);
- ``cb|<YYYY>|<pi|spi>``: distinct individuals sent abroad in one year (TA-19/20/21).
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

DAILY = "daily"
YTD = "cb"
SENSITIVITIES = ("pi", "spi")


class SetName(NamedTuple):
    """A parsed counter-set name: ``kind`` is ``DAILY`` (recipient and day set) or ``YTD`` (year and sensitivity)."""

    kind: str
    recipient_id: str | None = None
    day: str | None = None  # ISO date, compared as text
    year: str | None = None
    sensitivity: str | None = None


def daily_set(recipient_id: str, day: dt.date) -> str:
    """Distinct subjects sent to ``recipient_id`` on ``day``."""
    return f"{DAILY}|{recipient_id}|{day.isoformat()}"


def ytd_set(year: int, sensitivity: str) -> str:
    """Distinct individuals (``pi``) or individuals with sensitive data (``spi``) sent abroad in ``year``."""
    return f"{YTD}|{year}|{sensitivity}"


def parse_set(name: str) -> SetName | None:
    """The parts of a counter-set name, or None if it is not one."""
    kind, _, rest = name.partition("|")
    if kind == DAILY:
        recipient, sep, day = rest.rpartition("|")
        return SetName(DAILY, recipient_id=recipient, day=day) if sep and recipient and day else None
    if kind == YTD:
        year, sep, sensitivity = rest.partition("|")
        return SetName(YTD, year=year, sensitivity=sensitivity) if sep and year and sensitivity else None
    return None


def is_set_name(name: str) -> bool:
    """Whether ``name`` names a counter set (what a shared update may touch)."""
    return name.startswith((DAILY + "|", YTD + "|"))


def consent_key(recipient_ref: str, subject_hmac: str) -> bytes:
    """The Kafka key of a consent: compaction keeps exactly the latest record per (recipient, subject); the subject
    only as its keyed HMAC."""
    return f"{recipient_ref}|{subject_hmac}".encode()
