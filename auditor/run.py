"""One lint run over many artifacts, each with the configuration found from its folder.

Artifacts under the same configuration file run together through the engine; the
outcomes are merged in command-line order. The CLI stays thin: it parses flags into
`CliSettings` and renders what this returns.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

from auditor.config import CliSettings, FileConfig, config_for, rule_settings
from auditor.core import Finding, LintResult, RunInputs, UserError, artifact_name
from auditor.engine import Progress, run_lint
from auditor.loaders import LoadOptions


def lint_paths(
    paths: Sequence[str | os.PathLike[str]],
    cli: CliSettings,
    *,
    load_options: LoadOptions | None = None,
    cache: Any = None,
    inputs: RunInputs | None = None,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
) -> LintResult:
    from auditor.registry import find_rule

    for code, values in cli.rule_options.items():  # validate every option given, selected rule or not
        find_rule(code)(values)  # type: ignore[misc]
    inputs = inputs or RunInputs()
    if cache is not None:
        import dataclasses

        inputs = dataclasses.replace(inputs, cache=cache)
    paths = artifact_paths(paths)
    groups: dict[Any, tuple[FileConfig, list[str | os.PathLike[str]]]] = {}
    for p in paths:
        cfg = config_for(p)
        groups.setdefault(cfg.path, (cfg, []))[1].append(p)
    results = []
    unknown: list[str] = []
    for cfg, members in groups.values():
        settings = rule_settings(cfg, cli)
        unknown += [u for u in settings.unknown if u not in unknown]
        if not settings.rules:
            where = f" (configuration {cfg.path})" if cfg.path else ""
            raise UserError(f"no rule selected{where} ('tokaudit rules' lists them): nothing would be checked")
        results.append(
            run_lint(
                members, settings.rules, load_options=load_options, inputs=inputs, progress=progress,
                suppress=settings.suppress,
            )
        )
    if unknown and warn is not None:
        warn(f"unknown rule selector(s): {', '.join(unknown)}")
    return merge(results, [artifact_name(p) for p in paths])


# Slow-tokenizer files that only make sense together: linted as their folder (pre-commit
# passes them one by one).
_FOLDER_PARTS = ("vocab.json", "merges.txt")


def artifact_paths(paths: Sequence[str | os.PathLike[str]]) -> list[str | os.PathLike[str]]:
    """The paths to lint: vocab.json / merges.txt become their folder, duplicates go."""
    out: list[str | os.PathLike[str]] = []
    seen: set[str] = set()
    for p in paths:
        name = os.path.basename(os.fspath(p))
        q: str | os.PathLike[str] = (os.path.dirname(os.fspath(p)) or ".") if name in _FOLDER_PARTS else p
        key = artifact_name(q)
        if key not in seen:
            seen.add(key)
            out.append(q)
    return out


def merge(results: list[LintResult], order: list[str]) -> LintResult:
    """One result from several engine runs, artifacts in `order`, findings re-sorted."""
    if len(results) == 1:
        return results[0]
    rank = {name: k for k, name in reversed(list(enumerate(order)))}
    artifacts = sorted((a for r in results for a in r.artifacts), key=lambda a: rank.get(a.description["path"], 0))
    findings: list[Finding] = sorted((f for r in results for f in r.findings), key=Finding.sort_key)
    skipped: dict[str, str] = {}
    for r in results:
        skipped.update(r.rules_skipped)
    return LintResult(
        artifacts=artifacts,
        findings=findings,
        rules_run=sorted({c for r in results for c in r.rules_run}),
        rules_skipped=skipped,
        suppressed=sum(r.suppressed for r in results),
    )
