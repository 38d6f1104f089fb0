"""Local state of one worker, in RocksDB (``rocksdict``): never raw identifiers, only keyed HMACs.

Two stores under ``state_dir``:

- ``materialized/``: consents and agreements, read from their topics (the embedded broker neither
  compacts nor recovers Faust changelogs reliably, so the topics themselves are the source). Last
  write wins per (subject, recipient) and per recipient. On disk, so 10 million consents cost disk,
  not RAM. Each poll's records are written in one atomic batch together with the next offset and
  a digest of the last record applied per source partition, so a restart resumes where the store
  stopped (``Materializer`` first checks that the record it last applied is still at that offset,
  and rebuilds from the beginning otherwise).
- ``durable/``: counters that must survive a restart (cross-border year-to-date distinct
  individuals, distinct subjects per recipient per day) and per-transfer "done" markers.
  Counters are sets of subject HMACs, so a redelivered transfer cannot count twice.
  ``prune`` bounds it: done markers live in per-day buckets kept for ``DONE_DAYS`` processing
  days (they only suppress re-judging redeliveries, which come within minutes of a crash; an
  older redelivery is judged again, with identical keyed outputs and no double counting), daily
  sets for ``DAILY_KEEP_DAYS`` days (today and the 7-day baseline), year-to-date sets for this
  year and the last. Without it the store would grow by every transfer and every subject, forever.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, cast

import orjson
from rocksdict import Options, Rdict, WriteBatch

from stream.records import Agreement, Consent, agreement_from_store
from stream.state.keys import DAILY, YTD, daily_set, parse_set

COUNTS_KEY = b"m|counts"
DONE_DAYS = 3  # processing days whose done markers are checked and kept
DAILY_KEEP_DAYS = 9  # days of per-recipient daily sets kept: today, the 7-day baseline and one for late transfers
POSITION_PREFIX = b"m|pos|"
WRITE_CHUNK = 20_000  # keys per RocksDB write batch for large counter updates
TOMBSTONE_DAYS = 800  # a retraction is remembered while a year-to-date set it touched may still be read


class CounterChange(NamedTuple):
    """What one ``add_members`` call changed in a counter set (what a worker shares with the others): the new
    members, and the transfer whose count of unnamed individuals was set (None if that count did not change)."""

    name: str
    members: list[str]
    source: str | None
    extra: int


class SourcePosition(NamedTuple):
    """Where materialization of one source partition stopped: the next offset to read and the digest of the
    record just before it."""

    next_offset: int
    digest: bytes


def _epoch_day(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // 86400)


def _under(db: Rdict, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of every key that starts with ``prefix``, in key order."""
    for key, value in db.items(from_key=prefix):
        k = cast(bytes, key)  # raw mode: keys are bytes
        if not k.startswith(prefix):
            return
        yield k, value


def _delete_under(db: Rdict, prefix: bytes) -> None:
    """Drop every key that starts with ``prefix`` (one range tombstone)."""
    db.delete_range(prefix, prefix[:-1] + bytes([prefix[-1] + 1]))


def _source_key(source: str, name: str) -> bytes:
    """``r|<len>:<source>|<set>``: the sets a transfer added unnamed individuals to (length-prefixed, so no source is
    a prefix of another's entries)."""
    return f"r|{len(source)}:{source}|{name}".encode()


def _tombstone_key(source: str) -> bytes:
    return f"t|{source}".encode()


def _position_key(topic: str, partition: int) -> bytes:
    return POSITION_PREFIX + f"{topic}|{partition}".encode()


def _positions(db: Rdict) -> Iterator[tuple[tuple[str, int], bytes]]:
    """((topic, partition), stored value) of every source position kept in ``db``."""
    for key, value in _under(db, POSITION_PREFIX):
        topic, _, partition = key[len(POSITION_PREFIX) :].decode().rpartition("|")
        yield (topic, int(partition)), value


def _open(path: Path) -> Rdict:
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    opts.set_write_buffer_size(32 << 20)
    return Rdict(str(path), options=opts)


class StateStore:
    """Consents, agreements, counters and markers of one worker."""

    def __init__(self, state_dir: str | Path) -> None:
        self.dir = Path(state_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.mat = _open(self.dir / "materialized")
        self.durable = _open(self.dir / "durable")
        counts = self.mat.get(COUNTS_KEY)
        self.consent_count: int
        self.agreement_count: int
        self.consent_count, self.agreement_count = orjson.loads(counts) if counts is not None else (0, 0)
        self._agreements: dict[str, Agreement | None] = {}  # parsed cache; recipients are few
        self.daily_updates = 0  # shared daily-set updates applied (the judge's baseline cache watches it)

    def reset_materialized(self) -> None:
        """Drop every consent, agreement and source position (before rebuilding them from the beginning)."""
        self.mat.close()
        shutil.rmtree(self.dir / "materialized")
        self.mat = _open(self.dir / "materialized")
        self.consent_count = self.agreement_count = 0
        self._agreements.clear()

    def close(self) -> None:
        """Flush and close both stores."""
        for db in (self.mat, self.durable):
            try:
                db.close()
            except Exception:  # noqa: BLE001 - closing twice is harmless
                pass

    # -- materialized ---------------------------------------------------------------------------
    def apply(
        self,
        records: Iterable[tuple[bytes, bytes, Agreement | None]],
        positions: dict[tuple[str, int], SourcePosition] | None = None,
    ) -> None:
        """Write materialized records (from ``agreement_record`` / ``consent_record``; last write wins) and the source
        positions they bring the store to, in one atomic batch."""
        wb = WriteBatch(raw_mode=True)
        seen: set[bytes] = set()
        agreements = []
        for key, value, agreement in records:
            if key not in seen and self.mat.get(key) is None:
                if key.startswith(b"c|"):
                    self.consent_count += 1
                else:
                    self.agreement_count += 1
            seen.add(key)
            wb.put(key, value)
            if agreement is not None:
                agreements.append(agreement)
        for (topic, partition), pos in (positions or {}).items():
            wb.put(_position_key(topic, partition), orjson.dumps([pos.next_offset, pos.digest.hex()]))
        wb.put(COUNTS_KEY, orjson.dumps([self.consent_count, self.agreement_count]))
        self.mat.write(wb)
        for a in agreements:
            self._agreements[a.recipient_id] = a

    def source_positions(self) -> dict[tuple[str, int], SourcePosition]:
        """Where materialization stopped, per source topic partition."""
        out = {}
        for tp, value in _positions(self.mat):
            offset, digest = orjson.loads(value)
            out[tp] = SourcePosition(offset, bytes.fromhex(digest))
        return out

    @staticmethod
    def agreement_record(a: Agreement) -> tuple[bytes, bytes, Agreement]:
        """The store record of an agreement (key: recipient)."""
        return b"a|" + a.recipient_id.encode(), a.to_json(), a

    @staticmethod
    def consent_record(subject_hmac: str, c: Consent) -> tuple[bytes, bytes, None]:
        """The store record of a consent (key: subject HMAC and recipient; the subject only as its HMAC)."""
        ts = lambda t: t.timestamp() if t else None  # noqa: E731 - epoch seconds: compared on every lookup
        return (
            f"c|{subject_hmac}|{c.recipient_id}".encode(),
            orjson.dumps(
                {
                    "p": c.purposes,
                    "c": c.categories,
                    "k": c.kind,
                    "g": ts(c.granted_at),
                    "e": ts(c.expires_at),
                    "w": ts(c.withdrawn_at),
                }
            ),
            None,
        )

    def agreement(self, recipient_id: str) -> Agreement | None:
        """The current agreement of a recipient, if any."""
        if recipient_id not in self._agreements:
            raw = self.mat.get(b"a|" + recipient_id.encode())
            if len(self._agreements) > 10_000:
                self._agreements.clear()
            self._agreements[recipient_id] = agreement_from_store(raw) if raw is not None else None
        return self._agreements[recipient_id]

    def consent(self, subject_hmac: str, recipient_id: str) -> dict[str, Any] | None:
        """The consent of a subject (by HMAC) for a recipient, if any: purposes ``p``, categories ``c``, kind ``k``,
        granted ``g``, expires ``e`` and withdrawn ``w`` as epoch seconds (``e``/``w`` may be None)."""
        raw = self.mat.get(f"c|{subject_hmac}|{recipient_id}".encode())
        return orjson.loads(raw) if raw is not None else None

    # -- durable ---------------------------------------------------------------------------------
    def is_done(self, transfer_id: str, digest: bytes, now: float | None = None) -> bool:
        """Whether this very message (transfer id and content digest) had its outputs acknowledged in the last
        ``DONE_DAYS`` processing days.

        Keyed by transfer id, not by Kafka key or offset: keys may be shared (e.g. by recipient) and offsets restart
        when an in-memory broker restarts, while this store persists.
        """
        today = _epoch_day(now)
        tid = transfer_id.encode()
        for day in range(today, today - DONE_DAYS, -1):
            seen = self.durable.get(b"d|%05d|" % day + tid)
            if seen is not None:
                return seen == digest
        return False

    def mark_done(self, transfer_id: str, digest: bytes, now: float | None = None) -> None:
        """Record that a transfer's outputs were acknowledged (in today's bucket)."""
        self.durable[b"d|%05d|" % _epoch_day(now) + transfer_id.encode()] = digest

    def prune(self, now: float | None = None) -> dict[str, int]:
        """Drop done-marker buckets, daily sets and year-to-date sets past their retention; return what went."""
        today = _epoch_day(now)
        db = self.durable
        db.delete_range(b"d|", b"d|%05d|" % (today - DONE_DAYS + 1))
        _delete_under(db, b"done|")  # markers of the earlier layout (one key per transfer, never dropped)
        epoch = dt.date(1970, 1, 1)
        first_day = (epoch + dt.timedelta(days=today - DAILY_KEEP_DAYS + 1)).isoformat()
        first_year = str((epoch + dt.timedelta(days=today)).year - 1)
        gone = {"daily_sets": 0, "ytd_sets": 0}
        old = []
        for key, _ in _under(db, b"n|"):  # one per counter set (``stream.state.keys``)
            name = key[2:].decode()
            parsed = parse_set(name)
            if parsed is None:
                continue
            if parsed.kind == DAILY and (parsed.day or "") < first_day:
                old.append(("daily_sets", name))
            elif parsed.kind == YTD and (parsed.year or "") < first_year:
                old.append(("ytd_sets", name))
        for key, value in list(_under(db, b"t|")):  # retraction tombstones outlive the longest set they touch
            if int(value) < today - TOMBSTONE_DAYS:
                db.delete(key)
        for what, name in old:
            _delete_under(db, f"s|{name}|".encode())  # members
            _delete_under(db, f"x|{name}|".encode())  # per-transfer counts of unnamed ones
            db.delete(f"n|{name}".encode())
            gone[what] += 1
        if old:
            names = {name for _, name in old}
            for key, _ in list(_under(db, b"r|")):  # the retraction index's entries for the sets just dropped
                length, _, rest = key[2:].decode().partition(":")
                if rest[int(length) + 1 :] in names:
                    db.delete(key)
        return gone

    def disk_bytes(self) -> dict[str, int]:
        """Live SST bytes of each store (what retention bounds)."""
        return {
            name: int(db.property_int_value("rocksdb.live-sst-files-size") or 0)
            for name, db in (("materialized", self.mat), ("durable", self.durable))
        }

    def set_size(self, name: str) -> int:
        """Members of a counter set."""
        raw = self.durable.get(b"n|" + name.encode())
        return int(raw) if raw is not None else 0

    def new_members(self, name: str, members: Iterable[str]) -> list[str]:
        """Which of ``members`` are not yet in set ``name`` (read only). One ``get`` per member: rocksdict's
        multi-get (``db[[keys]]``) took 1.7x the time for 20,000 members, in one call that held the GIL throughout."""
        prefix = f"s|{name}|"
        get = self.durable.get
        return [m for m in set(members) if get((prefix + m).encode()) is None]

    def add_members(
        self,
        name: str,
        members: Iterable[str],
        *,
        extra: int = 0,
        source: str | None = None,
        changes: list[CounterChange] | None = None,
    ) -> int:
        """Add members (idempotent) plus ``extra`` unnamed ones; return the new size.

        With ``source`` (the transfer id) the unnamed ones are that source's contribution: judging the same transfer
        again replaces it instead of adding to it, so a redelivery cannot count them twice. What changed is appended
        to ``changes`` (what the worker shares with the others).
        """
        new = self.new_members(name, members)
        if source is not None and extra and self.durable.get(_tombstone_key(source)) is not None:
            extra = 0  # an operator retracted this transfer's unnamed individuals: they never count again
        delta = len(new) + extra
        xkey = None
        if source is not None:
            xkey = f"x|{name}|{source}".encode()
            before = self.durable.get(xkey)
            prev = int(before) if before is not None else 0
            delta -= prev
            if extra == prev:
                xkey = None  # this transfer's unnamed count is already in
        if changes is not None and (new or xkey is not None):
            changes.append(CounterChange(name, new, source if xkey is not None else None, extra))
        before = self.set_size(name)
        size = before + delta
        if new or delta or xkey is not None:
            prefix = f"s|{name}|"
            # members in chunks (a RocksDB write holds the GIL: 100,000 keys in one write stalled other threads
            # ~90 ms), each chunk with the size it brings the set to, so every write leaves members and size agreeing
            last = max(0, len(new) - WRITE_CHUNK)
            for i in range(0, last, WRITE_CHUNK):
                wb = WriteBatch(raw_mode=True)
                chunk = new[i : min(i + WRITE_CHUNK, last)]
                for m in chunk:
                    wb.put((prefix + m).encode(), b"")
                before += len(chunk)
                wb.put(b"n|" + name.encode(), str(before).encode())
                self.durable.write(wb)
            wb = WriteBatch(raw_mode=True)
            for m in new[last:]:
                wb.put((prefix + m).encode(), b"")
            if xkey is not None:
                wb.put(xkey, str(extra).encode())
                wb.put(_source_key(source or "", name), b"")  # where to find it again for a retraction
            wb.put(b"n|" + name.encode(), str(size).encode())
            self.durable.write(wb)
        return size

    def apply_counter_update(self, name: str, members: Iterable[str], extra: dict[str, int]) -> None:
        """Apply a counter update another worker shared: a union, so applying it twice, or after this worker counted
        the same members itself, changes nothing; unnamed counts replace that transfer's earlier contribution."""
        self.add_members(name, members)
        for source, n in extra.items():
            self.add_members(name, (), extra=n, source=source)
        if name.startswith("daily|"):
            self.daily_updates += 1

    def retract(self, source: str, now: float | None = None) -> dict[str, int]:
        """Remove what transfer ``source`` added to every counter set as unnamed individuals (``record_count`` beyond
        its payload), and ignore it from then on; returns the count removed per set. Named members stay: they are
        subject HMACs other transfers may share, and a payload cannot hold more of them than it really carries."""
        removed = {}
        wb = WriteBatch(raw_mode=True)
        prefix = _source_key(source, "")
        for key, _ in list(_under(self.durable, prefix)):
            name = key[len(prefix) :].decode()
            xkey = f"x|{name}|{source}".encode()
            prev = self.durable.get(xkey)
            if prev is not None and int(prev):
                removed[name] = int(prev)
                wb.put(b"n|" + name.encode(), str(max(0, self.set_size(name) - int(prev))).encode())
            wb.delete(xkey)
            wb.delete(key)
        wb.put(_tombstone_key(source), str(_epoch_day(now)).encode())
        self.durable.write(wb)
        if any(n.startswith("daily|") for n in removed):
            self.daily_updates += 1
        return removed

    def set_counter_position(self, topic: str, partition: int, next_offset: int) -> None:
        """Where reading the shared counter topic stopped (updates are unions: re-reading is harmless)."""
        self.durable[_position_key(topic, partition)] = str(next_offset).encode()

    def counter_positions(self) -> dict[tuple[str, int], int]:
        """Next offset to read per partition of the shared counter topic."""
        return {tp: int(value) for tp, value in _positions(self.durable)}

    def daily_history(self, recipient_id: str, day: dt.date, days: int = 7) -> list[int]:
        """Distinct-subject counts of the previous ``days`` days that had any traffic."""
        out = []
        for i in range(1, days + 1):
            n = self.set_size(daily_set(recipient_id, day - dt.timedelta(days=i)))
            if n:
                out.append(n)
        return out
