"""Value objects and the detector base class.

A detector owns one entity type: its patterns (Hyperscan syntax, no lookarounds: digit and
letter boundaries are checked by the engine), its context words, and a ``check`` that says
whether a candidate's checksum passes, fails or does not apply.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

from detectors.normalize import strip_separators


class Check(enum.Enum):
    """Outcome of a candidate's structural/checksum validation."""

    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "n/a"


class Boundary(enum.Enum):
    """What may not touch a match on either side."""

    DIGIT = "digit"  # no ASCII digit next to the match
    ALNUM = "alnum"  # no ASCII letter or digit next to the match
    NONE = "none"
    NO_MASK = "no_mask"  # no mask character (* or #) next to the match


@dataclass(frozen=True)
class Pattern:
    """A candidate pattern with a name that states its strength."""

    name: str
    regex: str
    score: float
    boundary: Boundary = Boundary.ALNUM
    #: 0: Hyperscan reports where a match starts. N > 0: the pattern is scanned without start-of-match tracking
    #: (costly for a leading variable-length class: 7.6 vs 1.0 us per 2 KB record for EMAIL_MASKED) and each hit's
    #: leftmost start is recovered with Python ``re`` over the N bytes before its end. For rare, costly shapes
    #: without a digit/letter boundary, whose matches end in ASCII.
    som_window: int = 0
    #: (anchor, class): scanned without start tracking too, for patterns shaped ``[class]+ anchor rest`` where
    #: ``rest`` never contains ``anchor`` (an e-mail address: 3.8 vs 0.6 us per 2 KB record): the leftmost start is
    #: the first of the ``class`` bytes running up to the last ``anchor`` before the end. ASCII only.
    start_anchor: tuple[str, str] | None = None


_NO_ATTRIBUTES: Mapping[str, Any] = MappingProxyType({})


class Finding(NamedTuple):
    """One detected personal-information value. Carries no raw value.

    ``start``/``end`` are Python string offsets (end exclusive) into the scanned text, or
    into the string value at ``field`` for structured input. Immutable (a NamedTuple: it is
    created on the hot path, and is ~3x cheaper to build than a frozen dataclass).
    """

    entity_type: str
    start: int
    end: int
    score: float
    detector: str
    preview: str
    hmac: str
    sensitivity: str
    category: str
    masked: bool = False
    field: str | None = None
    check: str = Check.NOT_APPLICABLE.value
    context: bool = False
    attributes: Mapping[str, Any] = _NO_ATTRIBUTES

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (no raw value)."""
        d = {
            "entity_type": self.entity_type,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 3),
            "masked": self.masked,
            "preview": self.preview,
            "detector": self.detector,
            "hmac": self.hmac,
            "sensitivity": self.sensitivity,
            "category": self.category,
            "check": self.check,
            "context": self.context,
        }
        if self.field is not None:
            d["field"] = self.field
        if self.attributes:
            d["attributes"] = dict(self.attributes)
        return d


#: ``make_finding(fields)``: a Finding from all of its fields, in order. The one builder of findings (the engine, its
#: compiled core and the NER stage use it): a third of the cost of NamedTuple's keyword handling, per finding.
make_finding: Callable[[tuple[Any, ...]], Finding] = functools.partial(tuple.__new__, Finding)


# score tiers (identifiers.md §0.4)
CONTEXT_BOOST = 0.35
CONTEXT_REQUIRED_BOOST = 0.45
CHECKSUM_PASS = 0.85


class Detector:
    """Base class: subclasses set class constants and override ``check``/``normalize``/``score``."""

    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[tuple[Pattern, ...]]
    CONTEXT: ClassVar[tuple[str, ...]] = ()
    CONTEXT_REQUIRED: ClassVar[bool] = False
    #: lower wins when two findings overlap (resident IDs beat cards and USCC readings)
    PRIORITY: ClassVar[int] = 50
    HAS_ATTRIBUTES: ClassVar[bool] = False
    MASKED: ClassVar[bool] = False
    #: namespace of the keyed HMAC; detectors for the same real-world value share one
    SUBJECT_KIND: ClassVar[str | None] = None
    #: whether ``score`` wants to see candidates whose check failed (bank cards do)
    SCORES_FAILED_CHECKS: ClassVar[bool] = False
    #: labels of other kinds of value that veto this detector's reading of a value right after them (the global
    #: ``OTHER_NUMBER_LABELS`` veto every detector)
    NEGATIVE_CONTEXT: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.HAS_ATTRIBUTES = cls.attributes is not Detector.attributes

    def __init__(
        self,
        *,
        patterns: tuple[Pattern, ...] | None = None,
        context: tuple[str, ...] | None = None,
        entity: str | None = None,
    ) -> None:
        self.entity = entity or self.ENTITY
        self.patterns = patterns if patterns is not None else self.PATTERNS
        self.context = context if context is not None else self.CONTEXT
        self.name = type(self).__name__

    @property
    def gated(self) -> bool:
        """Context-mandatory detectors are only evaluated when one of their words is present."""
        return self.CONTEXT_REQUIRED

    def normalize(self, value: str) -> str:
        """The canonical form that is HMAC-ed (separators stripped, upper-cased)."""
        return strip_separators(value).upper()

    def check(self, value: str) -> Check:
        """Checksum/structure validation of a candidate (folded text)."""
        return Check.NOT_APPLICABLE

    def score(self, value: str, base: float, check: Check, context: bool) -> float | None:
        """Combine pattern score, validation and context; ``None`` drops the candidate."""
        if check is Check.FAIL:
            return None
        if check is Check.PASS:
            return 1.0 if context else max(base, CHECKSUM_PASS)
        if context:
            base += CONTEXT_REQUIRED_BOOST if self.CONTEXT_REQUIRED else CONTEXT_BOOST
        return min(base, 1.0)

    def attributes(self, value: str) -> dict[str, Any]:
        """Derived, non-identifying metadata (e.g. ``age_under_14``)."""
        return {}
