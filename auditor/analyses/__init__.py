"""Analyses: the expensive facts many rules share, computed once per artifact, lazily.

A rule names the analyses it `uses`; the engine asks the store only for those, so a
selection of cheap rules never pays for an expensive analysis. An analysis is a
function of the store, so it can read the run's inputs and build on other analyses
(corpus statistics on the vocabulary, indicators on both).

An analysis result may offer `report_section() -> dict`: the engine then puts that
dict into the artifact's report under the analysis name (JSON `sections`).
"""

from __future__ import annotations

from typing import Any, Callable

from auditor.inputs import RunInputs
from auditor.loaders.view import TokenizerView


def _vocabulary(store: "AnalysisStore") -> Any:
    from auditor.analyses.vocabulary import analyze_vocabulary

    return analyze_vocabulary(store.view)


def _embeddings(store: "AnalysisStore") -> Any:
    from auditor.analyses.model import analyze_embeddings

    return analyze_embeddings(store)


def _indicators(store: "AnalysisStore") -> Any:
    from auditor.analyses.model import analyze_indicators

    return analyze_indicators(store)


def _verification(store: "AnalysisStore") -> Any:
    from auditor.analyses.model import analyze_verification

    return analyze_verification(store)


ANALYSES: dict[str, Callable[["AnalysisStore"], Any]] = {
    "vocabulary": _vocabulary,
    "embeddings": _embeddings,
    "indicators": _indicators,
    "verification": _verification,
}


class AnalysisStore:
    """Per-artifact memo of analysis results, with the run's inputs."""

    def __init__(self, view: TokenizerView, inputs: RunInputs | None = None, progress: Any = None) -> None:
        self.view = view
        self.inputs = inputs or RunInputs()
        self.progress = progress or (lambda _msg: None)
        self._results: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name not in self._results:
            try:
                compute = ANALYSES[name]
            except KeyError:
                raise KeyError(f"unknown analysis {name!r}; known: {', '.join(sorted(ANALYSES))}") from None
            self._results[name] = compute(self)
        return self._results[name]

    def computed(self) -> list[str]:
        return sorted(self._results)

    def sections(self) -> dict[str, Any]:
        """Report sections offered by the computed analyses, by analysis name."""
        out: dict[str, Any] = {}
        for name in self.computed():
            section = getattr(self._results[name], "report_section", None)
            if callable(section):
                out[name] = section()
        return out
