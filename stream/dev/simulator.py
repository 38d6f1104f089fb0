"""A platform that shares data: Faker zh_CN personas, agreements, consents and a mix of transfers.

Scenarios (each named in the transfer's ``source_system`` so the demo output is readable):

- authorized: entrusted logistics orders (PIPL Art. 21), consented ad-network syncs, masked-only
  and no-PI exports -> ``allow``;
- ``scraper``: a Maimai-style recipient pulls profiles of users who never authorized it, with
  contact and work fields beyond its basic-profile agreement, until it exceeds its daily quota
  -> TA-02, TA-08, TA-26;
- ``cross-border``: an export of 120,000 customer records to Singapore with no mechanism and no
  separate consent -> TA-16, TA-19, TA-11;
- ``withdrawn``: a sync that includes users who withdrew their consent -> TA-04;
- ``terminated``, ``broker``: a recipient whose agreement ended, and a data broker with none
  -> TA-07, TA-01 (TA-24 above the criminal thresholds);
- ``minor``, ``false-anonymization``: a child's ID without guardian consent, an "anonymized"
  batch with raw phone numbers -> TA-13, TA-15;
- a few malformed messages -> dead-letter topic.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from faker import Faker

from detectors.validators import luhn
from stream.records import AGREEMENT_SCHEMA, CONSENT_SCHEMA, TRANSFER_SCHEMA

PLATFORM = "weibo-like"
UTC = dt.UTC


@dataclass
class Persona:
    """A platform user (all synthetic)."""

    user_id: str
    name: str
    mobile: str
    id_number: str
    email: str
    address: str
    card: str
    company: str
    job: str
    minor: bool = False


def _card(rnd: random.Random) -> str:
    partial = "622202" + "".join(str(rnd.randint(0, 9)) for _ in range(12))
    return partial + luhn.calc_check_digit(partial)


def _mobile(rnd: random.Random) -> str:
    return rnd.choice(["138", "139", "150", "186", "177", "199", "135", "158"]) + "".join(
        str(rnd.randint(0, 9)) for _ in range(8)
    )


def personas(n: int, seed: int) -> list[Persona]:
    """``n`` synthetic users; about 3 % are children under 14."""
    fk = Faker("zh_CN")
    fk.seed_instance(seed)
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        minor = i % 33 == 7
        out.append(
            Persona(
                user_id=f"u{seed % 1000:03d}{i:05d}",
                name=fk.name(),
                mobile=_mobile(rnd),
                id_number=fk.ssn(min_age=6, max_age=12) if minor else fk.ssn(min_age=18, max_age=70),  # type: ignore[call-arg]
                email=fk.free_email(),
                address=fk.address(),
                card=_card(rnd),
                company=fk.company(),
                job=fk.job(),
                minor=minor,
            )
        )
    return out


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t else None


def agreements(now: dt.datetime) -> list[dict[str, Any]]:
    """The platform's recipients and what it allowed each of them."""
    year = dt.timedelta(days=365)

    def ag(
        rid: str,
        role: str,
        cats: list[str],
        purposes: list[str],
        *,
        country: str = "CN",
        quota: int | None = None,
        terminated: dt.datetime | None = None,
        mechanism: str = "none",
    ) -> dict[str, Any]:
        return {
            "schema": AGREEMENT_SCHEMA,
            "recipient_id": rid,
            "role": role,
            "allowed_categories": cats,
            "allowed_purposes": purposes,
            "valid_from": _iso(now - year),
            "valid_to": _iso(now + year),
            "terminated_at": _iso(terminated),
            "country": country,
            "cross_border_mechanism": mechanism,
            "max_subjects_per_day": quota,
        }

    return [
        ag("r-logistics", "entrusted_processor", ["basic_profile", "contact"], ["delivery"]),
        ag(
            "r-adnet",
            "independent_handler",
            ["basic_profile", "contact", "online_identifier"],
            ["marketing"],
            quota=5000,
        ),
        ag("r-maimai", "independent_handler", ["basic_profile"], ["social_networking"], quota=60),
        ag(
            "r-overseas-crm",
            "independent_handler",
            ["basic_profile", "contact", "identity_document"],
            ["crm"],
            country="SG",
        ),
        ag(
            "r-old-partner",
            "independent_handler",
            ["basic_profile", "contact"],
            ["marketing"],
            terminated=now - dt.timedelta(days=30),
        ),
    ]


RECIPIENT_NAMES = {
    "r-logistics": "顺丰同城物流",
    "r-adnet": "精准广告联盟",
    "r-maimai": "职脉社交",
    "r-overseas-crm": "Lion City CRM Pte. Ltd.",
    "r-old-partner": "旧合作伙伴科技",
    "r-databroker": "数据堂口（未登记）",
}
RECIPIENT_COUNTRY = {"r-overseas-crm": "SG"}


def consents(people: list[Persona], now: dt.datetime, rnd: random.Random) -> Iterator[dict[str, Any]]:
    """Separate consents for the ad network from most adults; a few withdrawn later; maimai has none."""
    for i, p in enumerate(people):
        if p.minor or i % 10 >= 7:
            continue
        subject = {"user_id": p.user_id} if i % 4 else {"mobile": f"+86 {p.mobile[:3]}-{p.mobile[3:7]}-{p.mobile[7:]}"}
        rec = {
            "schema": CONSENT_SCHEMA,
            "subject": subject,
            "recipient_id": "r-adnet",
            "purposes": ["marketing"],
            "categories": ["basic_profile", "contact", "online_identifier"],
            "kind": "separate",
            "granted_at": _iso(now - dt.timedelta(days=rnd.randint(30, 300))),
            "expires_at": None,
            "withdrawn_at": None,
        }
        yield rec
        if i % 17 == 3:  # changed their mind: a later record for the same subject and recipient replaces it
            yield {**rec, "withdrawn_at": _iso(now - dt.timedelta(days=1))}


def withdrawn_users(people: list[Persona]) -> list[Persona]:
    """Users whose ad-network consent was withdrawn."""
    return [p for i, p in enumerate(people) if not p.minor and i % 10 < 7 and i % 17 == 3]


class Simulator:
    """Produces the setup records and then an endless, seeded mix of transfers."""

    def __init__(self, *, seed: int = 2016, n_personas: int = 400) -> None:
        self.seed = seed
        self.rnd = random.Random(seed)
        self.fk = Faker("zh_CN")
        self.fk.seed_instance(seed)
        self.now = dt.datetime.now(UTC).replace(microsecond=0)
        self.people = personas(n_personas, seed)
        self.adults = [p for p in self.people if not p.minor]
        self.consented = [p for i, p in enumerate(self.people) if not p.minor and i % 10 < 7 and i % 17 != 3]
        self.unconsented = [p for i, p in enumerate(self.people) if not p.minor and i % 10 >= 7]
        self.withdrawn = withdrawn_users(self.people)
        self.minors = [p for p in self.people if p.minor]
        self.n = 0
        self._scraped = 0

    def setup(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Agreements and consents to produce before any transfer."""
        return agreements(self.now), list(consents(self.people, self.now, self.rnd))

    # -- transfers ----------------------------------------------------------------------------
    def _transfer(
        self,
        recipient: str,
        scenario: str,
        *,
        flow: str,
        channel: str,
        purpose: str,
        payload: Any,
        record_count: int | None = None,
        deid: str = "none",
        subjects: list[str] | None = None,
    ) -> dict:
        self.n += 1
        t = {
            "schema": TRANSFER_SCHEMA,
            "transfer_id": f"t{self.seed}-{self.n:07d}",
            "occurred_at": dt.datetime.now(UTC).isoformat(timespec="milliseconds"),
            "platform": PLATFORM,
            "source_system": scenario,
            "flow": flow,
            "channel": channel,
            "recipient": {
                "id": recipient,
                "name": RECIPIENT_NAMES[recipient],
                "country": RECIPIENT_COUNTRY.get(recipient, "CN"),
            },
            "purpose": purpose,
            "legal_basis": "consent",
            "deid_level": deid,
            "payload": payload,
            "record_count": record_count
            if record_count is not None
            else (len(payload) if isinstance(payload, list) else 1),
        }
        if subjects:
            t["subjects"] = subjects
        return t

    def _profile(self, p: Persona, *fields: str) -> dict[str, Any]:
        full = {
            "user_id": p.user_id,
            "姓名": p.name,
            "手机": p.mobile,
            "身份证号": p.id_number,
            "邮箱": p.email,
            "地址": p.address,
            "银行卡号": p.card,
            "公司": p.company,
            "职位": p.job,
        }
        return {k: full[k] for k in ("user_id",) + fields}

    def authorized(self) -> dict:
        """One of the everyday, lawful flows."""
        kind = self.rnd.random()
        if kind < 0.4:
            orders = [
                {
                    "order_no": str(self.rnd.randint(10**17, 10**18 - 1)),
                    "收货人": p.name,
                    "手机": p.mobile,
                    "地址": p.address,
                }
                for p in self.rnd.sample(self.people, 3)
            ]
            return self._transfer(
                "r-logistics", "orders", flow="push", channel="sftp", purpose="delivery", payload=orders, subjects=None
            )
        if kind < 0.75:
            batch = self.rnd.sample(self.consented, 4)
            return self._transfer(
                "r-adnet",
                "ad-sync",
                flow="push",
                channel="api",
                purpose="marketing",
                payload=[self._profile(p, "姓名", "手机") for p in batch],
            )
        if kind < 0.9:
            batch = self.rnd.sample(self.adults, 5)
            masked = [
                {
                    "user_id_hash": f"{hash(p.user_id) & 0xFFFFFFFF:08x}",
                    "手机": p.mobile[:3] + "****" + p.mobile[7:],
                    "姓名": p.name[0] + "*",
                }
                for p in batch
            ]
            return self._transfer(
                "r-adnet",
                "masked-report",
                flow="push",
                channel="export",
                purpose="marketing",
                payload=masked,
                deid="pseudonymized",
            )
        catalog = [
            {"sku": f"SKU{self.rnd.randint(10**6, 10**7)}", "名称": self.fk.word(), "价格": self.rnd.randint(1, 999)}
            for _ in range(5)
        ]
        return self._transfer(
            "r-adnet", "catalog", flow="push", channel="webhook", purpose="marketing", payload=catalog
        )

    def unauthorized(self) -> dict:
        """One of the flows piplwatch exists to catch."""
        kind = self.rnd.choice(
            [
                "scraper",
                "scraper",
                "scraper",
                "cross-border",
                "withdrawn",
                "terminated",
                "broker",
                "minor",
                "false-anonymization",
                "uncovered",
            ]
        )
        if kind == "scraper":
            batch = self.rnd.sample(self.unconsented, 8)
            self._scraped += len(batch)
            return self._transfer(
                "r-maimai",
                "scraper",
                flow="pull",
                channel="api",
                purpose="social_networking",
                payload=[self._profile(p, "姓名", "手机", "公司", "职位") for p in batch],
                subjects=[p.user_id for p in batch],
            )
        if kind == "cross-border":
            sample = self.rnd.sample(self.adults, 10)
            return self._transfer(
                "r-overseas-crm",
                "cross-border",
                flow="push",
                channel="export",
                purpose="crm",
                payload=[self._profile(p, "姓名", "手机", "身份证号") for p in sample],
                record_count=120_000,
            )
        if kind == "withdrawn":
            batch = self.rnd.sample(self.withdrawn, min(2, len(self.withdrawn))) + self.rnd.sample(self.consented, 2)
            return self._transfer(
                "r-adnet",
                "withdrawn",
                flow="push",
                channel="api",
                purpose="marketing",
                payload=[self._profile(p, "姓名", "手机") for p in batch],
            )
        if kind == "terminated":
            batch = self.rnd.sample(self.adults, 3)
            return self._transfer(
                "r-old-partner",
                "terminated",
                flow="push",
                channel="sftp",
                purpose="marketing",
                payload=[self._profile(p, "姓名", "手机") for p in batch],
            )
        if kind == "broker":
            sample = self.rnd.sample(self.adults, 6)
            return self._transfer(
                "r-databroker",
                "broker",
                flow="push",
                channel="email",
                purpose="resale",
                payload=[self._profile(p, "姓名", "手机", "身份证号", "银行卡号") for p in sample],
                record_count=6000,
            )
        if kind == "minor":
            batch = [self.rnd.choice(self.minors)] + self.rnd.sample(self.consented, 2)
            return self._transfer(
                "r-adnet",
                "minor",
                flow="push",
                channel="api",
                purpose="marketing",
                payload=[self._profile(p, "姓名", "手机", "身份证号") for p in batch],
            )
        if kind == "false-anonymization":
            batch = self.rnd.sample(self.consented, 4)
            return self._transfer(
                "r-adnet",
                "false-anonymization",
                flow="push",
                channel="export",
                purpose="marketing",
                payload=[{"age_band": "30-39", "phone": p.mobile} for p in batch],
                deid="anonymized",
            )
        batch = self.rnd.sample(self.consented, 3) + self.rnd.sample(self.unconsented, 1)
        return self._transfer(
            "r-adnet",
            "uncovered",
            flow="push",
            channel="api",
            purpose="marketing",
            payload=[self._profile(p, "姓名", "手机") for p in batch],
        )

    def bad(self) -> bytes:
        """A malformed message for the dead-letter topic."""
        return self.rnd.choice(
            [
                b'{"schema": "piplwatch.transfer/v1", "transfer_id": ',
                b"\xff\xfe not utf-8",
                orjson.dumps({"schema": "acme.export/v9", "rows": 3}),
                orjson.dumps({"schema": TRANSFER_SCHEMA, "transfer_id": "t-bad", "record_count": "many"}),
            ]
        )

    def next_message(self, *, unauthorized_share: float = 0.25, bad_share: float = 0.01) -> tuple[bytes, bytes]:
        """(key, value) of the next transfer message."""
        r = self.rnd.random()
        if r < bad_share:
            return b"bad", self.bad()
        t = self.unauthorized() if r < bad_share + unauthorized_share else self.authorized()
        return t["transfer_id"].encode(), orjson.dumps(t)


def produce(
    bootstrap: str,
    topics: Any,
    *,
    seed: int = 2016,
    rate: float = 20.0,
    count: int | None = None,
    duration: float | None = None,
    setup: bool = True,
    kafka_kwargs: dict | None = None,
    stop: Any = None,
    on_sent: Any = None,
    unauthorized_share: float = 0.25,
    hmac_key: bytes | None = None,
) -> int:
    """Produce setup records, then transfers at ``rate`` per second until count/duration/stop (``hmac_key``: the
    workers' key, for the consents' Kafka keys)."""
    from kafka import KafkaProducer

    sim = Simulator(seed=seed)
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, **(kafka_kwargs or {}))
    sent = 0
    try:
        if setup:
            ags, cons = sim.setup()
            for a in ags:
                producer.send(topics.agreements, key=a["recipient_id"].encode(), value=orjson.dumps(a))
            from detectors import Scanner
            from detectors.redact import load_hmac_key
            from stream.records import normalize_subject
            from stream.state.keys import consent_key
            from stream.state.materialize import subject_hmac

            # keyed like `consents import`: the subject only as its keyed HMAC (with the workers' key when it is set)
            scanner = Scanner(hmac_key=hmac_key or load_hmac_key())
            for c in cons:
                ((kind, value),) = c["subject"].items()
                h = subject_hmac(scanner, kind, normalize_subject(kind, str(value)))
                producer.send(topics.consents, key=consent_key(c["recipient_id"], h), value=orjson.dumps(c))
            producer.flush()
        start = time.monotonic()
        while (count is None or sent < count) and (duration is None or time.monotonic() - start < duration):
            if stop is not None and stop.is_set():
                break
            key, value = sim.next_message(unauthorized_share=unauthorized_share)
            producer.send(topics.transfers, key=key, value=value)
            sent += 1
            if on_sent:
                on_sent(sent)
            if rate > 0:
                delay = start + sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        producer.flush()
    finally:
        producer.close()
    return sent
