"""Analyses: the expensive facts many rules share, computed once per artifact, lazily.

A rule names the analyses it `uses`; the engine asks the store only for those, so a
selection of cheap rules never pays for an expensive analysis.
"""

from __future__ import annotations

from typing import Any, Callable

from auditor.loaders.view import TokenizerView


def _vocabulary(view: TokenizerView) -> Any:
    from auditor.analyses.vocabulary import analyze_vocabulary

    return analyze_vocabulary(view)


ANALYSES: dict[str, Callable[[TokenizerView], Any]] = {
    "vocabulary": _vocabulary,
}


class AnalysisStore:
    """Per-artifact memo of analysis results."""

    def __init__(self, view: TokenizerView) -> None:
        self.view = view
        self._results: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name not in self._results:
            try:
                compute = ANALYSES[name]
            except KeyError:
                raise KeyError(f"unknown analysis {name!r}; known: {', '.join(sorted(ANALYSES))}") from None
            self._results[name] = compute(self.view)
        return self._results[name]

    def computed(self) -> list[str]:
        return sorted(self._results)
