"""Data subjects of a transfer: findings grouped into people, and each person's consent for the recipient."""

from __future__ import annotations

from dataclasses import dataclass, field

from detectors import Finding, Scanner
from detectors.registry import detector_classes
from detectors.structured import leaf_name
from detectors.structured import leaves as flatten_leaves
from detectors.taxonomy import SENSITIVE
from stream.records import Transfer
from stream.state.store import StateStore

#: the consent subject kinds a detector finds in payloads (a consent may also name a ``user_id`` or a ``key``):
#: a finding of one of these kinds names its subject, and its HMAC is the consent lookup key
IDENTIFIER_KINDS = frozenset({"mobile", "id_number", "email"})
USER_ID_FIELDS = frozenset(
    {"user_id", "uid", "userid", "userId", "member_id", "account_id", "用户id", "用户ID", "会员id"}
)
_USER_ID_ENDINGS = tuple(USER_ID_FIELDS)  # a cheap pre-check before parsing the path
#: consent kinds adequate where separate (or written, or guardian) consent is required
ADEQUATE_KINDS = ("separate", "written", "guardian")


@dataclass
class Unit:
    """One data subject of a transfer: the identifier keys (HMACs) that name it and what was found about it."""

    keys: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    raw: bool = False
    spi: bool = False
    minor: bool = False

    def uid(self, fallback: str) -> str:
        return min(self.keys) if self.keys else fallback


def group_subjects(
    scanner: Scanner, transfer: Transfer, findings: list[Finding], leaves: list[tuple[str, str]] | None = None
) -> list[Unit]:
    """Group findings into data subjects (one per record of a structured payload, one per distinct direct
    identifier in plain text) and link them to ``subjects`` through user-id HMACs."""
    groups: dict[str, Unit] = {}
    text_units: list[Unit] = []
    for f in findings:
        if f.sensitivity == "organisational":
            continue
        if f.field is None:  # plain text: one subject per distinct direct identifier
            kind = _kind(f)
            if kind in IDENTIFIER_KINDS:
                u = next((u for u in text_units if f.hmac in u.keys), None)
                if u is None:
                    u = Unit()
                    text_units.append(u)
                u.keys.add(f.hmac)
                _absorb(u, f)
            continue
        u = _unit_of(groups, f.field)
        if _kind(f) in IDENTIFIER_KINDS and not f.masked:
            u.keys.add(f.hmac)
        _absorb(u, f)
    if isinstance(transfer.payload, (dict, list)):
        for path, value in leaves if leaves is not None else flatten_leaves(transfer.payload):
            if path.rstrip("]0123456789[").endswith(_USER_ID_ENDINGS) and leaf_name(path) in USER_ID_FIELDS:
                _unit_of(groups, path).keys.add(scanner.hmac_of("user_id", value.strip()))
    if not text_units and isinstance(transfer.payload, str):
        rest = [f for f in findings if f.sensitivity != "organisational"]
        if rest:
            u = Unit()
            for f in rest:
                _absorb(u, f)
            text_units.append(u)
    units = [u for u in groups.values() if u.raw or u.keys or u.categories] + text_units
    by_key = {k: u for u in units for k in u.keys}
    for s in transfer.subjects:
        h = scanner.hmac_of("user_id", s)
        if h not in by_key:
            u = Unit(keys={h})
            units.append(u)
            by_key[h] = u
    return units


def consent_status(state: StateStore, unit: Unit, transfer: Transfer) -> tuple[str, str | None]:
    """Best consent of a unit for this recipient: (status, kind). Status: valid/withdrawn/mismatch/none.

    A withdrawal speaks for the person, whichever of their identifiers it was recorded under: it voids every
    consent for this recipient granted before it (one granted after it stands)."""
    best: tuple[int, str, str | None] = (0, "none", None)
    t = transfer.occurred_at.timestamp()
    found = [c for c in (state.consent(k, transfer.recipient_id) for k in unit.keys) if c is not None]
    withdrawn_at = max((c["w"] for c in found if c["w"] is not None and c["w"] <= t), default=None)
    for c in found:
        if (c["w"] is not None and c["w"] <= t) or (withdrawn_at is not None and c["g"] <= withdrawn_at):
            cand = (1, "withdrawn", c["k"])
        elif (
            c["g"] > t
            or (c["e"] is not None and c["e"] < t)
            or (c["p"] and transfer.purpose not in c["p"] and "*" not in c["p"])
            or not unit.categories <= set(c["c"])
        ):
            cand = (2, "mismatch", c["k"])
        else:
            cand = (4 if c["k"] in ADEQUATE_KINDS else 3, "valid", c["k"])
        best = max(best, cand, key=lambda x: x[0])
    return best[1], best[2]


#: entity type -> consent subject kind, from each detector's SUBJECT_KIND (the namespace of its HMAC)
_SUBJECT_KIND = {c.ENTITY: c.SUBJECT_KIND for c in detector_classes() if c.SUBJECT_KIND in IDENTIFIER_KINDS}


def _kind(f: Finding) -> str | None:
    return _SUBJECT_KIND.get(f.entity_type)


def _unit_of(groups: dict[str, Unit], path: str) -> Unit:
    """The subject unit of the record that holds ``path`` (created on first use)."""
    g = _group(path)
    u = groups.get(g)
    if u is None:
        u = groups[g] = Unit()
    return u


def _group(path: str) -> str:
    """The record a leaf belongs to: its path up to the last list index, or the last data key (``<keyN>``: a map
    keyed by phone number or user id holds one record per key)."""
    i = max(path.rfind("]"), path.rfind(">"))
    return path[: i + 1] if i >= 0 else ""


def _absorb(u: Unit, f: Finding) -> None:
    if f.masked:
        return
    u.raw = True
    u.categories.add(f.category)
    if f.sensitivity in SENSITIVE:
        u.spi = True
    if f.attributes and f.attributes.get("age_under_14"):
        u.minor = True
