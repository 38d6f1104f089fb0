"""The topics piplwatch reads and writes: what each must look like, and creating, checking and fixing them.

The design depends on retention: consents and agreements are read whole by every worker at its first start, so
they must be compacted (the latest record per key kept forever) and never deleted by time or size; the shared
counters must outlive the longest counter (a cross-border year-to-date set). Apache Kafka's default (delete after
7 days) would, a week after go-live, make a restarted worker rebuild its state without the consents, and every
consented flow a critical TA-02. ``piplwatch topics plan|apply|check`` shows, creates and verifies them; a worker
checks consents and agreements at start and refuses to run on topics that delete records unless told to.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from stream.security import SettingsError
from stream.settings import Settings

logger = logging.getLogger(__name__)
DAY_MS = 86_400_000
#: the shared counter updates must outlive the longest counter (a year-to-date set): 400 days, not Kafka's 7
COUNTER_RETENTION_DAYS = 400
COMPACTED = {
    "cleanup.policy": "compact",
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "delete.retention.ms": str(DAY_MS),
}


@dataclass(frozen=True)
class TopicSpec:
    """One topic: its role, the configs piplwatch needs on it, whether they are required, and who writes it."""

    name: str
    role: str
    configs: dict[str, str]
    why: str
    required: bool = False  # a worker refuses to start when a required config is wrong (unless allowed)
    writers: str = ""
    readers: str = ""
    key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Every topic, in the order the README's table lists them."""
    t = settings.topics
    return [
        TopicSpec(
            t.transfers,
            "input",
            {"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)},
            "the platform's outbound transfer events; replayable for a week",
            writers="the platform",
            readers="workers (group)",
            key="transfer id",
        ),
        TopicSpec(
            t.agreements,
            "state",
            dict(COMPACTED),
            "read whole by every worker: compacted, never deleted (latest agreement per recipient)",
            required=True,
            writers="compliance (consents import)",
            readers="workers",
            key="recipient id",
        ),
        TopicSpec(
            t.consents,
            "state",
            dict(COMPACTED),
            "read whole by every worker: compacted, never deleted (latest consent per subject and recipient)",
            required=True,
            writers="consent service (consents import)",
            readers="workers",
            key="recipient id | keyed HMAC of the subject",
        ),
        TopicSpec(
            t.verdicts,
            "output",
            {"cleanup.policy": "delete", "retention.ms": str(90 * DAY_MS)},
            "one verdict per transfer, for audit and downstream systems (90 days)",
            writers="workers",
            readers="SIEM, audit",
            key="transfer id (safe reference)",
        ),
        TopicSpec(
            t.alerts,
            "output",
            {"cleanup.policy": "delete", "retention.ms": str(400 * DAY_MS)},
            "OCSF compliance findings, kept over a year for investigations",
            writers="workers",
            readers="SIEM, piplwatch dashboard",
            key="alert id",
        ),
        TopicSpec(
            t.dlq,
            "output",
            {"cleanup.policy": "delete", "retention.ms": str(30 * DAY_MS)},
            "dead letters (pointers and digests, no payloads), 30 days to replay",
            writers="workers",
            readers="operators",
            key="input key (safe reference)",
        ),
        TopicSpec(
            t.counters,
            "internal",
            {"cleanup.policy": "delete", "retention.ms": str(COUNTER_RETENTION_DAYS * DAY_MS)},
            "every worker's distinct-subject counter updates; must outlive a year-to-date set",
            required=True,
            writers="workers, counters retract",
            readers="workers",
            key="counter set",
        ),
    ]


@dataclass
class TopicState:
    """A topic as the cluster reports it (configs empty when the broker reports none, as the embedded one)."""

    partitions: int
    replication: int
    configs: dict[str, str]


def problems(spec: TopicSpec, state: TopicState | None, *, partitions: int, replication: int) -> list[str]:
    """What is wrong with ``state`` for ``spec`` (empty: fine). Configs the broker does not report are unknown, not
    wrong: they are listed by ``unverified``."""
    if state is None:
        return [f"{spec.name}: missing"]
    out = []
    for k, want in spec.configs.items():
        have = state.configs.get(k)
        if have is None:
            continue
        if k == "cleanup.policy":
            if set(have.replace(" ", "").split(",")) != set(want.split(",")):
                out.append(f"{spec.name}: cleanup.policy is {have}, needs {want}")
        elif k in ("retention.ms", "retention.bytes"):
            if want == "-1" and have != "-1" and "delete" in state.configs.get("cleanup.policy", "delete"):
                out.append(f"{spec.name}: {k} is {have}: records would be deleted")
            elif want != "-1" and have != "-1" and int(have) < int(want):
                out.append(f"{spec.name}: {k} is {have}, needs at least {want}")
    if state.partitions < partitions and spec.role in ("input",):
        out.append(f"{spec.name}: {state.partitions} partitions, fewer than the {partitions} planned")
    if state.replication < replication:
        out.append(f"{spec.name}: replication factor {state.replication}, planned {replication}")
    return out


def unverified(spec: TopicSpec, state: TopicState | None) -> list[str]:
    """The configs of ``spec`` the broker did not report (the embedded broker reports none)."""
    return [] if state is None else [k for k in spec.configs if k not in state.configs]


def _admin(settings: Settings, timeout: float) -> KafkaAdminClient:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return KafkaAdminClient(
                bootstrap_servers=settings.bootstrap,
                client_id="piplwatch-admin",
                request_timeout_ms=10000,
                **settings.kafka_python_kwargs(),
            )
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise SettingsError(f"cannot reach Kafka at {settings.bootstrap}: {exc}") from None
            time.sleep(0.5)


def describe(admin: KafkaAdminClient, names: list[str]) -> dict[str, TopicState]:
    """The existing topics among ``names``."""
    existing = [n for n in names if n in set(admin.list_topics())]
    if not existing:
        return {}
    out = {}
    for t in admin.describe_topics(existing):
        parts = t.get("partitions") or []
        out[t["name"]] = TopicState(len(parts), min((len(p.get("replica_nodes") or []) for p in parts), default=0), {})
    resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in existing]
    for name, configs in _configs(admin.describe_configs(resources)).items():
        if name in out:
            out[name].configs = configs
    return out


def _configs(response: Any) -> dict[str, dict[str, str]]:
    """Topic name -> {config: value} from kafka-python's describe_configs answer (dict in 3.x, responses in 2.x)."""
    if isinstance(response, dict):
        topics = response.get("topic", response)
        return {n: {k: str(v) for k, v in (c or {}).items()} for n, c in topics.items()}
    out: dict[str, dict[str, str]] = {}
    for resp in response:
        for res in getattr(resp, "resources", []):
            name, entries = res[3], res[4]
            out[name] = {e[0]: str(e[1]) for e in entries if e[1] is not None}
    return out


def replication_for(settings: Settings, admin: KafkaAdminClient) -> int:
    """The replication factor for new topics: the configured one, else min(3, brokers in the cluster)."""
    if settings.replication_factor:
        return settings.replication_factor
    try:
        brokers = len(admin.describe_cluster().get("brokers") or []) or 1
    except Exception:  # noqa: BLE001 - a cluster that does not describe itself gets the safe minimum
        brokers = 1
    return min(3, brokers)


def ensure_topics(settings: Settings, *, timeout: float = 30.0) -> list[str]:
    """Create missing topics with their configs; return the ones created."""
    admin = _admin(settings, timeout)
    try:
        existing = set(admin.list_topics())
        rf = replication_for(settings, admin)
        missing = [s for s in topic_specs(settings) if s.name not in existing]
        if missing:
            try:
                admin.create_topics(
                    [NewTopic(s.name, settings.partitions, rf, topic_configs=s.configs) for s in missing]
                )
            except TopicAlreadyExistsError:
                pass
        return [s.name for s in missing]
    finally:
        admin.close()


def check_for_worker(settings: Settings, *, timeout: float = 30.0) -> None:
    """At a worker's start: refuse (``SettingsError``) when a topic the design depends on deletes records (consents,
    agreements) or would lose counter updates, unless ``allow_deleting_topics``; log what cannot be verified."""
    admin = _admin(settings, timeout)
    try:
        specs = [s for s in topic_specs(settings) if s.required]
        states = describe(admin, [s.name for s in specs])
        rf = replication_for(settings, admin)
    finally:
        admin.close()
    bad = [p for s in specs for p in problems(s, states.get(s.name), partitions=1, replication=1)]
    for s in specs:
        st = states.get(s.name)
        if st is not None and len(unverified(s, st)) == len(s.configs):
            logger.warning("topics: the broker does not report the configs of %s; cannot verify its retention", s.name)
        if st is not None and st.replication < rf:
            logger.warning("topics: %s has replication factor %d (the cluster allows %d)", s.name, st.replication, rf)
    if bad:
        msg = "; ".join(bad)
        if settings.allow_deleting_topics:
            logger.error("topics: %s (running anyway: --allow-deleting-topics)", msg)
            return
        raise SettingsError(
            f"{msg}. Consents and agreements must be compacted and never deleted: fix them with "
            "'piplwatch topics apply' (or pass --allow-deleting-topics)"
        )


def apply_topics(settings: Settings, *, timeout: float = 30.0) -> list[str]:
    """Create missing topics and set the configs piplwatch needs on existing ones; return what was done."""
    from kafka.admin import ConfigResource as Resource

    admin = _admin(settings, timeout)
    done = []
    try:
        specs = topic_specs(settings)
        states = describe(admin, [s.name for s in specs])
        rf = replication_for(settings, admin)
        new = [s for s in specs if s.name not in states]
        if new:
            admin.create_topics([NewTopic(s.name, settings.partitions, rf, topic_configs=s.configs) for s in new])
            done += [f"created {s.name} ({settings.partitions} partitions, replication {rf})" for s in new]
        for s in specs:
            st = states.get(s.name)
            if st is None:
                continue
            fix = {k: v for k, v in s.configs.items() if st.configs.get(k) != v}
            if fix and st.configs:  # a broker that reports no configs takes none either (the embedded one)
                admin.alter_configs([Resource(ConfigResourceType.TOPIC, s.name, configs={**st.configs, **fix})])
                done.append(f"set {', '.join(f'{k}={v}' for k, v in fix.items())} on {s.name}")
    finally:
        admin.close()
    return done


def plan_rows(settings: Settings) -> list[tuple[str, str, str, str, str, str, str]]:
    """(topic, role, key, partitions, cleanup, retention, writers -> readers) for the plan table."""
    rows = []
    for s in topic_specs(settings):
        ret = s.configs.get("retention.ms", "")
        ret = "forever (compacted)" if ret == "-1" else f"{int(ret) // DAY_MS} days" if ret else "-"
        rows.append(
            (
                s.name,
                s.role,
                s.key,
                str(settings.partitions),
                s.configs.get("cleanup.policy", ""),
                ret,
                f"{s.writers} -> {s.readers}",
            )
        )
    return rows
