"""A real Presidio AnalyzerEngine with no NLP model (pattern recognizers only), for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine


class NoModelNlpEngine(NlpEngine):
    """Empty NLP artifacts: the cheapest way to run Presidio's pattern recognizers on Chinese."""

    def load(self) -> None:
        pass

    def is_loaded(self) -> bool:
        return True

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        return NlpArtifacts(entities=[], tokens=[], tokens_indices=[], lemmas=[], nlp_engine=self, language=language)

    def process_batch(self, texts: Iterable[str], language: str, **kwargs: Any) -> Iterator[Any]:
        for t in texts:
            yield t, self.process_text(t, language)

    def is_stopword(self, word: str, language: str) -> bool:
        return False

    def is_punct(self, word: str, language: str) -> bool:
        return False

    def get_supported_entities(self) -> list[str]:
        return []

    def get_supported_languages(self) -> list[str]:
        return ["zh"]


def engine(recognizers: list) -> AnalyzerEngine:
    reg = RecognizerRegistry(supported_languages=["zh"])
    for r in recognizers:
        reg.add_recognizer(r)
    return AnalyzerEngine(registry=reg, nlp_engine=NoModelNlpEngine(), supported_languages=["zh"])
