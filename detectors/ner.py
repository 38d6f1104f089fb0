"""Names, places, addresses and organisations: cheap rules on every record, spaCy NER on flagged windows.

NER costs ~1000x the pattern path per event, so it never runs on whole events:

1. **Field rules** (every leaf): a value under a name field (姓名, name, 收货人 ...) that looks
   like a name is a PERSON; a value under an address field (地址, address ...) with Han
   characters and an address suffix is an ADDRESS. No model needed.
2. **Which text reaches the model** (free text only; ``Scanner.ner_mode``):
   - ``gated`` (the worker's default): cue words (姓名/联系人/收货人, 先生/女士, 住/寄/送到) and address shapes
     (…省/市/区/县 … 路/街/号/室) flag ±16-character windows of Chinese text, and the learned gate characters
     (``detectors/ner_gate_chars.py``: the characters that are at least 20% of the time part of a name or an
     address in the training text) and Latin-script words inside Chinese text flag ±12-character windows;
   - ``full`` (``piplwatch scan``'s default): every leaf with Chinese text, whole, cut at sentence ends into
     pieces of at most ``FULL_CHUNK`` characters (the model looks a few characters either side, so a cut at a
     sentence end changes nothing it sees).
   Digits-only fields, keys and leaves taken by a field rule are never sent.
3. **NER** on the flagged windows only, batched (``detectors.ner_fast.pipe``: spaCy's pipeline with our
   greedy decoder for the NER component, same entities); labels map to entity types.

The model is our own (``models/``), loaded offline once per process.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from detectors import ner_gate_chars
from detectors.base import _NO_ATTRIBUTES, Check, Finding, make_finding
from detectors.ner_fast import pipe as ner_pipe
from detectors.patterns._common import COMPOUND_SURNAMES, SURNAMES
from detectors.redact import preview
from detectors.structured import leaf_name
from detectors.taxonomy import NER_LABELS, classify

if TYPE_CHECKING:
    from detectors.engine import Scanner

logger = logging.getLogger(__name__)

MODEL_ENV = "PIPLWATCH_NER_MODEL"
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "piplwatch_zh_ner"
LABELS = {label: label for label in NER_LABELS}  # model label -> entity type
NER_SCORE = {"PERSON": 0.8, "ADDRESS": 0.8, "LOCATION": 0.6, "ORGANIZATION": 0.6}
RULE_SCORE = 0.75
WINDOW = 16
FULL_CHUNK = 256
MODES = ("gated", "full", "off")

NAME_FIELDS = frozenset(
    [
        "姓名",
        "名字",
        "联系人",
        "收件人",
        "收货人",
        "持卡人",
        "户名",
        "客户姓名",
        "法定代表人",
        "监护人",
        "name",
        "full_name",
        "fullname",
        "realname",
        "real_name",
        "username_cn",
        "contact_name",
        "receiver",
        "consignee",
        "xm",
        "lxr",
        "sjr",
        "shr",
    ]
)
#: field names whose values are not free text about people: the learned gate skips them (cues still apply)
NOT_FREE_TEXT = frozenset(
    [
        "公司",
        "公司名称",
        "单位",
        "工作单位",
        "企业",
        "企业名称",
        "雇主",
        "职位",
        "职务",
        "岗位",
        "company",
        "company_name",
        "employer",
        "organization",
        "organisation",
        "org",
        "job",
        "job_title",
        "title",
        "position",
    ]
)
ADDRESS_FIELDS = frozenset(
    [
        "地址",
        "住址",
        "家庭住址",
        "收货地址",
        "户籍地址",
        "居住地址",
        "通讯地址",
        "所在地",
        "详细地址",
        "address",
        "addr",
        "home_address",
        "shipping_address",
        "dz",
        "zz",
    ]
)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_SURROGATE = re.compile("[\ud800-\udfff]")  # from a JSON \ud800 escape: no character, not encodable
#: the learned gate (``models/scripts/gate_chars.py``): characters that are often part of a name or an address
_GATE = re.compile(f"[{ner_gate_chars.PERSON}{ner_gate_chars.ADDRESS}]")
#: a Latin-script word inside Chinese text: handles, players, brands and foreign names (Grubby, RuiN, Infi) have no
#: Han characters for the learned gate to see
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9_]{2,}")
GATE_WINDOW = 12
GATE_MIN_CHARS = 8
_NAME_VALUE = re.compile(
    r"^(?:[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,6}[·•‧][\u4e00-\u9fff]{1,8}|[A-Z][a-z]+ [A-Z][a-z]+)$"
)
_ADDRESS_VALUE = re.compile(r"[\u4e00-\u9fff].*(?:省|市|区|县|镇|乡|路|街|道|巷|弄|号|室|村|栋|幢|楼|小区)")
_COMPOUND = "|".join(COMPOUND_SURNAMES)
_CUES = re.compile(
    r"(?:姓名|名字|联系人|收件人|收货人|持卡人|户名|法定代表人|监护人|先生|女士|小姐|住在|住址|地址|寄到|送到|家住)"
    # a surname with a CJK window, only where a title or a speech verb follows (surnames alone are too common)
    rf"|(?:{_COMPOUND}|[{SURNAMES}])[\u4e00-\u9fff]{{1,2}}(?:老师|经理|医生|同学|律师|警官|说|表示|指出|告诉|介绍)"
    r"|[\u4e00-\u9fff]{1,6}(?:省|市|自治区)[\u4e00-\u9fff]{0,8}(?:区|县|市|镇)"
    r"|[\u4e00-\u9fff]{1,10}(?:路|街|大道|巷|弄)[0-9一二三四五六七八九十]{1,5}号"
)


def _model_path(path: str | os.PathLike[str] | None) -> Path:
    return Path(path or os.environ.get(MODEL_ENV) or DEFAULT_MODEL)


_LOADED: dict[Path, Any] = {}


def load_ner(path: str | os.PathLike[str] | None = None, *, required: bool = True) -> NerStage | None:
    """Load the shipped pipeline once per process; ``None`` if it is absent and not ``required``."""
    p = _model_path(path)
    if p not in _LOADED:
        if not (p / "meta.json").exists():
            if required:
                raise FileNotFoundError(f"NER model not found at {p} (set {MODEL_ENV})")
            logger.warning("NER model not found at %s: names and addresses come from field rules only", p)
            _LOADED[p] = NerStage(None)
        else:
            from detectors.ner_fast import load_pipeline

            _LOADED[p] = NerStage(load_pipeline(p))
    return _LOADED[p]


@dataclass
class NerStats:
    """How much work reached the model (for the benchmark and metrics)."""

    records: int = 0
    records_to_ner: int = 0
    windows: int = 0
    chars_to_ner: int = 0
    rule_findings: int = 0
    ner_findings: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class NerStage:
    """Gated NER over leaves of a record, merged with the pattern findings."""

    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp
        self.stats = NerStats()
        meta = getattr(nlp, "meta", {}) if nlp is not None else {}
        self.model_name = f"{meta.get('lang', 'zh')}_{meta.get('name', 'none')}"
        self.model_version = str(meta.get("version", "0"))
        self._names: dict[str | None, str] = {}  # field path -> lower-cased leaf name (paths repeat across records)

    # -- public ------------------------------------------------------------------------------
    def augment_text(self, text: str, found: list[Finding], scanner: Scanner) -> list[Finding]:
        """Add PERSON/ADDRESS/... findings in one plain text."""
        return self.augment_leaves([(None, text)], found, scanner)

    def augment_leaves(
        self, leaves: list[tuple[str | None, str]], found: list[Finding], scanner: Scanner
    ) -> list[Finding]:
        """Add findings for a flattened record; ``found`` are the pattern findings."""
        return self.augment_many([(leaves, found)], scanner)[0]

    def augment_many(
        self, records: list[tuple[list[tuple[str | None, str]], list[Finding]]], scanner: Scanner
    ) -> list[list[Finding]]:
        """``augment_leaves`` for many records, their flagged windows through the model in one batched pass.

        The model's cost per call is mostly fixed for short windows (~1 ms for one 45-character window vs
        ~0.4 ms each in a batch of hundreds), so batch scans hand whole chunks of records here.
        """
        prepared = [self._prepare(leaves, found, scanner) for leaves, found in records]
        jobs = [job for _, _, record_jobs in prepared for job in record_jobs]
        texts = [_SURROGATE.sub("\ufffd", j[1]) for j in jobs]  # spaCy cannot hash a lone surrogate; same length
        docs = iter(ner_pipe(self.nlp, texts, batch_size=256)) if jobs else iter(())
        out = []
        for (_, found), (taken, extra, record_jobs) in zip(records, prepared):
            for (path, _text, off), doc in zip(record_jobs, docs):
                for ent in doc.ents:
                    label = LABELS.get(ent.label_)
                    if label is None or len(ent.text.strip()) < 2:
                        continue
                    s = off + ent.start_char
                    if any(s < te and ts < s + len(ent.text) for ts, te in taken.get(path, [])):
                        continue
                    extra.append(self._finding(scanner, label, ent.text, path, s, NER_SCORE[label], "SpacyNer"))
                    self.stats.ner_findings += 1
            out.append(_merge(found, extra))
        return out

    def _prepare(self, leaves: list[tuple[str | None, str]], found: list[Finding], scanner: Scanner):
        """Field-rule findings and the windows to send to the model, for one record."""
        self.stats.records += 1
        full = getattr(scanner, "ner_mode", "gated") == "full"
        taken: dict[str | None, list[tuple[int, int]]] = {}
        for f in found:
            taken.setdefault(f.field, []).append((f.start, f.end))
        extra: list[Finding] = []
        jobs: list[tuple[str | None, str, int]] = []  # (field, window text, offset in value)
        names = self._names
        for path, value in leaves:
            name = names.get(path)
            if name is None:
                if len(names) > MAX_CACHED_NAMES:
                    names.clear()
                name = names[path] = leaf_name(path).lower() if path else ""
            if name in NAME_FIELDS and _NAME_VALUE.match(value.strip()):
                s = len(value) - len(value.lstrip())
                extra.append(self._finding(scanner, "PERSON", value.strip(), path, s, RULE_SCORE, "FieldRule"))
                continue
            if name in ADDRESS_FIELDS and _ADDRESS_VALUE.search(value) and len(value) <= 120:
                s = len(value) - len(value.lstrip())
                extra.append(self._finding(scanner, "ADDRESS", value.strip(), path, s, RULE_SCORE, "FieldRule"))
                continue
            if self.nlp is None or name in NAME_FIELDS or not _HAN.search(value):
                continue  # (a name field's value that is not a name, e.g. masked 王*, is not sent to the model)
            spans = _chunks(value) if full else _windows(value, taken.get(path, []), learned=name not in NOT_FREE_TEXT)
            for ws, we in spans:
                jobs.append((path, value[ws:we], ws))
        self.stats.rule_findings += len(extra)
        if jobs:
            self.stats.records_to_ner += 1
            self.stats.windows += len(jobs)
            self.stats.chars_to_ner += sum(len(j[1]) for j in jobs)
        return taken, extra, jobs

    # -- helpers -----------------------------------------------------------------------------
    def _finding(
        self, scanner: Scanner, label: str, text: str, path: str | None, start: int, score: float, detector: str
    ) -> Finding:
        category, sensitivity = _CLASSES[label]
        norm = "".join(text.split())  # whitespace removed (str.split's whitespace is re's \s)
        return make_finding(
            (
                label,
                start,
                start + len(text),
                score,
                detector,
                preview(text, label),
                scanner.hmac_of(label, norm),
                sensitivity,
                category,
                False,
                path,
                _NOT_APPLICABLE,
                False,
                _NO_ATTRIBUTES,
            )
        )


_CLASSES = {label: classify(label) for label in LABELS.values()}
_NOT_APPLICABLE = Check.NOT_APPLICABLE.value
MAX_CACHED_NAMES = 50_000


def _windows(value: str, taken: list[tuple[int, int]], *, learned: bool = True) -> list[tuple[int, int]]:
    """The gate: ±WINDOW characters around cues and (``learned``, values of GATE_MIN_CHARS or more) ±GATE_WINDOW
    around the learned name and address characters; merged; pieces wholly inside a pattern finding are dropped,
    long ones cut like ``full`` mode's. Values under organisation and job fields (NOT_FREE_TEXT: 公司, 职位, ...)
    open on cues only: a company name is full of place characters, and the model's cost per call would otherwise
    dominate structured traffic."""
    n = len(value)
    spans: list[tuple[int, int]] = []
    rules = ((_CUES, WINDOW), (_GATE, GATE_WINDOW), (_LATIN_WORD, GATE_WINDOW))
    for rx, w in rules if learned and n >= GATE_MIN_CHARS else rules[:1]:
        spans += [(max(0, m.start() - w), min(n, m.end() + w)) for m in rx.finditer(value)]
    if not spans:
        return []
    spans.sort()
    merged = [list(spans[0])]
    for s, e in spans[1:]:
        if s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out = []
    for s, e in merged:
        if any(ts <= s and e <= te for ts, te in taken) or not _HAN.search(value, s, e):
            continue
        if e - s <= FULL_CHUNK:
            out.append((s, e))
        else:
            out += [(s + a, s + b) for a, b in _chunks(value[s:e])]
    return out


def _chunks(value: str) -> list[tuple[int, int]]:
    """``value`` cut into pieces of at most FULL_CHUNK characters, at sentence ends where there is one, keeping
    only the pieces with Chinese text."""
    out = []
    s, n = 0, len(value)
    while s < n:
        e = min(n, s + FULL_CHUNK)
        if e < n:
            for ends in _SENTENCE_ENDS:  # a sentence end if there is one in the second half, else a clause end
                cut = max(value.rfind(c, s + FULL_CHUNK // 2, e) for c in ends)
                if cut >= 0:
                    e = cut + 1
                    break
        if _HAN.search(value, s, e):
            out.append((s, e))
        s = e
    return out


_SENTENCE_ENDS = (("。", "！", "？", "；", "\n", "!", "?", ";"), ("，", "、", ",", " "))


def _merge(found: list[Finding], extra: list[Finding]) -> list[Finding]:
    """Pattern findings win; an entity inside an ADDRESS (a name, a place) is not counted twice."""
    if not extra:
        return found
    addresses = [(f.field, f.start, f.end) for f in extra if f.entity_type == "ADDRESS"]
    kept = []
    for f in extra:
        if f.entity_type != "ADDRESS" and any(fl == f.field and s <= f.start and f.end <= e for fl, s, e in addresses):
            continue
        kept.append(f)
    out = found + kept
    out.sort(key=lambda f: (f.field or "", f.start))
    return out
