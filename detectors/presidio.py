"""Presidio plug-in: piplwatch's Chinese coverage as Presidio recognizers (optional extra ``presidio``).

    from presidio_analyzer import AnalyzerEngine
    from detectors.presidio import add_to_analyzer
    add_to_analyzer(engine)

One ``PiplwatchRecognizer`` wraps a piplwatch ``Scanner`` (one Hyperscan pass for all entities);
results come back as Presidio ``RecognizerResult``s with our scores and an explanation that
names the piplwatch detector and validation outcome. Context is already applied by the
scanner (character windows), so Presidio's lemma-based enhancer, which never fires on
Chinese, has nothing to add.
"""

from __future__ import annotations

from typing import Any

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult

from detectors import __version__
from detectors.config import DetectorConfig
from detectors.engine import Scanner
from detectors.registry import entity_names


class PiplwatchRecognizer(EntityRecognizer):
    """All piplwatch pattern detectors as one Presidio recognizer."""

    def __init__(
        self,
        supported_entities: list[str] | None = None,
        supported_language: str = "zh",
        scanner: Scanner | None = None,
        config: DetectorConfig | None = None,
    ) -> None:
        self._scanner = scanner or Scanner(config)
        super().__init__(
            supported_entities=supported_entities or entity_names(),
            name="PiplwatchRecognizer",
            supported_language=supported_language,
            version=__version__,
        )

    name: str  # set by EntityRecognizer.__init__

    def load(self) -> None:
        """Nothing to load: the Hyperscan database is built in the constructor."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        """Return Presidio results for the requested entities."""
        wanted = set(entities or self.supported_entities) & set(self.supported_entities)
        out = []
        for f in self._scanner.scan_text(text):
            if f.entity_type not in wanted:
                continue
            expl = AnalysisExplanation(
                recognizer=self.name,
                original_score=f.score,
                pattern_name=f.detector,
                textual_explanation=f"piplwatch {f.detector}: check={f.check}, context={f.context}",
            )
            out.append(
                RecognizerResult(
                    entity_type=f.entity_type,
                    start=f.start,
                    end=f.end,
                    score=f.score,
                    analysis_explanation=expl,
                    recognition_metadata={
                        RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                        "masked": f.masked,
                        "hmac": f.hmac,
                    },
                )
            )
        return out


def add_to_analyzer(engine: Any, *, language: str = "zh", config: DetectorConfig | None = None) -> PiplwatchRecognizer:
    """Register the piplwatch recognizer in an ``AnalyzerEngine``'s registry for ``language``."""
    rec = PiplwatchRecognizer(supported_language=language, config=config)
    engine.registry.add_recognizer(rec)
    return rec
