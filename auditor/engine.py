"""The engine: load each artifact, run the selected rules on shared analyses, sort findings.

Data flows one way: loader -> TokenizerView -> analyses (lazy, once) -> rules ->
findings -> reporters. The engine is the only place that knows all of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from auditor.analyses import AnalysisStore
from auditor.findings import Finding, Severity
from auditor.inputs import RunInputs
from auditor.loaders import LoadOptions, load_tokenizer
from auditor.rulebase import Rule, RuleContext

Progress = Callable[[str], None]


@dataclass
class ArtifactResult:
    """What the report says about one artifact besides its findings."""

    description: dict[str, Any]
    categories: dict[str, int] | None = None
    paper_counts: dict[str, int] | None = None
    analyses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Per-analysis report sections (corpus statistics, model summary...), by analysis name.
    sections: dict[str, Any] = field(default_factory=dict)


@dataclass
class LintResult:
    artifacts: list[ArtifactResult]
    findings: list[Finding]
    rules_run: list[str]
    rules_skipped: dict[str, str]  # code -> why

    def severity_counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Severity}
        for f in self.findings:
            counts[f.severity.value] += 1
        return counts


def artifact_name(path: str | os.PathLike[str]) -> str:
    """Stable identity of an artifact in reports: relative to the working directory when inside it."""
    p = os.path.abspath(os.fspath(path))
    try:
        rel = os.path.relpath(p)
    except ValueError:  # another drive on Windows
        return p.replace(os.sep, "/")
    return (p if rel.startswith("..") else rel).replace(os.sep, "/")


def run_lint(
    paths: Sequence[str | os.PathLike[str]],
    rules: Iterable[Rule],
    *,
    load_options: LoadOptions | None = None,
    inputs: RunInputs | None = None,
    progress: Progress | None = None,
) -> LintResult:
    rules = list(rules)
    inputs = inputs or RunInputs()
    available = inputs.available()
    say = progress or (lambda _msg: None)
    runnable = [r for r in rules if r.requires <= available]
    skipped = {
        r.code: f"needs {', '.join(sorted(r.requires - available))}" for r in rules if not r.requires <= available
    }
    artifacts: list[ArtifactResult] = []
    findings: list[Finding] = []
    seen: set[str] = set()
    for path in paths:
        name = artifact_name(path)
        if name in seen:  # the same file named twice is linted once
            continue
        seen.add(name)
        say(f"loading {name}")
        view = load_tokenizer(path, load_options)
        view.path = name
        store = AnalysisStore(view, inputs, say)
        result = ArtifactResult(description=view.describe(), notes=list(view.notes))
        for rule in runnable:
            for analysis in rule.uses:
                if analysis not in store.computed():
                    say(f"{name}: {analysis} analysis of {view.vocab_size} ids")
                    store.get(analysis)
            ctx = RuleContext(view=view, artifact=name, options=rule.option_values, _store=store, _rule=rule)
            findings.extend(rule.check(ctx))
        if "vocabulary" in store.computed():
            vocab = store.get("vocabulary")
            result.categories = vocab.category_counts()
            result.paper_counts = vocab.paper_counts()
            if vocab.sentinel:
                result.notes.append(f"leading-space sentinel {vocab.sentinel!r} used for the round trip")
            if vocab.word_sentinel:
                result.notes.append(
                    f"continuation pieces analysed after the word {vocab.word_sentinel!r}"
                )
            if vocab.sentinel_failures:
                result.notes.append(f"{len(vocab.sentinel_failures)} ids could not use the sentinel")
        result.analyses = store.computed()
        result.sections = store.sections()
        artifacts.append(result)
    findings.sort(key=Finding.sort_key)
    return LintResult(
        artifacts=artifacts,
        findings=findings,
        rules_run=[r.code for r in runnable],
        rules_skipped=skipped,
    )


def failing(findings: Iterable[Finding], fail_on: str) -> bool:
    """True when a finding reaches the --fail-on level ('never' never fails)."""
    if fail_on == "never":
        return False
    threshold = Severity(fail_on).rank
    return any(f.severity.rank >= threshold for f in findings)
