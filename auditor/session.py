"""One session for every command: what `lint`, `audit`, `diff`, `lock` and `config` share.

A `Session` holds the command line's shared settings (selection, fail-on, baseline,
cache, colour, output) and resolves them the same way for every command:

- rule settings (select, ignore, severities, options, allowlists, per-path ignores) come
  from the configuration file found from each artifact upward, the CLI on top; run
  settings (fail-on, baseline, cache-dir) from the file found from the working directory;
- the report format is checked against the command before any work: a format a
  command cannot render is refused, never replaced;
- every report goes through one output path: stdout, or a file written atomically;
- the exit code: 0 nothing fails, 1 findings fail at --fail-on (unless --exit-zero),
  2 for what the user must fix (raised as `UserError` and printed by the CLI).

The CLI parses arguments into these records and calls one method; nothing here parses.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.cache import Cache, default_cache_dir
from auditor.config import CliSettings, FileConfig, config_for, effective, rule_settings
from auditor.core import (
    CorpusOptions,
    Finding,
    LintResult,
    ModelOptions,
    RunInputs,
    UserError,
    artifact_name,
)
from auditor.engine import Progress, run_lint
from auditor.loaders import LoadOptions
from auditor.reporters import RenderOptions, Reporter, reporter_for


@dataclass(frozen=True)
class Output:
    """Where and how a report goes."""

    format: str = "text"
    path: Path | None = None  # None: stdout
    color: str = "auto"  # auto (NO_COLOR / FORCE_COLOR / a terminal), always, never


@dataclass(frozen=True)
class Policy:
    """What decides the exit code."""

    fail_on: str | None = None  # None: the configuration's, else "error"
    exit_zero: bool = False
    baseline: Path | None = None  # None: the configuration's
    write_baseline: Path | None = None


@dataclass(frozen=True)
class AuditRequest:
    """What `tokaudit audit` is asked: a model, its tokenizer, whether to verify, the options."""

    model: str
    tokenizer: str | None = None
    verify: bool = False
    options: ModelOptions = field(default_factory=ModelOptions)


def progress_wanted(quiet: bool, no_progress: bool) -> bool:
    """Progress only on a terminal, never under pre-commit, --quiet or --no-progress."""
    if quiet or no_progress or os.environ.get("PRE_COMMIT") == "1":
        return False
    return sys.stderr.isatty()


def color_wanted(choice: str, *, to_terminal: bool) -> bool:
    """--color always/never; auto: NO_COLOR off, FORCE_COLOR on, else only on a terminal."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return to_terminal


class Session:
    """The shared settings of one command, and the commands."""

    def __init__(
        self,
        *,
        selection: CliSettings | None = None,
        policy: Policy | None = None,
        output: Output | None = None,
        cache_dir: Path | None = None,
        no_cache: bool = False,
        quiet: bool = False,
        progress: bool = False,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.selection = selection or CliSettings()
        self.policy = policy or Policy()
        self.output = output or Output()
        self.quiet = quiet
        self.show_progress = progress
        self._warn = warn or (lambda msg: print(f"tokaudit: warning: {msg}", file=sys.stderr))
        self.run_config: FileConfig = config_for(Path.cwd())
        directory = cache_dir or self.run_config.cache_dir or default_cache_dir()
        self.cache = Cache(directory, enabled=not no_cache)

    # --- what every command shares ------------------------------------------------

    @property
    def fail_on(self) -> str:
        return self.policy.fail_on or self.run_config.fail_on or "error"

    def warn(self, message: str) -> None:
        if not self.quiet:
            self._warn(message)

    def reporter(self, command: str) -> Reporter:
        """The reporter for the output format; refused before any work when it cannot render `command`."""
        to_terminal = self.output.path is None and sys.stdout.isatty()
        options = RenderOptions(fail_on=self.fail_on, color=color_wanted(self.output.color, to_terminal=to_terminal))
        return reporter_for(self.output.format, command, options)

    @contextlib.contextmanager
    def progress(self) -> Iterator[Progress]:
        if not self.show_progress:
            yield lambda _msg: None
            return
        from rich.console import Console

        with Console(stderr=True).status("starting") as status:
            yield lambda msg: status.update(msg)

    def emit(self, text: str, path: Path | None = None) -> None:
        """The one output path: a file written atomically (never half-written), or stdout."""
        target = path if path is not None else self.output.path
        if target is None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        from auditor.atomic import write_text_atomic

        try:
            write_text_atomic(target, text)
        except OSError as exc:
            raise UserError(f"{target}: cannot write the report ({exc.strerror})") from None

    def check_outputs(self, *extra: Path | None) -> None:
        """Refuse output paths that cannot be written before the (possibly long) run, not after."""
        for target in (self.output.path, self.policy.write_baseline, *extra):
            if target is None:
                continue
            if target.is_dir():
                raise UserError(f"{target}: is a folder, not a report file")
            if not target.parent.is_dir():
                raise UserError(f"{target}: cannot write the report (no folder {target.parent})")

    def exit_code(self, result: LintResult) -> int:
        return 1 if result.failing(self.fail_on) and not self.policy.exit_zero else 0

    def _apply_baseline(self, result: LintResult) -> None:
        """--write-baseline records every finding (then they are all baselined); --baseline reads."""
        from auditor.baseline import apply_baseline, write_baseline

        if self.policy.write_baseline is not None:
            write_baseline(self.policy.write_baseline, result.findings)
            apply_baseline(result, self.policy.write_baseline)
        elif (self.policy.baseline or self.run_config.baseline) is not None:
            apply_baseline(result, self.policy.baseline or self.run_config.baseline)  # type: ignore[arg-type]

    def _finish(self, command: str, reporter: Reporter, result: LintResult) -> int:
        self._apply_baseline(result)
        report = reporter.audit(result) if command == "audit" else reporter.lint(result)
        for line in result.warnings():
            self.warn(line)
        self.emit(report)
        return self.exit_code(result)

    # --- lint ---------------------------------------------------------------------

    def lint(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        load_options: LoadOptions | None = None,
        inputs: RunInputs | None = None,
    ) -> int:
        reporter = self.reporter("lint")
        self.check_outputs()
        with self.progress() as say:
            result = self.lint_result(paths, load_options=load_options, inputs=inputs, progress=say)
        return self._finish("lint", reporter, result)

    def lint_result(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        load_options: LoadOptions | None = None,
        inputs: RunInputs | None = None,
        progress: Progress | None = None,
        command: str = "lint",
    ) -> LintResult:
        """Every artifact with the rules of the configuration found from its folder.

        Artifacts under the same configuration file run together through the engine; the
        outcomes are merged in command-line order.
        """
        from auditor.registry import find_rule

        for code, values in self.selection.rule_options.items():  # every option given is checked
            rule_class = find_rule(code)
            assert rule_class is not None  # the CLI resolved the code
            rule_class(values)
        inputs = dataclasses.replace(inputs or RunInputs(), cache=self.cache)
        wanted = artifact_paths(paths)
        groups: dict[Any, tuple[FileConfig, list[str | os.PathLike[str]]]] = {}
        for p in wanted:
            config = config_for(p)
            groups.setdefault(config.path, (config, []))[1].append(p)
        results = []
        unknown: list[str] = []
        for config, members in groups.values():
            settings = rule_settings(config, self.selection, command=command)
            unknown += [u for u in settings.unknown if u not in unknown]
            if not settings.rules:
                where = f" (configuration {config.path})" if config.path else ""
                raise UserError(f"no rule selected{where} ('tokaudit rules' lists them): nothing would be checked")
            results.append(
                run_lint(
                    members,
                    settings.rules,
                    load_options=load_options,
                    inputs=inputs,
                    progress=progress,
                    suppress=settings.suppress,
                )
            )
        if unknown:
            self.warn(f"unknown rule selector(s): {', '.join(unknown)}")
        return merge(results, [artifact_name(p) for p in wanted])

    # --- audit --------------------------------------------------------------------

    def audit(self, request: AuditRequest, *, markdown: Path | None = None, plots: Path | None = None) -> int:
        """Exit 2 when verification was asked for and could not run (the indicators are still reported)."""
        reporter = self.reporter("audit")
        self.check_outputs(markdown)
        for why in request.options.unused(verify=request.verify):
            self.warn(why)
        with self.progress() as say:
            result = self.audit_result(request, progress=say)
        code = self._finish("audit", reporter, result)
        if markdown is not None:
            from auditor.reporters.audit_markdown import render_audit_markdown

            self.emit(render_audit_markdown(result), markdown)
        if plots is not None:
            from auditor.model.plots import write_plots
            from auditor.reporters.audit import audit_dict

            write_plots(audit_dict(result), plots)
        problem = result.verification_problem()
        if problem is not None:
            print(f"tokaudit: error: verification did not run: {problem}", file=sys.stderr)
            return 2
        return code

    def audit_result(self, request: AuditRequest, *, progress: Progress | None = None) -> LintResult:
        """The selected rules (the model rules by default) on the model's tokenizer, with the model."""
        from auditor.model.locate import tokenizer_path

        request.options.check(verify=request.verify)  # bad options fail before loading
        tokenizer = tokenizer_path(request.model, request.tokenizer)
        inputs = RunInputs(model=request.model, generation=request.verify, model_options=request.options)
        return self.lint_result([tokenizer], inputs=inputs, progress=progress, command="audit")

    # --- diff, lock, config ---------------------------------------------------------

    def diff(
        self,
        a: Path,
        b: Path,
        *,
        corpus: Sequence[str] = (),
        corpus_options: CorpusOptions | None = None,
    ) -> int:
        """Exit 0 when the two tokenizers are identical, 1 when they differ."""
        from auditor.corpus.reader import ReadReport, check_usable
        from auditor.loaders import load_tokenizer
        from auditor.preprocessing.diff import diff_tokenizers
        from auditor.preprocessing.equivalence import corpus_texts

        reporter = self.reporter("diff")
        self.check_outputs()
        va, vb = load_tokenizer(a), load_tokenizer(b)
        va.path, vb.path = artifact_name(a), artifact_name(b)
        read = ReadReport()
        sample = corpus_texts(list(corpus), corpus_options, report=read) if corpus else None
        result = diff_tokenizers(va, vb, sample)
        if corpus:
            check_usable(read, corpus, "corpus")
            result = dataclasses.replace(result, sample_read=read.summary())
        self.emit(reporter.diff(result))
        return 0 if result.identical else 1

    def encode(self, path: Path, texts: Sequence[str], *, load_options: LoadOptions | None = None) -> int:
        """Print how each text is tokenized: ids, pieces, byte offsets."""
        from auditor.loaders import load_tokenizer
        from auditor.preprocessing.encoding import tokenize_texts

        reporter = self.reporter("encode")
        self.check_outputs()
        view = load_tokenizer(path, load_options)
        view.path = artifact_name(path)
        result = tokenize_texts(view, texts)
        for warning in result.warnings:
            self.warn(f"{view.path}: {warning}")
        self.emit(reporter.encode(result))
        return 0

    def lock(self, paths: Sequence[Path], *, lock: Path | None = None, load_options: LoadOptions | None = None) -> int:
        """Fingerprint every artifact and write (or update) its lock file; one line per artifact."""
        from auditor.analyses.preprocessing import run_probes
        from auditor.atomic import write_text_atomic
        from auditor.loaders import load_tokenizer
        from auditor.preprocessing.lock import fingerprint, lock_location, update_lock

        by_lock: dict[Path, dict[str, dict[str, Any]]] = {}
        lines: list[str] = []
        for path in paths:
            view = load_tokenizer(path, load_options)
            view.path = artifact_name(path)
            lock_path, key = lock_location(path, lock)
            by_lock.setdefault(lock_path, {})[key] = fingerprint(view, run_probes(view))
            where = os.path.relpath(lock_path).replace(os.sep, "/")
            lines.append(
                f"{view.path}: locked {len(by_lock[lock_path][key]['probes'])} probe strings as {key!r} in {where}"
            )
        for lock_path, entries in sorted(by_lock.items()):
            text = update_lock(lock_path, entries)
            try:
                write_text_atomic(lock_path, text)
            except OSError as exc:
                raise UserError(f"{lock_path}: cannot write the lock file ({exc.strerror})") from None
        if not self.quiet:
            self.emit("".join(f"{line}\n" for line in lines))
        return 0

    def config(self, path: Path, *, command: str = "lint") -> int:
        """Print the effective configuration at `path` for `command`."""
        reporter = self.reporter("config")
        data = effective(path, self.selection, self.run_config, self.policy.fail_on, command=command)
        self.emit(reporter.config(data))
        return 0

    def clean(self) -> str:
        """Delete the cache; says what it did."""
        from auditor.cache import clean_cache

        target = self.cache.directory
        assert target is not None  # a session always names its cache folder
        return f"removed {target}" if clean_cache(target) else f"no cache at {target}"


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
        rules={code: info for r in results for code, info in r.rules.items()},
    )
