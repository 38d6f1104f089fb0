"""Local state of one worker, in RocksDB (``rocksdict``): never raw identifiers, only keyed HMACs.

Two stores under ``state_dir``:

- ``materialized/``: consents and agreements, rebuilt at every start by reading their topics
  from the beginning (the embedded broker neither compacts nor recovers Faust changelogs
  reliably; a real Kafka with compaction gives the same result). Last write wins per
  (subject, recipient) and per recipient. On disk, so 10 million consents cost disk, not RAM.
- ``durable/``: counters that must survive a restart (cross-border year-to-date distinct
  individuals, distinct subjects per recipient per day) and per-transfer "done" markers.
  Counters are sets of subject HMACs, so a redelivered transfer cannot count twice.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any, Iterable

import orjson
from rocksdict import Options, Rdict, WriteBatch

from stream.records import Agreement, Consent, agreement_from_store


def _open(path: Path) -> Rdict:
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    opts.set_write_buffer_size(32 << 20)
    return Rdict(str(path), options=opts)


class StateStore:
    """Consents, agreements, counters and markers of one worker."""

    def __init__(self, state_dir: str | Path, *, fresh_materialized: bool = True) -> None:
        self.dir = Path(state_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        mat = self.dir / "materialized"
        if fresh_materialized and mat.exists():
            shutil.rmtree(mat)
        self.mat = _open(mat)
        self.durable = _open(self.dir / "durable")
        self.consent_count = 0
        self.agreement_count = 0
        self._agreements: dict[str, Agreement | None] = {}  # parsed cache; recipients are few

    def close(self) -> None:
        """Flush and close both stores."""
        for db in (self.mat, self.durable):
            try:
                db.close()
            except Exception:  # noqa: BLE001 - closing twice is harmless
                pass

    # -- materialized ---------------------------------------------------------------------------
    def put_agreement(self, a: Agreement) -> None:
        """Last write wins per recipient."""
        key = b"a|" + a.recipient_id.encode()
        if self.mat.get(key) is None:
            self.agreement_count += 1
        self.mat[key] = a.to_json()
        self._agreements[a.recipient_id] = a

    def agreement(self, recipient_id: str) -> Agreement | None:
        """The current agreement of a recipient, if any."""
        if recipient_id not in self._agreements:
            raw = self.mat.get(b"a|" + recipient_id.encode())
            if len(self._agreements) > 10_000:
                self._agreements.clear()
            self._agreements[recipient_id] = agreement_from_store(raw) if raw is not None else None
        return self._agreements[recipient_id]

    def put_consent(self, subject_hmac: str, c: Consent) -> None:
        """Last write wins per (subject, recipient). The subject is stored only as its HMAC."""
        key = f"c|{subject_hmac}|{c.recipient_id}".encode()
        ts = lambda t: t.timestamp() if t else None  # noqa: E731 - epoch seconds: compared on every lookup
        if self.mat.get(key) is None:
            self.consent_count += 1
        self.mat[key] = orjson.dumps({"p": c.purposes, "c": c.categories, "k": c.kind, "g": ts(c.granted_at),
                                      "e": ts(c.expires_at), "w": ts(c.withdrawn_at)})

    def consent(self, subject_hmac: str, recipient_id: str) -> dict[str, Any] | None:
        """The consent of a subject (by HMAC) for a recipient, if any: purposes ``p``, categories ``c``, kind ``k``,
        granted ``g``, expires ``e`` and withdrawn ``w`` as epoch seconds (``e``/``w`` may be None)."""
        raw = self.mat.get(f"c|{subject_hmac}|{recipient_id}".encode())
        return orjson.loads(raw) if raw is not None else None

    # -- durable ---------------------------------------------------------------------------------
    def is_done(self, transfer_id: str, digest: bytes) -> bool:
        """Whether this very message (transfer id and content digest) already had its outputs acknowledged.

        Keyed by transfer id, not by Kafka key or offset: keys may be shared (e.g. by recipient) and offsets restart
        when an in-memory broker restarts, while this store persists.
        """
        return self.durable.get(b"done|" + transfer_id.encode()) == digest

    def mark_done(self, transfer_id: str, digest: bytes) -> None:
        """Record that a transfer's outputs were acknowledged."""
        self.durable[b"done|" + transfer_id.encode()] = digest

    def set_size(self, name: str) -> int:
        """Members of a counter set."""
        raw = self.durable.get(b"n|" + name.encode())
        return int(raw) if raw is not None else 0

    def new_members(self, name: str, members: Iterable[str]) -> list[str]:
        """Which of ``members`` are not yet in set ``name`` (read only)."""
        prefix = f"s|{name}|"
        return [m for m in set(members) if self.durable.get((prefix + m).encode()) is None]

    def add_members(self, name: str, members: Iterable[str], *, extra: int = 0) -> int:
        """Add members (idempotent) plus ``extra`` anonymous ones; return the new size."""
        new = self.new_members(name, members)
        size = self.set_size(name) + len(new) + extra
        if new or extra:
            wb = WriteBatch(raw_mode=True)
            prefix = f"s|{name}|"
            for m in new:
                wb.put((prefix + m).encode(), b"")
            wb.put(b"n|" + name.encode(), str(size).encode())
            self.durable.write(wb)
        return size

    def daily_history(self, recipient_id: str, day: dt.date, days: int = 7) -> list[int]:
        """Distinct-subject counts of the previous ``days`` days that had any traffic."""
        out = []
        for i in range(1, days + 1):
            n = self.set_size(f"daily|{recipient_id}|{(day - dt.timedelta(days=i)).isoformat()}")
            if n:
                out.append(n)
        return out
