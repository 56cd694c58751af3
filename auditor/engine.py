"""The engine: load each artifact, run the selected rules on shared analyses, sort findings.

Data flows one way: loader -> TokenizerView -> analyses (lazy, once) -> rules ->
findings -> reporters. The engine is the only place that knows all of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from auditor.core import (
    ArtifactResult,
    Finding,
    LintResult,
    RunInputs,
    Severity,
    artifact_name,
)
from auditor.loaders import LoadOptions, load_tokenizer
from auditor.rulebase import Rule, RuleContext
from auditor.store import AnalysisStore

Progress = Callable[[str], None]


# Drops a finding (config allowlist, per-path ignore): returns True to suppress.
Suppress = Callable[[Finding], bool]


def run_lint(
    paths: Sequence[str | os.PathLike[str]],
    rules: Iterable[Rule],
    *,
    load_options: LoadOptions | None = None,
    inputs: RunInputs | None = None,
    progress: Progress | None = None,
    suppress: Suppress | None = None,
) -> LintResult:
    """Run `rules` on every artifact. With an enabled `inputs.cache`, analyses are cached
    by content; a tokenizer-only run also caches each artifact's whole outcome, so an
    unchanged tokenizer is not even loaded. `suppress` drops findings after the rules,
    before sorting (so cached outcomes hold every finding)."""
    rules = list(rules)
    inputs = inputs or RunInputs()
    available = inputs.available()
    say = progress or (lambda _msg: None)
    runnable = [r for r in rules if r.requires <= available]
    skipped = {
        r.code: f"needs {', '.join(sorted(r.requires - available))}" for r in rules if not r.requires <= available
    }
    cache = inputs.cache if inputs.cache is not None and inputs.cache.enabled else None
    artifacts: list[ArtifactResult] = []
    findings: list[Finding] = []
    seen: set[str] = set()
    for path in paths:
        name = artifact_name(path)
        if name in seen:  # the same file named twice is linted once
            continue
        seen.add(name)
        artifact_key = None
        if cache is not None:
            try:
                artifact_key = _artifact_key(path, load_options, inputs.lock)
            except OSError:  # missing or unreadable: the loader says so, in its words
                artifact_key = None
        outcome_key = None
        if artifact_key is not None and available == {"tokenizer"}:
            from auditor.cache import Cache

            outcome_key = Cache.key("outcome", artifact_key, _rules_signature(runnable))
            cached = _load_outcome(cache, outcome_key, name)
            if cached is not None:
                say(f"{name}: unchanged (cached)")
                cached[0].rules_run = [r.code for r in runnable]
                cached[0].rules_skipped = dict(skipped)
                artifacts.append(cached[0])
                findings.extend(cached[1])
                continue
        result, found = _lint_artifact(path, name, runnable, load_options, inputs, say, artifact_key)
        result.rules_run = [r.code for r in runnable]
        result.rules_skipped = dict(skipped)
        if outcome_key is not None:
            _store_outcome(cache, outcome_key, result, found)
        artifacts.append(result)
        findings.extend(found)
    kept = findings if suppress is None else [f for f in findings if not suppress(f)]
    kept.sort(key=Finding.sort_key)
    return LintResult(
        artifacts=artifacts,
        findings=kept,
        rules_run=[r.code for r in runnable],
        rules_skipped=skipped,
        suppressed=len(findings) - len(kept),
        rules={r.code: type(r).info() for r in rules},
    )


def _lint_artifact(
    path: str | os.PathLike[str],
    name: str,
    runnable: list[Rule],
    load_options: LoadOptions | None,
    inputs: RunInputs,
    say: Progress,
    artifact_key: str | None,
) -> tuple[ArtifactResult, list[Finding]]:
    say(f"loading {name}")
    view = load_tokenizer(path, load_options)
    view.path = name
    store = AnalysisStore(view, inputs, say, artifact_key=artifact_key)
    result = ArtifactResult(description=view.describe(), notes=list(view.notes), loader_warnings=list(view.warnings))
    findings: list[Finding] = []
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
            result.notes.append(f"continuation pieces analysed after the word {vocab.word_sentinel!r}")
        if vocab.sentinel_failures:
            result.notes.append(f"{len(vocab.sentinel_failures)} ids could not use the sentinel")
    result.analyses = store.computed()
    result.sections = store.sections()
    result.warnings = store.warnings()
    result.verification = store.verification_status()
    return result, findings


# --- the cache of whole outcomes ----------------------------------------------------


def _artifact_key(path: str | os.PathLike[str], load_options: LoadOptions | None, lock: str | None = None) -> str:
    """Content of the artifact and of what beside it changes the findings (config files,
    the behaviour lock, other implementations), how it is loaded, and the code and
    libraries that read it."""
    import dataclasses

    from auditor.cache import Cache, artifact_hash, code_fingerprint, library_versions

    options = dataclasses.asdict(load_options) if load_options is not None else {}
    return Cache.key(
        "artifact", artifact_hash(path), _context_signature(path, lock), options, library_versions(), code_fingerprint()
    )


_BIG = 64 << 20  # context files above this are identified by size and mtime, not read


def _context_signature(path: str | os.PathLike[str], lock: str | None) -> list[Any]:
    """Identity of the files the P rules read besides the artifact: neighbour config files,
    the lock, sibling implementations. A folder artifact's own hash already covers its files."""
    from pathlib import Path

    from auditor.cache import hash_files
    from auditor.loaders.neighbours import JSON_FILES, TEXT_FILES
    from auditor.preprocessing.equivalence import sibling_files
    from auditor.preprocessing.lock import LOCK_NAME

    p = Path(path)
    files: set[Path] = set()
    if lock is not None:
        files.add(Path(lock))
    if p.is_file():
        folder = p.parent
        files.update(folder / n for n in (*JSON_FILES, *TEXT_FILES, LOCK_NAME, "vocab.json", "merges.txt"))
        files.update(sibling_files(p)[1])
    out: list[Any] = []
    for f in sorted(files):
        try:
            st = f.stat()
        except OSError:
            continue
        if not f.is_file():
            continue
        ident = [st.st_size, st.st_mtime_ns] if st.st_size > _BIG else hash_files([f])
        out.append([f.name, ident])
    return out


def _rules_signature(rules: list[Rule]) -> list[Any]:
    """What the rules are: codes, classes, settings and the hash of their source files."""
    import inspect

    from auditor.cache import code_fingerprint

    files = []
    for rule in rules:
        try:
            files.append(inspect.getsourcefile(type(rule)) or "")
        except TypeError:  # built-in or dynamically made: its class name and settings still count
            pass
    return [
        code_fingerprint(f for f in files if f),
        [[r.code, type(r).__module__, type(r).__qualname__, r.severity.value, r.option_values] for r in rules],
    ]


def _store_outcome(cache: Any, key: str, result: ArtifactResult, findings: list[Finding]) -> None:
    import json

    document = {
        "description": result.description,
        "categories": result.categories,
        "paper_counts": result.paper_counts,
        "analyses": result.analyses,
        "notes": result.notes,
        "sections": result.sections,
        "findings": [
            {**f.to_dict(), "token_bytes": None if f.token_bytes is None else f.token_bytes.hex()} for f in findings
        ],
    }
    try:
        json.dumps(document)  # sections from other analyses must be plain JSON to be cached
    except (TypeError, ValueError):
        return
    cache.store("outcome", key, document, {})


def _load_outcome(cache: Any, key: str, name: str) -> tuple[ArtifactResult, list[Finding]] | None:
    entry = cache.load("outcome", key)
    if entry is None:
        return None
    doc = entry[0]
    try:
        description = dict(doc["description"])
        description["path"] = name  # the same content may be linted under another name
        result = ArtifactResult(
            description=description,
            categories=doc["categories"],
            paper_counts=doc["paper_counts"],
            analyses=list(doc["analyses"]),
            notes=list(doc["notes"]),
            sections=dict(doc["sections"]),
        )
        findings = [
            Finding(
                code=f["code"],
                name=f["name"],
                severity=Severity(f["severity"]),
                message=f["message"],
                artifact=name,
                token_id=f["token_id"],
                token=f["token"],
                details=f["details"],
                token_bytes=None if f["token_bytes"] is None else bytes.fromhex(f["token_bytes"]),
            )
            for f in doc["findings"]
        ]
    except (KeyError, TypeError, ValueError):  # a malformed entry is a miss
        cache.hits -= 1
        cache.misses += 1
        return None
    return result, findings
