"""Analyses: the expensive facts many rules share, computed once per artifact, lazily.

A rule names the analyses it `uses`; the engine asks the store only for those, so a
selection of cheap rules never pays for an expensive analysis. An analysis is a
function of the store, so it can read the run's inputs and build on other analyses
(corpus statistics on the vocabulary, indicators on both).

An analysis result may offer `report_section() -> dict`: the engine then puts that
dict into the artifact's report under the analysis name (JSON `sections`).

Caching. An analysis listed in `CACHED` is kept on disk between runs. Its `CacheSpec`
says how: `dump(result) -> (document, arrays)` (a JSON-able dict and named numpy
arrays), `load(document, arrays) -> result`, and `key(store)`: the key parts beyond
what every entry already has (the artifact's content hash, the load options, the
versions of tokaudit, of its source and of the tokenizer libraries). Put into `key`
whatever else the result depends on: options, hashes of corpus or model files
(`auditor.cache.hash_files`). For a result class with `to_cache()` and a classmethod
`from_cache(document, arrays)`, `CacheSpec.of(cls, key=...)` builds the spec:

    CACHED["corpus_stats"] = CacheSpec.of(CorpusStats, key=lambda store: [hash_files(store.inputs.corpus)])

An entry that fails to load (corrupt, foreign, written by other code) is a miss: the
analysis is computed again and the entry rewritten, never trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from auditor.core import RunInputs, TokenizerView, VerificationStatus


def _vocabulary(store: AnalysisStore) -> Any:
    from auditor.analyses.vocabulary import analyze_vocabulary

    return analyze_vocabulary(store.view)


def _probes(store: AnalysisStore) -> Any:
    from auditor.analyses.preprocessing import run_probes

    return run_probes(store.view)


def _normalizer(store: AnalysisStore) -> Any:
    from auditor.analyses.preprocessing import analyze_normalizer

    return analyze_normalizer(store.view)


def _pretokenizer_family(store: AnalysisStore) -> Any:
    from auditor.analyses.pretokenizer_family import analyze_pretokenizer_family

    return analyze_pretokenizer_family(store.view)


def _lock(store: AnalysisStore) -> Any:
    from auditor.preprocessing.lock import check_lock

    return check_lock(store)


def _implementations(store: AnalysisStore) -> Any:
    from auditor.preprocessing.equivalence import compare_siblings, corpus_sample

    corpus, options = store.inputs.corpus, store.inputs.corpus_options
    sample = (lambda: corpus_sample(corpus, options)) if corpus else None
    return compare_siblings(store, sample=sample)


def _corpus_scan(which: str) -> Callable[[AnalysisStore], Any]:
    """The statistics of one of the run's corpora: "corpus" (what the tokenizer was
    trained on) or "model_corpus" (a sample of the model's training data)."""

    def compute(store: AnalysisStore) -> Any:
        from auditor.corpus.scan import scan_corpus

        return scan_corpus(
            store.view,
            store.inputs.corpus if which == "corpus" else store.inputs.model_corpus,
            store.inputs.corpus_options,
            progress=store.progress,
            label=which.replace("_", " "),
            profile=_wants_profile(store),
        )

    return compute


def _wants_profile(store: AnalysisStore) -> bool:
    """The preprocessing profile serves only the corpus-versus-model-corpus comparison
    (P120): without a model corpus the scans skip it (a fifth of the scan's own work)."""
    return bool(store.inputs.model_corpus)


def _corpus_mismatch(store: AnalysisStore) -> Any:
    from auditor.corpus.mismatch import compare_corpora

    return compare_corpora(store.view, store.get("corpus_stats"), store.get("model_corpus_stats"))


def _embeddings(store: AnalysisStore) -> Any:
    from auditor.model.analysis import analyze_embeddings

    return analyze_embeddings(store)


def _indicators(store: AnalysisStore) -> Any:
    from auditor.model.analysis import analyze_indicators

    return analyze_indicators(store)


def _verification(store: AnalysisStore) -> Any:
    from auditor.model.analysis import analyze_verification

    return analyze_verification(store)


ANALYSES: dict[str, Callable[[AnalysisStore], Any]] = {
    "vocabulary": _vocabulary,
    # preprocessing: probe strings, normaliser effects, behaviour lock, other implementations
    "probes": _probes,
    "normalizer": _normalizer,
    "pretokenizer_family": _pretokenizer_family,  # the nearest known family, from the vocabulary
    "lock": _lock,
    "implementations": _implementations,
    # corpora
    "corpus_stats": _corpus_scan("corpus"),  # over inputs.corpus (auditor/corpus/scan.py)
    "model_corpus_stats": _corpus_scan("model_corpus"),  # the same over inputs.model_corpus
    # corpus versus corpus: tokens of the corpus the model corpus never shows, both profiles
    "corpus_mismatch": _corpus_mismatch,
    # model
    "embeddings": _embeddings,
    "indicators": _indicators,
    "verification": _verification,
}


def _no_key(_store: AnalysisStore) -> list[Any]:
    return []


@dataclass(frozen=True)
class CacheSpec:
    """How one analysis is stored in the on-disk cache (see the module docstring)."""

    dump: Callable[[Any], tuple[dict[str, Any], dict[str, Any]]]
    load: Callable[[dict[str, Any], dict[str, Any]], Any]
    key: Callable[[AnalysisStore], Any] = _no_key

    @classmethod
    def of(cls, result_type: Any, key: Callable[[AnalysisStore], Any] = _no_key) -> CacheSpec:
        """The spec of a result class with `to_cache()` and `from_cache(document, arrays)`."""
        return cls(dump=lambda result: result.to_cache(), load=result_type.from_cache, key=key)


def _vocabulary_spec() -> CacheSpec:
    def load(document: dict[str, Any], arrays: dict[str, Any]) -> Any:
        from auditor.analyses.vocabulary import VocabularyAnalysis

        return VocabularyAnalysis.from_cache(document, arrays)

    return CacheSpec(dump=lambda result: result.to_cache(), load=load)


def _corpus_key(which: str) -> Callable[[AnalysisStore], Any]:
    def key(store: AnalysisStore) -> Any:
        from auditor.corpus.reader import corpus_signature

        paths = store.inputs.corpus if which == "corpus" else store.inputs.model_corpus
        # Whether the scan gathered the preprocessing profile: an entry without one must
        # not serve a run that compares against a model corpus (and the other way round).
        return [corpus_signature(paths), store.inputs.corpus_options.key(), {"profile": _wants_profile(store)}]

    return key


def _corpus_spec(which: str) -> CacheSpec:
    def load(document: dict[str, Any], arrays: dict[str, Any]) -> Any:
        from auditor.corpus.result import CorpusStats

        return CorpusStats.from_cache(document, arrays)

    return CacheSpec(dump=lambda result: result.to_cache(), load=load, key=_corpus_key(which))


CACHED: dict[str, CacheSpec] = {
    "vocabulary": _vocabulary_spec(),
    "corpus_stats": _corpus_spec("corpus"),
    "model_corpus_stats": _corpus_spec("model_corpus"),
}


class AnalysisStore:
    """Per-artifact memo of analysis results, with the run's inputs.

    `artifact_key` identifies the artifact's content and how it was loaded (the engine
    sets it); without it, or without an enabled `inputs.cache`, nothing is cached.
    """

    def __init__(
        self,
        view: TokenizerView,
        inputs: RunInputs | None = None,
        progress: Any = None,
        artifact_key: str | None = None,
    ) -> None:
        self.view = view
        self.inputs = inputs or RunInputs()
        self.progress = progress or (lambda _msg: None)
        self.artifact_key = artifact_key
        self._results: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name not in self._results:
            try:
                compute = ANALYSES[name]
            except KeyError:
                raise KeyError(f"unknown analysis {name!r}; known: {', '.join(sorted(ANALYSES))}") from None
            self._results[name] = self._cached(name, compute)
        return self._results[name]

    def _cached(self, name: str, compute: Callable[[AnalysisStore], Any]) -> Any:
        cache = self.inputs.cache
        spec = CACHED.get(name)
        if spec is None or cache is None or not cache.enabled or self.artifact_key is None:
            return compute(self)
        from auditor.cache import Cache

        kind = f"analysis-{name}"
        key = Cache.key(kind, self.artifact_key, spec.key(self))
        entry = cache.load(kind, key)
        if entry is not None:
            try:
                return spec.load(*entry)
            except Exception:
                cache.hits -= 1
                cache.misses += 1
        result = compute(self)
        document, arrays = spec.dump(result)
        cache.store(kind, key, document, arrays)
        return result

    def computed(self) -> list[str]:
        return sorted(self._results)

    def warnings(self) -> list[str]:
        """What the computed corpus scans have to say on stderr (bad records, failed documents)."""
        out: list[str] = []
        for name, label in (("corpus_stats", "corpus"), ("model_corpus_stats", "model corpus")):
            if name in self._results:
                out.extend(self._results[name].warnings(label))
        return out

    def verification_status(self) -> VerificationStatus | None:
        """Whether verification ran, when the run computed it."""
        found = self._results.get("verification")
        return None if found is None else found.status()

    def sections(self) -> dict[str, Any]:
        """Report sections offered by the computed analyses, by analysis name."""
        out: dict[str, Any] = {}
        for name in self.computed():
            result = self._results[name]
            section = getattr(result, "report_section", None)
            if callable(section):
                # A result may show others of the same run beside its own facts (the
                # indicators show the verification verdicts): they are passed, never held.
                related = {other: self._results.get(other) for other in getattr(result, "reported_with", ())}
                out[name] = section(**related)
        return out
