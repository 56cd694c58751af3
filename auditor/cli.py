"""The command line: parse, build the run, call the engine, pick the reporter, set the exit code.

Exit codes: 0 no failing findings, 1 failing findings, 2 usage/input/internal error.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, Iterator, Optional

import typer

from auditor import __version__
from auditor.core import CorpusOptions, UserError, first_line, is_error_or_panic

app = typer.Typer(
    name="tokaudit",
    help="Audit tokenizers before and after training: unreachable, partial-UTF-8 and under-trained tokens.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"
    junit = "junit"
    markdown = "markdown"


class ListFormat(str, enum.Enum):
    text = "text"
    json = "json"


class Color(str, enum.Enum):
    auto = "auto"
    always = "always"
    never = "never"


class FailOn(str, enum.Enum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


_STATE = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tokaudit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
) -> None:
    _STATE["debug"] = debug


@contextlib.contextmanager
def _guard(debug: bool = False) -> Iterator[None]:
    """User errors: one line, exit 2. Internal errors: one line (traceback with --debug), exit 2."""
    try:
        yield
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except UserError as exc:
        typer.echo(f"tokaudit: error: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("tokaudit: interrupted", err=True)
        raise typer.Exit(2) from None
    except BaseException as exc:
        # Rust panics in tokenizers/tiktoken arrive as pyo3's PanicException, a
        # BaseException: they are internal errors too, not tracebacks.
        if not is_error_or_panic(exc):
            raise
        if debug or _STATE["debug"]:
            traceback.print_exc()
        typer.echo(
            f"tokaudit: internal error: {type(exc).__name__}: {first_line(exc)} (run with --debug for the traceback)",
            err=True,
        )
        raise typer.Exit(2) from None


def _split(values: Optional[list[str]]) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(part.strip() for part in v.split(",") if part.strip())
    return out


def _progress_wanted(quiet: bool, no_progress: bool) -> bool:
    if quiet or no_progress or os.environ.get("PRE_COMMIT") == "1":
        return False
    return sys.stderr.isatty()


def _parse_rule_options(values: Optional[list[str]]) -> dict[str, dict[str, Any]]:
    from auditor.registry import find_rule

    out: dict[str, dict[str, Any]] = {}
    for item in values or []:
        key, sep, raw = item.partition("=")
        rule_key, dot, opt = key.partition(".")
        if not sep or not dot or not opt:
            raise UserError(f"--rule-option {item!r}: expected RULE.OPTION=VALUE, e.g. V105.max-examples=5")
        cls = find_rule(rule_key)
        if cls is None:
            raise UserError(f"--rule-option {item!r}: no rule {rule_key!r} (see 'tokaudit rules')")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(cls.code, {})[opt] = value
    return out


@app.command()
def lint(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH", help="Tokenizer files or folders: tokenizer.json, .model, .tiktoken, .gguf, HF folder."
        ),
    ],
    select: Annotated[
        Optional[list[str]], typer.Option("--select", metavar="RULES", help="Rules to run: codes, prefixes, names or ALL (comma-separated).")
    ] = None,
    extend_select: Annotated[
        Optional[list[str]], typer.Option("--extend-select", metavar="RULES", help="Rules to add to the selection.")
    ] = None,
    ignore: Annotated[Optional[list[str]], typer.Option("--ignore", metavar="RULES", help="Rules to leave out.")] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Report format.")] = OutputFormat.text,
    output: Annotated[
        Optional[Path], typer.Option("-o", "--output", metavar="FILE", help="Write the report to this file instead of stdout.")
    ] = None,
    fail_on: Annotated[
        Optional[FailOn],
        typer.Option("--fail-on", help="Lowest severity that makes the exit code 1 (default: config, else error)."),
    ] = None,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when findings fail.")] = False,
    preset: Annotated[
        Optional[str],
        typer.Option("--preset", metavar="NAME", help="tiktoken preset: r50k_base, p50k_base, cl100k_base, o200k_base, llama3."),
    ] = None,
    pattern: Annotated[
        Optional[str], typer.Option("--pattern", metavar="REGEX", help="Pre-tokenizer regex for a tiktoken rank file.")
    ] = None,
    special: Annotated[
        Optional[list[str]], typer.Option("--special", metavar="TEXT=ID", help="Special token of a tiktoken file, as TEXT=ID (repeatable).")
    ] = None,
    rule_option: Annotated[
        Optional[list[str]], typer.Option("--rule-option", metavar="RULE.OPTION=VALUE", help="Rule option as RULE.OPTION=VALUE (repeatable).")
    ] = None,
    baseline: Annotated[
        Optional[Path],
        typer.Option("--baseline", metavar="FILE", help="Fail only on findings not in this baseline; report stale entries."),
    ] = None,
    write_baseline: Annotated[
        Optional[Path],
        typer.Option("--write-baseline", metavar="FILE", help="Record the current findings as the baseline in FILE."),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the analysis cache.")] = False,
    cache_dir: Annotated[
        Optional[Path],
        typer.Option("--cache-dir", metavar="DIR", help="Cache folder (default: $TOKAUDIT_CACHE_DIR, else .tokaudit_cache)."),
    ] = None,
    color: Annotated[Color, typer.Option("--color", help="Colour the text report (auto honours NO_COLOR/FORCE_COLOR).")] = Color.auto,
    lock: Annotated[
        Optional[Path], typer.Option("--lock", metavar="FILE", help="Behaviour lock to check (default: tokaudit.lock beside each artifact).")
    ] = None,
    corpus: Annotated[
        Optional[list[str]], typer.Option("--corpus", metavar="PATH", help="Corpus the tokenizer was trained on: file, folder or glob of JSONL/JSON, Parquet, text (gz/bz2/zst) or a save_to_disk dataset (repeatable).")
    ] = None,
    model_corpus: Annotated[
        Optional[list[str]], typer.Option("--model-corpus", metavar="PATH", help="A sample of the model's training data, read like --corpus (repeatable).")
    ] = None,
    text_field: Annotated[str, typer.Option("--text-field", metavar="NAME", help="Field (column) holding the text in JSON, Parquet and saved-dataset corpora.")] = "text",
    doc_per_line: Annotated[bool, typer.Option("--doc-per-line", help="Plain-text corpora: one document per line (default: one per file).")] = False,
    max_documents: Annotated[
        Optional[int], typer.Option("--max-documents", metavar="N", min=1, help="Read only the first N documents of the corpus (and of the model corpus): a deterministic sample.")
    ] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No progress or warnings on stderr.")] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress display.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Lint tokenizers: every selected rule on every artifact."""
    with _guard(debug):
        from auditor.config import CliSettings, config_for
        from auditor.core import RunInputs
        from auditor.loaders import LoadOptions
        from auditor.loaders.tiktoken_file import parse_special
        from auditor.reporters import render, write_atomic
        from auditor.run import lint_paths

        cli = CliSettings(
            select=tuple(_split(select)) or None,
            extend_select=tuple(_split(extend_select)),
            ignore=tuple(_split(ignore)),
            rule_options=_parse_rule_options(rule_option),
        )
        run_config = config_for(Path.cwd())
        load_options = LoadOptions(
            preset=preset, pattern=pattern, specials=dict(parse_special(s) for s in special or [])
        )
        inputs = RunInputs(
            corpus=tuple(corpus or ()),
            model_corpus=tuple(model_corpus or ()),
            corpus_options=CorpusOptions(text_field=text_field, doc_per_line=doc_per_line, max_documents=max_documents),
            lock=None if lock is None else str(lock),
        )
        with _progress(_progress_wanted(quiet, no_progress)) as say:
            result = lint_paths(
                paths,
                cli,
                load_options=load_options,
                inputs=inputs,
                cache=_cache(cache_dir or run_config.cache_dir, no_cache),
                progress=say,
                warn=None if quiet else (lambda msg: typer.echo(f"tokaudit: warning: {msg}", err=True)),
            )
        _apply_baseline(result, write_baseline, baseline or run_config.baseline)
        fail_level = fail_on.value if fail_on is not None else (run_config.fail_on or "error")
        use_color = _color_wanted(color, to_terminal=output is None and sys.stdout.isatty())
        report = render(result, output_format.value, fail_on=fail_level, color=use_color)
        if not quiet:
            from auditor.corpus.stats import read_warnings

            for line in read_warnings(result.artifacts):
                typer.echo(f"tokaudit: warning: {line}", err=True)
        if output is not None:
            try:
                write_atomic(output, report)
            except OSError as exc:
                raise UserError(f"{output}: cannot write the report ({exc.strerror})") from None
        else:
            sys.stdout.write(report)
            sys.stdout.flush()
        code = 1 if result.failing(fail_level) and not exit_zero else 0
    raise typer.Exit(code)


def _cache(directory: Optional[Path], disabled: bool) -> Any:
    from auditor.cache import Cache, default_cache_dir

    return Cache(directory or default_cache_dir(), enabled=not disabled)


def _apply_baseline(result: Any, write: Optional[Path], read: Optional[Path]) -> None:
    """--write-baseline records every finding (then they are all baselined); --baseline reads."""
    from auditor.baseline import apply_baseline, write_baseline

    if write is not None:
        write_baseline(write, result.findings)
        apply_baseline(result, write)
    elif read is not None:
        apply_baseline(result, read)


def _color_wanted(choice: Color, *, to_terminal: bool) -> bool:
    """--color always/never; auto: NO_COLOR off, FORCE_COLOR on, else only on a terminal."""
    if choice is Color.always:
        return True
    if choice is Color.never:
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return to_terminal


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield lambda _msg: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("starting") as status:
        yield lambda msg: status.update(msg)


@app.command("rules")
def rules_cmd(
    output_format: Annotated[ListFormat, typer.Option("--format", help="Listing format.")] = ListFormat.text,
) -> None:
    """List the rules: code, name, default severity, requirements and summary."""
    with _guard():
        from auditor.registry import all_rules

        classes = all_rules()
        if output_format is ListFormat.json:
            data = [
                {
                    "code": c.code,
                    "name": c.name,
                    "severity": c.severity.value,
                    "requires": sorted(c.requires),
                    "summary": c.summary(),
                }
                for c in classes
            ]
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
            return
        width = max(len(c.name) for c in classes)
        for c in classes:
            typer.echo(f"{c.code}  {c.name:<{width}}  {c.severity.value:<7}  {c.summary()}")


@app.command()
def explain(rule: Annotated[str, typer.Argument(help="Rule code (V101) or name (unreachable-token).")]) -> None:
    """Print a rule's documentation: what it does, why it matters, example, how to fix, options."""
    with _guard():
        from auditor.registry import find_rule

        cls = find_rule(rule)
        if cls is None:
            raise UserError(f"no rule {rule!r}; 'tokaudit rules' lists them")
        typer.echo(f"{cls.code} {cls.name} (default severity: {cls.severity.value}; requires: {', '.join(sorted(cls.requires))})")
        typer.echo("")
        typer.echo(cls.doc())
        if cls.options:
            typer.echo("")
            typer.echo("Option defaults:")
            for opt in cls.options:
                typer.echo(f"  {opt.name} = {json.dumps(opt.default)}  ({opt.help})")


@app.command("config")
def config_cmd(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="Artifact or folder whose configuration to show (default: here).")
    ] = Path("."),
    select: Annotated[Optional[list[str]], typer.Option("--select", metavar="RULES", help="As for lint.")] = None,
    extend_select: Annotated[Optional[list[str]], typer.Option("--extend-select", metavar="RULES", help="As for lint.")] = None,
    ignore: Annotated[Optional[list[str]], typer.Option("--ignore", metavar="RULES", help="As for lint.")] = None,
    rule_option: Annotated[
        Optional[list[str]], typer.Option("--rule-option", metavar="RULE.OPTION=VALUE", help="As for lint.")
    ] = None,
    fail_on: Annotated[Optional[FailOn], typer.Option("--fail-on", help="As for lint.")] = None,
    output_format: Annotated[ListFormat, typer.Option("--format", help="TOML-like text or JSON.")] = ListFormat.text,
) -> None:
    """Print the effective configuration: file found, rules, severities, options, ignores, allowlists."""
    with _guard():
        from auditor.config import CliSettings, config_for, effective, to_toml

        cli = CliSettings(
            select=tuple(_split(select)) or None,
            extend_select=tuple(_split(extend_select)),
            ignore=tuple(_split(ignore)),
            rule_options=_parse_rule_options(rule_option),
        )
        data = effective(path, cli, config_for(Path.cwd()), fail_on.value if fail_on else None)
        if output_format is ListFormat.json:
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            sys.stdout.write(to_toml(data))


@app.command()
def clean(
    cache_dir: Annotated[
        Optional[Path],
        typer.Option("--cache-dir", metavar="DIR", help="Cache folder (default: $TOKAUDIT_CACHE_DIR, else .tokaudit_cache)."),
    ] = None,
) -> None:
    """Delete the analysis cache."""
    with _guard():
        from auditor.cache import clean_cache, default_cache_dir
        from auditor.config import config_for

        target = cache_dir or config_for(Path.cwd()).cache_dir or default_cache_dir()
        if clean_cache(target):
            typer.echo(f"removed {target}")
        else:
            typer.echo(f"no cache at {target}")


@app.command("lock")
def lock_cmd(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH", help="Tokenizer files or folders to lock.")],
    lock: Annotated[
        Optional[Path], typer.Option("--lock", metavar="FILE", help="Lock file to write (default: tokaudit.lock beside each artifact).")
    ] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", metavar="NAME", help="tiktoken preset (see lint).")] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print nothing.")] = False,
) -> None:
    """Record how the tokenizers encode the probe strings; `lint` (rule P111) then reports any change."""
    with _guard():
        from auditor.preprocessing.commands import write_locks

        for line in write_locks(paths, lock, preset):
            if not quiet:
                typer.echo(line)


@app.command("diff")
def diff_cmd(
    a: Annotated[Path, typer.Argument(metavar="A", help="The reference tokenizer (file or folder).")],
    b: Annotated[Path, typer.Argument(metavar="B", help="The tokenizer to compare with A.")],
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Report format.")] = OutputFormat.text,
    output: Annotated[
        Optional[Path], typer.Option("-o", "--output", metavar="FILE", help="Write the report to this file instead of stdout.")
    ] = None,
    corpus: Annotated[
        Optional[list[str]], typer.Option("--corpus", metavar="PATH", help="Also compare the tokenization of this corpus's documents (read like lint's --corpus; repeatable).")
    ] = None,
    text_field: Annotated[str, typer.Option("--text-field", metavar="NAME", help="Field (column) holding the text in JSON, Parquet and saved-dataset corpora.")] = "text",
    doc_per_line: Annotated[bool, typer.Option("--doc-per-line", help="Plain-text corpora: one document per line (default: one per file).")] = False,
    max_documents: Annotated[
        Optional[int], typer.Option("--max-documents", metavar="N", min=1, help="Compare only the first N documents of the corpus.")
    ] = None,
) -> None:
    """Compare two tokenizers: vocabulary (added/removed/changed ids) and tokenization of the probe strings
    (and of a corpus with --corpus). Exit code 0 when they are identical, 1 when they differ."""
    with _guard():
        from auditor.preprocessing.commands import run_diff

        options = CorpusOptions(text_field=text_field, doc_per_line=doc_per_line, max_documents=max_documents)
        report, identical = run_diff(a, b, output_format.value, tuple(corpus or ()), options)
        if output is not None:
            from auditor.reporters import write_atomic

            try:
                write_atomic(output, report)
            except OSError as exc:
                raise UserError(f"{output}: cannot write the report ({exc.strerror})") from None
        else:
            sys.stdout.write(report)
            sys.stdout.flush()
    raise typer.Exit(0 if identical else 1)


# --- tokaudit audit (issue 5): thin; the run is in auditor/model/audit.py, the reports in auditor/reporters/ --


class Indicator(str, enum.Enum):
    auto = "auto"
    input_norm = "input-norm"
    cosine_pc = "cosine-pc"
    cosine = "cosine"


class Budget(str, enum.Enum):  # auditor/model/budget.py BUDGETS
    adaptive = "adaptive"
    full = "full"
    all = "all"


class Order(str, enum.Enum):  # auditor/model/ordering.py ORDERINGS
    indicator = "indicator"
    roles_last = "roles-last"


class Device(str, enum.Enum):
    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


class DType(str, enum.Enum):
    auto = "auto"
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"


@app.command()
def audit(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="HF model folder, GGUF file, .safetensors or .bin.")],
    tokenizer: Annotated[
        Optional[Path], typer.Option("--tokenizer", metavar="PATH", help="Tokenizer to use instead of the model's own.")
    ] = None,
    indicator: Annotated[
        Indicator, typer.Option("--indicator", help="auto: input-norm for untied, cosine-pc for tied models (method.md §2).")
    ] = Indicator.auto,
    candidates_percent: Annotated[
        float, typer.Option("--candidates-percent", metavar="P", help="Candidates: OK tokens at or below this percentile.")
    ] = 2.0,
    candidates_count: Annotated[
        Optional[int], typer.Option("--candidates-count", metavar="N", help="Candidates: the N lowest OK tokens.")
    ] = None,
    threshold: Annotated[
        Optional[float], typer.Option("--threshold", metavar="X", help="Candidates: OK tokens with indicator <= X.")
    ] = None,
    reference_ids: Annotated[
        Optional[str], typer.Option("--reference-ids", metavar="IDS", help="Reference (unused) rows, e.g. 5,7,100-120.")
    ] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Verify the candidates by prompting the model.")] = False,
    device: Annotated[Device, typer.Option("--device", help="Where verification runs.")] = Device.cpu,
    dtype: Annotated[DType, typer.Option("--dtype", help="Weights dtype for verification.")] = DType.auto,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Candidates per verification batch.")] = 16,
    verify_ids: Annotated[
        Optional[str], typer.Option("--verify-ids", metavar="IDS", help="Verify these ids (e.g. 5,7,100-120) instead of the candidates.")
    ] = None,
    exact: Annotated[
        bool, typer.Option("--exact-max-prob", help="Compute every prompt and step for rejected tokens too (slower).")
    ] = False,
    budget: Annotated[
        Budget,
        typer.Option(
            "--budget",
            help="adaptive: verify in order until recent candidates stop yielding; full: every candidate "
            "(the paper); all: every OK token.",
        ),
    ] = Budget.adaptive,
    stop_window: Annotated[
        int, typer.Option("--stop-window", min=1, metavar="W", help="Adaptive budget: verify at least W, stop after W without a find.")
    ] = 16,
    stop_ratio: Annotated[
        float,
        typer.Option(
            "--stop-ratio", metavar="R", help="Adaptive budget: the window grows to R x the candidates verified (0-0.95)."
        ),
    ] = 0.5,
    order: Annotated[Order, typer.Option("--order", help="Verification order of the candidates.")] = Order.indicator,
    sample: Annotated[
        int,
        typer.Option("--sample", min=0, metavar="N", help="Verify N random unverified OK tokens to estimate recall."),
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the recall sample.")] = 0,
    select: Annotated[
        Optional[list[str]], typer.Option("--select", metavar="RULES", help="Rules to run (default: the model rules, M).")
    ] = None,
    ignore: Annotated[Optional[list[str]], typer.Option("--ignore", metavar="RULES", help="Rules to leave out.")] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Report format.")] = OutputFormat.text,
    output: Annotated[
        Optional[Path], typer.Option("-o", "--output", metavar="FILE", help="Write the report to this file instead of stdout.")
    ] = None,
    markdown: Annotated[
        Optional[Path], typer.Option("--markdown", metavar="FILE", help="Also write a Markdown report.")
    ] = None,
    plots: Annotated[Optional[Path], typer.Option("--plots", metavar="DIR", help="Also write the PNG plots here.")] = None,
    cache_dir: Annotated[
        Optional[Path], typer.Option("--cache-dir", metavar="DIR", help="Cache of verification results (resume).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the cache.")] = False,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Lowest severity that makes the exit code 1.")] = FailOn.error,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when findings fail.")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No progress or warnings on stderr.")] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress display.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Audit a trained model for under-trained tokens: embedding indicators, then --verify by prompting."""
    with _guard(debug):
        from auditor.model.audit import (
            AuditRequest,
            check_output_paths,
            default_cache_dir,
            ignored_options,
            parse_ids,
            run_audit,
            verification_failure,
        )
        from auditor.registry import select_rules

        selection = select_rules(_split(select) or ["M"], (), _split(ignore))
        if selection.unknown and not quiet:
            typer.echo(f"tokaudit: warning: unknown rule selector(s): {', '.join(selection.unknown)}", err=True)
        if not selection.rules:
            raise UserError("no rule selected ('tokaudit rules' lists them): nothing would be checked")
        request = AuditRequest(
            model=str(model),
            tokenizer=None if tokenizer is None else str(tokenizer),
            indicator=indicator.value,
            candidates_percent=candidates_percent,
            candidates_count=candidates_count,
            threshold=threshold,
            reference_ids=parse_ids(reference_ids, "--reference-ids"),
            verify=verify,
            device=device.value,
            dtype=dtype.value,
            batch_size=batch_size,
            exact=exact,
            verify_ids=parse_ids(verify_ids, "--verify-ids"),
            budget=budget.value,
            stop_window=stop_window,
            stop_ratio=stop_ratio,
            order=order.value,
            sample=sample,
            seed=seed,
            cache_dir=None if no_cache else str(cache_dir or default_cache_dir()),
        )
        check_output_paths([output, markdown])
        if not quiet:
            for why in ignored_options(request):
                typer.echo(f"tokaudit: warning: {why}", err=True)
        with _progress(_progress_wanted(quiet, no_progress)) as say:
            result = run_audit(request, [cls() for cls in selection.rules], progress=say)
        _write_audit_outputs(result, output_format.value, output, markdown, plots, fail_on.value)
        code = 1 if result.failing(fail_on.value) and not exit_zero else 0
        why = verification_failure(result)
        if why is not None:  # the indicators are reported; what was asked for is not done
            typer.echo(f"tokaudit: error: verification did not run: {why}", err=True)
            code = 2
    raise typer.Exit(code)


def _write_audit_outputs(
    result: Any, fmt: str, output: Optional[Path], markdown: Optional[Path], plots: Optional[Path], fail_on: str
) -> None:
    from auditor.reporters import write_atomic
    from auditor.reporters.audit import audit_dict, render_audit_json, render_audit_text

    if fmt == "json":
        report = render_audit_json(result)
    elif fmt == "text":
        report = render_audit_text(result, fail_on=fail_on)
    else:  # sarif, github, junit, markdown: the findings, as for lint
        from auditor.reporters import render

        report = render(result, fmt, fail_on=fail_on)
    targets = []
    if markdown is not None:
        from auditor.reporters.audit_markdown import render_audit_markdown

        targets.append((markdown, render_audit_markdown(result)))
    if output is not None:
        targets.append((output, report))
    for path, text in targets:
        try:
            write_atomic(path, text)
        except OSError as exc:
            raise UserError(f"{path}: cannot write the report ({exc.strerror})") from None
    if plots is not None:
        from auditor.model.plots import write_plots

        write_plots(audit_dict(result), plots)
    if output is None:
        sys.stdout.write(report)
        sys.stdout.flush()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
