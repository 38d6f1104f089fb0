"""Parse and validate the topic contracts (``schemas/*.json``): transfers (native and OCSF), agreements, consents.

Every problem raises ``BadInput`` with a short machine reason (a metric label, closed set) and
a human message; the worker sends such messages to the dead-letter topic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

from stream.state.keys import is_set_name

TRANSFER_SCHEMA = "piplwatch.transfer/v1"
AGREEMENT_SCHEMA = "piplwatch.agreement/v1"
CONSENT_SCHEMA = "piplwatch.consent/v1"
COUNTER_SCHEMA = "piplwatch.counter/v1"
VERDICT_SCHEMA = "piplwatch.verdict/v1"
DLQ_SCHEMA = "piplwatch.dlq/v1"
CHANNELS = ("api", "sftp", "export", "webhook", "email", "public_link")
FLOWS = ("push", "pull")
DEID_LEVELS = ("none", "pseudonymized", "anonymized")
LEGAL_BASES = ("consent", "contract", "hr", "legal_obligation", "emergency", "news", "public_info", "other_law")
ROLES = ("independent_handler", "entrusted_processor", "data_exchange")
MECHANISMS = ("none", "scc_filed", "certified", "assessed")
CONSENT_KINDS = ("general", "separate", "written", "guardian")
#: what a consent may name its subject by (``key``: an HMAC computed upstream with the workers' key)
CONSENT_SUBJECT_KINDS = ("user_id", "mobile", "id_number", "email", "key")
CBDT_SCENARIOS = ("contract_necessity", "hr", "emergency")
OCSF_CLASSES = {6001: "export", 6003: "api", 6006: "public_link", 4008: "sftp"}
#: reasons are metric label values: keep this set closed. ``too_large``, ``too_deep``, ``record_count_too_large``
#: and ``output_too_large`` mean a transfer that may carry personal information went unjudged (an alert pages)
DLQ_REASONS = (
    "not_utf8",
    "malformed_json",
    "not_an_object",
    "unknown_schema",
    "invalid_field",
    "too_large",
    "too_deep",
    "record_count_too_large",
    "output_too_large",
)
#: the documented ceiling of ``record_count`` (``PIPLWATCH_MAX_RECORD_COUNT``): beyond it a transfer is dead-lettered,
#: so one message cannot poison the shared cross-border and daily counters
MAX_RECORD_COUNT = 10_000_000
#: ids, names and other short text fields; longer values are refused (they would be copied into every output)
MAX_FIELD_CHARS = 256
MAX_SUBJECTS = 1_000_000


class BadInput(ValueError):
    """A message that cannot be judged; ``reason`` is one of ``DLQ_REASONS``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_json(raw: bytes, *, max_bytes: int) -> Any:
    """Decode a message value or raise ``BadInput``."""
    if len(raw) > max_bytes:
        raise BadInput("too_large", f"message of {len(raw)} bytes exceeds the {max_bytes}-byte limit")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput("not_utf8", f"not UTF-8 at byte {exc.start}") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc) or "recursion" in str(exc):  # orjson stops at 1024 levels
            raise BadInput("too_deep", "JSON nested deeper than 1024 levels") from None
        raise BadInput("malformed_json", f"malformed JSON: {str(exc).splitlines()[0][:120]}") from None


def parse_time(value: Any, name: str) -> dt.datetime:
    """ISO 8601 with an offset (or epoch milliseconds) to an aware datetime; required."""
    if value is None:
        raise BadInput("invalid_field", f"{name} is required")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise BadInput("invalid_field", f"{name} is not a representable time") from None
    if not isinstance(value, str):
        raise BadInput("invalid_field", f"{name} must be an ISO 8601 string")
    if len(value) > 64:
        raise BadInput("invalid_field", f"{name} is not ISO 8601")
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput("invalid_field", f"{name} is not ISO 8601") from None
    if t.tzinfo is None:
        raise BadInput("invalid_field", f"{name} needs a UTC offset")
    return t


def _opt_time(value: Any, name: str) -> dt.datetime | None:
    """``parse_time`` for an optional field."""
    return None if value is None else parse_time(value, name)


def _str(obj: dict, name: str, *, choices: tuple[str, ...] | None = None, default: str | None = None) -> str:
    """A required non-empty string field (or ``default`` when absent), one of ``choices`` if given."""
    v = _opt_str(obj, name, choices=choices, default=default)
    if v is None:
        raise BadInput("invalid_field", f"{name} is required")
    return v


def _opt_str(obj: dict, name: str, *, choices: tuple[str, ...] | None = None, default: str | None = None) -> str | None:
    v = obj.get(name, default)
    if v is None:
        return None
    if not isinstance(v, str) or not v:
        raise BadInput("invalid_field", f"{name} must be a non-empty string")
    if len(v) > MAX_FIELD_CHARS:
        raise BadInput("invalid_field", f"{name} is longer than {MAX_FIELD_CHARS} characters")
    if choices and v not in choices:
        raise BadInput("invalid_field", f"{name} must be one of {', '.join(choices)}")
    return v


def _strlist(obj: dict, name: str) -> tuple[str, ...]:
    v = obj.get(name) or []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise BadInput("invalid_field", f"{name} must be a list of strings")
    return tuple(v)


@dataclass(frozen=True)
class Transfer:
    """An outbound transfer (``piplwatch.transfer/v1``)."""

    transfer_id: str
    occurred_at: dt.datetime
    platform: str
    source_system: str
    flow: str
    channel: str
    recipient_id: str
    recipient_name: str
    recipient_country: str
    purpose: str
    legal_basis: str
    deid_level: str
    subjects: tuple[str, ...]
    payload: Any
    record_count: int
    bytes: int | None = None
    cbdt_scenario: str | None = None
    #: input fields that held personal information (or control characters) and were replaced by safe references
    redacted: tuple[str, ...] = ()


def parse_transfer(obj: Any, *, max_record_count: int = MAX_RECORD_COUNT) -> Transfer:
    """Validate a decoded transfer (native or OCSF)."""
    if not isinstance(obj, dict):
        raise BadInput("not_an_object", "a transfer must be a JSON object")
    if "class_uid" in obj and "schema" not in obj:
        return _from_ocsf(obj, max_record_count)
    schema = obj.get("schema")
    if schema != TRANSFER_SCHEMA:
        raise BadInput("unknown_schema", f"unknown schema {str(schema)[:40]!r} (expected {TRANSFER_SCHEMA})")
    rec = obj.get("recipient")
    if not isinstance(rec, dict):
        raise BadInput("invalid_field", "recipient must be an object with id, name, country")
    if "payload" not in obj:
        raise BadInput("invalid_field", "payload must be a string, object or array")
    return Transfer(
        transfer_id=_str(obj, "transfer_id"),
        occurred_at=parse_time(obj.get("occurred_at"), "occurred_at"),
        platform=_str(obj, "platform"),
        source_system=_str(obj, "source_system"),
        flow=_str(obj, "flow", choices=FLOWS),
        channel=_str(obj, "channel", choices=CHANNELS),
        recipient_id=_str(rec, "id"),
        recipient_name=_str(rec, "name"),
        recipient_country=_country(rec.get("country"), "recipient.country"),
        purpose=_str(obj, "purpose"),
        legal_basis=_str(obj, "legal_basis", choices=LEGAL_BASES, default="consent"),
        deid_level=_str(obj, "deid_level", choices=DEID_LEVELS, default="none"),
        subjects=_subjects(obj.get("subjects")),
        payload=_payload(obj["payload"]),
        record_count=_record_count(obj.get("record_count"), max_record_count),
        bytes=_count(obj.get("bytes"), "bytes", required=False),
        cbdt_scenario=_opt_str(obj, "cbdt_scenario", choices=CBDT_SCENARIOS),
    )


def _country(value: Any, name: str) -> str:
    if not isinstance(value, str) or len(value) != 2 or not value.isascii() or not value.isalpha():
        raise BadInput("invalid_field", f"{name} must be ISO 3166 alpha-2")
    return value.upper()


def _payload(value: Any) -> Any:
    if not isinstance(value, (str, dict, list)):
        raise BadInput("invalid_field", "payload must be a string, object or array")
    return value


def _count(value: Any, name: str, *, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadInput("invalid_field", f"{name} must be a non-negative integer")
    return value


def _record_count(value: Any, limit: int) -> int:
    n = _count(value, "record_count")
    assert n is not None
    if n > limit:
        raise BadInput("record_count_too_large", f"record_count {n} exceeds the documented maximum of {limit}")
    return n


def _subjects(value: Any) -> tuple[str, ...]:
    subjects = value or []
    if not isinstance(subjects, list) or not all(
        isinstance(s, (str, int)) and not isinstance(s, bool) for s in subjects
    ):
        raise BadInput("invalid_field", "subjects must be a list of user ids")
    if len(subjects) > MAX_SUBJECTS or any(len(str(s)) > MAX_FIELD_CHARS for s in subjects):
        raise BadInput(
            "invalid_field", f"subjects must hold at most {MAX_SUBJECTS} ids of {MAX_FIELD_CHARS} characters"
        )
    return tuple(str(s) for s in subjects)


def _obj(value: Any, name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput("invalid_field", f"{name} must be an object")
    return value


def _from_ocsf(obj: dict, max_record_count: int) -> Transfer:
    """Map OCSF 6001/6003/6006/4008 events (schema 1.x) onto the transfer shape, validated like a native one."""
    cls = obj.get("class_uid")
    if cls not in OCSF_CLASSES or isinstance(cls, bool):
        raise BadInput("unknown_schema", f"unsupported OCSF class_uid {str(cls)[:12]}")
    um = _obj(obj.get("unmapped"), "unmapped")
    dst = _obj(obj.get("dst_endpoint"), "dst_endpoint")
    owner = _obj(dst.get("owner"), "dst_endpoint.owner")
    loc = _obj(dst.get("location"), "dst_endpoint.location")
    meta = _obj(obj.get("metadata"), "metadata")
    product = _obj(meta.get("product"), "metadata.product")
    src = _obj(obj.get("src_endpoint"), "src_endpoint")
    traffic = _obj(obj.get("traffic"), "traffic")
    recipient_id = um.get("recipient_id") or owner.get("uid") or dst.get("hostname")
    if not recipient_id:
        raise BadInput(
            "invalid_field", "OCSF event names no recipient (unmapped.recipient_id or dst_endpoint.owner.uid)"
        )
    payload = um.get("payload")
    if payload is None:
        for key in ("web_resources", "resources", "file", "api"):
            if key in obj:
                payload = obj[key]
                break
    channel = OCSF_CLASSES[cls]
    if cls == 6006 and obj.get("activity_id") in (1, 2):
        channel = "export"
    if not (um.get("transfer_id") or meta.get("uid")):
        raise BadInput("invalid_field", "OCSF event has no metadata.uid or unmapped.transfer_id")
    fields = {
        "transfer_id": um.get("transfer_id") or meta.get("uid"),
        "platform": um.get("platform") or product.get("name") or "unknown",
        "source_system": src.get("hostname") or "ocsf",
        "recipient_id": recipient_id,
        "recipient_name": owner.get("name") or recipient_id,
        "purpose": um.get("purpose") or "unspecified",
        "legal_basis": um.get("legal_basis") or "consent",
        "deid_level": um.get("deid_level") or "none",
    }
    for name, v in list(fields.items()):
        if isinstance(v, int) and not isinstance(v, bool):
            fields[name] = v = str(v)
        fields[name] = _str({name: v}, name)
    return Transfer(
        occurred_at=parse_time(obj.get("time"), "time"),
        flow="pull" if cls == 6003 else "push",
        channel=channel,
        recipient_country=_country(loc.get("country") or um.get("recipient_country") or "CN", "recipient country"),
        subjects=_subjects(um.get("subjects")),
        payload=_payload(payload if payload is not None else ""),
        record_count=_record_count(um.get("record_count") or 0, max_record_count),
        bytes=_count(traffic.get("bytes_out"), "traffic.bytes_out", required=False),
        transfer_id=fields["transfer_id"],
        platform=fields["platform"],
        source_system=fields["source_system"],
        recipient_id=fields["recipient_id"],
        recipient_name=fields["recipient_name"],
        purpose=fields["purpose"],
        legal_basis=_str(fields, "legal_basis", choices=LEGAL_BASES),
        deid_level=_str(fields, "deid_level", choices=DEID_LEVELS),
        cbdt_scenario=None,
    )


@dataclass(frozen=True)
class Agreement:
    """The platform's authorization of a recipient (``piplwatch.agreement/v1``)."""

    recipient_id: str
    role: str
    allowed_categories: tuple[str, ...]
    allowed_purposes: tuple[str, ...]
    allowed_fields: tuple[str, ...] | None
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    terminated_at: dt.datetime | None
    country: str
    cross_border_mechanism: str
    max_subjects_per_day: int | None
    mechanism_valid_to: dt.datetime | None = None

    def to_json(self) -> bytes:
        """Compact JSON for the local store."""
        iso = lambda t: t.isoformat() if t else None  # noqa: E731
        return orjson.dumps(
            {
                "recipient_id": self.recipient_id,
                "role": self.role,
                "allowed_categories": self.allowed_categories,
                "allowed_purposes": self.allowed_purposes,
                "allowed_fields": self.allowed_fields,
                "valid_from": iso(self.valid_from),
                "valid_to": iso(self.valid_to),
                "terminated_at": iso(self.terminated_at),
                "country": self.country,
                "cross_border_mechanism": self.cross_border_mechanism,
                "max_subjects_per_day": self.max_subjects_per_day,
                "mechanism_valid_to": iso(self.mechanism_valid_to),
                "schema": AGREEMENT_SCHEMA,
            }
        )


def parse_agreement(obj: Any) -> Agreement:
    """Validate a decoded agreement."""
    if not isinstance(obj, dict):
        raise BadInput("not_an_object", "an agreement must be a JSON object")
    if obj.get("schema") != AGREEMENT_SCHEMA:
        raise BadInput("unknown_schema", f"unknown schema (expected {AGREEMENT_SCHEMA})")
    quota = obj.get("max_subjects_per_day")
    if quota is not None and (not isinstance(quota, int) or isinstance(quota, bool) or quota < 0):
        raise BadInput("invalid_field", "max_subjects_per_day must be a non-negative integer or null")
    fields = obj.get("allowed_fields")
    return Agreement(
        recipient_id=_str(obj, "recipient_id"),
        role=_str(obj, "role", choices=ROLES),
        allowed_categories=_strlist(obj, "allowed_categories"),
        allowed_purposes=_strlist(obj, "allowed_purposes"),
        allowed_fields=_strlist(obj, "allowed_fields") if fields is not None else None,
        valid_from=parse_time(obj.get("valid_from"), "valid_from"),
        valid_to=_opt_time(obj.get("valid_to"), "valid_to"),
        terminated_at=_opt_time(obj.get("terminated_at"), "terminated_at"),
        country=(_str(obj, "country") or "CN").upper(),
        cross_border_mechanism=_str(obj, "cross_border_mechanism", choices=MECHANISMS, default="none"),
        max_subjects_per_day=quota,
        mechanism_valid_to=_opt_time(obj.get("mechanism_valid_to"), "mechanism_valid_to"),
    )


def agreement_from_store(raw: bytes) -> Agreement:
    """Inverse of ``Agreement.to_json``."""
    return parse_agreement(orjson.loads(raw))


@dataclass(frozen=True)
class Consent:
    """A user's authorization of a recipient, with the subject reduced to (kind, normalized value)."""

    subject_kind: str
    subject_value: str  # normalized; HMAC-ed by the store before it is written anywhere
    recipient_id: str
    purposes: tuple[str, ...]
    categories: tuple[str, ...]
    kind: str
    granted_at: dt.datetime
    expires_at: dt.datetime | None
    withdrawn_at: dt.datetime | None


def normalize_subject(kind: str, value: str) -> str:
    """One normal form per subject kind (``+86 138-0000-1111`` == ``13800001111``)."""
    from detectors.normalize import digits_only
    from detectors.validators import cn_ric

    value = value.strip()
    if kind == "mobile":
        return digits_only(value)[-11:]
    if kind == "id_number":
        v = cn_ric.compact(value)
        if len(v) == 15:
            try:
                return cn_ric.validate_legacy(v)
            except ValueError:
                return v
        return v
    if kind == "email":
        return value.lower()
    return value


def parse_consent(obj: Any) -> Consent:
    """Validate a decoded consent."""
    if not isinstance(obj, dict):
        raise BadInput("not_an_object", "a consent must be a JSON object")
    if obj.get("schema") != CONSENT_SCHEMA:
        raise BadInput("unknown_schema", f"unknown schema (expected {CONSENT_SCHEMA})")
    subj = obj.get("subject")
    if not isinstance(subj, dict) or len(subj) != 1:
        raise BadInput(
            "invalid_field", "subject must be an object with exactly one of " + ", ".join(CONSENT_SUBJECT_KINDS)
        )
    ((kind, value),) = subj.items()
    if kind not in CONSENT_SUBJECT_KINDS or not isinstance(value, (str, int)) or not str(value).strip():
        raise BadInput("invalid_field", "subject must be one of " + ", ".join(CONSENT_SUBJECT_KINDS))
    return Consent(
        subject_kind=kind,
        subject_value=normalize_subject(kind, str(value)),
        recipient_id=_str(obj, "recipient_id"),
        purposes=_strlist(obj, "purposes"),
        categories=_strlist(obj, "categories"),
        kind=_str(obj, "kind", choices=CONSENT_KINDS),
        granted_at=parse_time(obj.get("granted_at"), "granted_at"),
        expires_at=_opt_time(obj.get("expires_at"), "expires_at"),
        withdrawn_at=_opt_time(obj.get("withdrawn_at"), "withdrawn_at"),
    )


@dataclass(frozen=True)
class CounterUpdate:
    """What one worker added to a counter set (``piplwatch.counter/v1``)."""

    name: str
    members: list[str]
    extra: dict[str, int]
    worker: Any


@dataclass(frozen=True)
class Retraction:
    """An operator's retraction of one transfer's unnamed individuals (``piplwatch counters retract``)."""

    transfer_id: str
    worker: Any


def parse_counter(obj: Any) -> CounterUpdate | Retraction:
    """Validate a decoded shared counter record (``piplwatch.counter/v1``): an update or a retraction."""
    if not isinstance(obj, dict):
        raise BadInput("not_an_object", "a counter update must be a JSON object")
    if "retract" in obj:
        tid = obj["retract"]
        if not isinstance(tid, str) or not tid or len(tid) > 4 * MAX_FIELD_CHARS:
            raise BadInput("invalid_field", f"not a {COUNTER_SCHEMA} retraction")
        return Retraction(tid, obj.get("worker"))
    name, members, extra = obj.get("set"), obj.get("members") or [], obj.get("extra") or {}
    if (
        not isinstance(name, str)
        or not is_set_name(name)
        or not isinstance(members, list)
        or not all(isinstance(x, str) for x in members)
        or not isinstance(extra, dict)
        or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_RECORD_COUNT for v in extra.values()
        )
    ):
        raise BadInput("invalid_field", f"not a {COUNTER_SCHEMA} record")
    return CounterUpdate(name, members, extra, obj.get("worker"))
