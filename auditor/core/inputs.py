"""What one run is given besides the tokenizer: corpora, a model, a cache.

The engine derives from it which rule requirements are available (`tokenizer`,
`corpus`, `model_corpus`, `model`, `generation`), and every analysis reads its inputs
from here, so adding an input never changes the shape of the flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.core.options import CorpusOptions, ModelOptions


@dataclass(frozen=True)
class RunInputs:
    """Inputs of one run. Paths stay strings: loading is the analyses' job, lazily."""

    corpus: tuple[str, ...] = ()  # what the tokenizer was trained on
    model_corpus: tuple[str, ...] = ()  # a sample of the model's training data
    model: str | None = None  # model folder or GGUF file
    generation: bool = False  # verification by prompting was asked for
    corpus_options: CorpusOptions = field(default_factory=CorpusOptions)
    model_options: ModelOptions = field(default_factory=ModelOptions)
    cache: Any = None  # auditor.cache.Cache or None
    lock: str | None = None  # behaviour lock file (default: tokaudit.lock beside each artifact)

    def available(self) -> frozenset[str]:
        given = {"tokenizer"}
        if self.corpus:
            given.add("corpus")
        if self.model_corpus:
            given.add("model_corpus")
        if self.model is not None:
            given.add("model")
            if self.generation:
                given.add("generation")
        return frozenset(given)
