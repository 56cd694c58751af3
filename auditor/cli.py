"""The command line: arguments and help text; every command hands over to `auditor.session`.

Exit codes: 0 no failing findings, 1 failing findings, 2 usage/input/internal error.
"""

from __future__ import annotations

import contextlib
import json
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from auditor import __version__
from auditor.core import (
    BUDGETS,
    DEVICES,
    DTYPES,
    FAIL_ON,
    INDICATORS,
    ORDERINGS,
    BudgetOptions,
    CorpusOptions,
    IndicatorOptions,
    ModelOptions,
    UserError,
    VerificationOptions,
    first_line,
    is_error_or_panic,
)
from auditor.loaders.tiktoken_file import NORMALIZE_CHOICES

app = typer.Typer(
    name="tokaudit",
    help="Audit tokenizers before and after training: unreachable, partial-UTF-8 and under-trained tokens.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _one_of(values: tuple[str, ...]) -> Callable[[str], str]:
    """A parser that accepts one of `values` (defined once, in auditor.core)."""

    def parse(value: str) -> str:
        if value not in values:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(values)}")
        return value

    return parse


def _choices(values: tuple[str, ...]) -> dict[str, Any]:
    """typer.Option keywords for a choice among `values`: the parser and the [a|b] metavar."""
    return {"parser": _one_of(values), "metavar": "[" + "|".join(values) + "]"}


IndicatorDefaults, VerifyDefaults, BudgetDefaults = IndicatorOptions(), VerificationOptions(), BudgetOptions()
CorpusDefaults = CorpusOptions()


def _format_help(command: str) -> str:
    from auditor.reporters import formats_for

    return f"Report format: {', '.join(formats_for(command))}."


_STATE = {"debug": False}


# Options several commands share, declared once.
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")]

IgnoreOption = Annotated[Optional[list[str]], typer.Option("--ignore", metavar="RULES", help="Rules to leave out.")]

OutputOption = Annotated[
    Optional[Path],
    typer.Option("-o", "--output", metavar="FILE", help="Write the report to this file instead of stdout."),
]

FailOnOption = Annotated[
    Optional[str],
    typer.Option(
        "--fail-on",
        help="Lowest severity that makes the exit code 1 (default: config, else error).",
        **_choices(FAIL_ON),
    ),
]

ExitZeroOption = Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when findings fail.")]

CacheDirOption = Annotated[
    Optional[Path],
    typer.Option(
        "--cache-dir", metavar="DIR", help="Cache folder (default: $TOKAUDIT_CACHE_DIR, else .tokaudit_cache)."
    ),
]

TextFieldOption = Annotated[
    str,
    typer.Option(
        "--text-field",
        metavar="NAME",
        help="Field (column) holding the text in JSON, Parquet and saved-dataset corpora.",
    ),
]

DocPerLineOption = Annotated[
    bool, typer.Option("--doc-per-line", help="Plain-text corpora: one document per line (default: one per file).")
]

QuietOption = Annotated[bool, typer.Option("-q", "--quiet", help="No progress or warnings on stderr.")]

NoProgressOption = Annotated[bool, typer.Option("--no-progress", help="No progress display.")]


def _preset_help() -> str:
    from auditor.loaders.tiktoken_file import PRESETS

    return f"tiktoken preset (guessed from the number of ranks when omitted): {', '.join(PRESETS)}."


# How a tiktoken rank file is read: it holds only the ranks.
PresetOption = Annotated[Optional[str], typer.Option("--preset", metavar="NAME", help=_preset_help())]
PatternOption = Annotated[
    Optional[str], typer.Option("--pattern", metavar="REGEX", help="Pre-tokenizer regex for a tiktoken rank file.")
]
SpecialOption = Annotated[
    Optional[list[str]],
    typer.Option("--special", metavar="TEXT=ID", help="Special token of a tiktoken file, as TEXT=ID (repeatable)."),
]
NormalizeOption = Annotated[
    Optional[str],
    typer.Option(
        "--normalize",
        help="Unicode normalisation a tiktoken file's text gets before encoding (default: the preset's, nfc for qwen).",
        **_choices(NORMALIZE_CHOICES),
    ),
]


def _load_options(
    preset: Optional[str], pattern: Optional[str], special: Optional[list[str]], normalize: Optional[str]
) -> Any:
    from auditor.loaders import LoadOptions
    from auditor.loaders.tiktoken_file import parse_special

    specials = dict(parse_special(s) for s in special or [])
    return LoadOptions(preset=preset, pattern=pattern, specials=specials, normalize=normalize)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tokaudit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: DebugOption = False,
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
        Optional[list[str]],
        typer.Option(
            "--select", metavar="RULES", help="Rules to run: codes, prefixes, names or ALL (comma-separated)."
        ),
    ] = None,
    extend_select: Annotated[
        Optional[list[str]], typer.Option("--extend-select", metavar="RULES", help="Rules to add to the selection.")
    ] = None,
    ignore: IgnoreOption = None,
    output_format: Annotated[str, typer.Option("--format", metavar="FORMAT", help=_format_help("lint"))] = "text",
    output: OutputOption = None,
    fail_on: FailOnOption = None,
    exit_zero: ExitZeroOption = False,
    preset: PresetOption = None,
    pattern: PatternOption = None,
    special: SpecialOption = None,
    normalize: NormalizeOption = None,
    rule_option: Annotated[
        Optional[list[str]],
        typer.Option(
            "--rule-option", metavar="RULE.OPTION=VALUE", help="Rule option as RULE.OPTION=VALUE (repeatable)."
        ),
    ] = None,
    baseline: Annotated[
        Optional[Path],
        typer.Option(
            "--baseline", metavar="FILE", help="Fail only on findings not in this baseline; report stale entries."
        ),
    ] = None,
    write_baseline: Annotated[
        Optional[Path],
        typer.Option("--write-baseline", metavar="FILE", help="Record the current findings as the baseline in FILE."),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the analysis cache.")] = False,
    cache_dir: CacheDirOption = None,
    color: Annotated[
        str,
        typer.Option(
            "--color",
            help="Colour the text report (auto honours NO_COLOR/FORCE_COLOR).",
            **_choices(("auto", "always", "never")),
        ),
    ] = "auto",
    lock: Annotated[
        Optional[Path],
        typer.Option(
            "--lock", metavar="FILE", help="Behaviour lock to check (default: tokaudit.lock beside each artifact)."
        ),
    ] = None,
    corpus: Annotated[
        Optional[list[str]],
        typer.Option(
            "--corpus",
            metavar="PATH",
            help="Corpus the tokenizer was trained on: file, folder or glob of JSONL/JSON, Parquet, text (gz/bz2/zst) or a save_to_disk dataset (repeatable).",
        ),
    ] = None,
    model_corpus: Annotated[
        Optional[list[str]],
        typer.Option(
            "--model-corpus",
            metavar="PATH",
            help="A sample of the model's training data, read like --corpus (repeatable).",
        ),
    ] = None,
    text_field: TextFieldOption = CorpusDefaults.text_field,
    doc_per_line: DocPerLineOption = False,
    max_documents: Annotated[
        Optional[int],
        typer.Option(
            "--max-documents",
            metavar="N",
            min=1,
            help="Read only the first N documents of the corpus (and of the model corpus): a deterministic sample.",
        ),
    ] = None,
    quiet: QuietOption = False,
    no_progress: NoProgressOption = False,
    debug: DebugOption = False,
) -> None:
    """Lint tokenizers: every selected rule on every artifact."""
    with _guard(debug):
        from auditor.core import RunInputs

        session = _session(
            select,
            extend_select,
            ignore,
            rule_option,
            output_format,
            output,
            color,
            fail_on,
            exit_zero,
            baseline,
            write_baseline,
            cache_dir,
            no_cache,
            quiet,
            no_progress,
        )
        load_options = _load_options(preset, pattern, special, normalize)
        inputs = RunInputs(
            corpus=tuple(corpus or ()),
            model_corpus=tuple(model_corpus or ()),
            corpus_options=CorpusOptions(text_field=text_field, doc_per_line=doc_per_line, max_documents=max_documents),
            lock=None if lock is None else str(lock),
        )
        code = session.lint(paths, load_options=load_options, inputs=inputs)
    raise typer.Exit(code)


def _session(
    select: Optional[list[str]] = None,
    extend_select: Optional[list[str]] = None,
    ignore: Optional[list[str]] = None,
    rule_option: Optional[list[str]] = None,
    output_format: str = "text",
    output: Optional[Path] = None,
    color: Optional[str] = None,
    fail_on: Optional[str] = None,
    exit_zero: bool = False,
    baseline: Optional[Path] = None,
    write_baseline: Optional[Path] = None,
    cache_dir: Optional[Path] = None,
    no_cache: bool = False,
    quiet: bool = False,
    no_progress: bool = False,
) -> Any:
    """The session of one command, from the options every command shares."""
    from auditor.config import CliSettings
    from auditor.session import Output, Policy, Session, progress_wanted

    return Session(
        selection=CliSettings(
            select=tuple(_split(select)) or None,
            extend_select=tuple(_split(extend_select)),
            ignore=tuple(_split(ignore)),
            rule_options=_parse_rule_options(rule_option),
        ),
        policy=Policy(
            fail_on=fail_on,
            exit_zero=exit_zero,
            baseline=baseline,
            write_baseline=write_baseline,
        ),
        output=Output(format=output_format, path=output, color=color or "auto"),
        cache_dir=cache_dir,
        no_cache=no_cache,
        quiet=quiet,
        progress=progress_wanted(quiet, no_progress),
        warn=lambda msg: typer.echo(f"tokaudit: warning: {msg}", err=True),
    )


@app.command("rules")
def rules_cmd(
    output_format: Annotated[
        str,
        typer.Option("--format", help="Listing format.", **_choices(("text", "json"))),
    ] = "text",
) -> None:
    """List the rules: code, name, default severity, requirements and summary."""
    with _guard():
        from auditor.registry import all_rules

        classes = all_rules()
        if output_format == "json":
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
        typer.echo(
            f"{cls.code} {cls.name} (default severity: {cls.severity.value}; requires: {', '.join(sorted(cls.requires))})"
        )
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
    extend_select: Annotated[
        Optional[list[str]], typer.Option("--extend-select", metavar="RULES", help="As for lint.")
    ] = None,
    ignore: Annotated[Optional[list[str]], typer.Option("--ignore", metavar="RULES", help="As for lint.")] = None,
    rule_option: Annotated[
        Optional[list[str]], typer.Option("--rule-option", metavar="RULE.OPTION=VALUE", help="As for lint.")
    ] = None,
    fail_on: Annotated[
        Optional[str],
        typer.Option("--fail-on", help="As for lint.", **_choices(FAIL_ON)),
    ] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="TOML-like text or JSON.",
            **_choices(("text", "json")),
        ),
    ] = "text",
    command: Annotated[
        str,
        typer.Option(
            "--command",
            help="The command whose configuration to show (audit selects the M rules).",
            **_choices(("lint", "audit")),
        ),
    ] = "lint",
) -> None:
    """Print the effective configuration: file found, rules, severities, options, ignores, allowlists."""
    with _guard():
        session = _session(select, extend_select, ignore, rule_option, output_format, fail_on=fail_on)
        code = session.config(path, command=command)
    raise typer.Exit(code)


@app.command()
def clean(
    cache_dir: CacheDirOption = None,
) -> None:
    """Delete the analysis cache."""
    with _guard():
        typer.echo(_session(cache_dir=cache_dir).clean())


@app.command("lock")
def lock_cmd(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH", help="Tokenizer files or folders to lock.")],
    lock: Annotated[
        Optional[Path],
        typer.Option(
            "--lock", metavar="FILE", help="Lock file to write (default: tokaudit.lock beside each artifact)."
        ),
    ] = None,
    preset: PresetOption = None,
    pattern: PatternOption = None,
    special: SpecialOption = None,
    normalize: NormalizeOption = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print nothing.")] = False,
) -> None:
    """Record how the tokenizers encode the probe strings; `lint` (rule P111) then reports any change."""
    with _guard():
        load_options = _load_options(preset, pattern, special, normalize)
        code = _session(quiet=quiet).lock(paths, lock=lock, load_options=load_options)
    raise typer.Exit(code)


@app.command("encode")
def encode_cmd(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="Tokenizer file or folder (any format lint reads).")],
    texts: Annotated[
        Optional[list[str]], typer.Argument(metavar="[TEXT]...", help="Texts to encode, one result each.")
    ] = None,
    file: Annotated[
        Optional[list[Path]],
        typer.Option("--file", metavar="FILE", help="Encode the whole content of FILE as one text (repeatable)."),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", metavar="FORMAT", help=_format_help("encode"))] = "text",
    output: OutputOption = None,
    preset: PresetOption = None,
    pattern: PatternOption = None,
    special: SpecialOption = None,
    normalize: NormalizeOption = None,
    quiet: QuietOption = False,
) -> None:
    """Show how texts are tokenized: ids, vocabulary pieces and the bytes of the text each covers.

    Without BOS/EOS, as the analyses encode; `--format json` gives
    [{"text", "ids", "pieces", "offsets", "decoded"}] to compare with another implementation."""
    with _guard():
        given = list(texts or []) + [_read_text_file(f) for f in file or []]
        if not given:
            raise UserError("give a TEXT to encode or --file FILE")
        load_options = _load_options(preset, pattern, special, normalize)
        code = _session(output_format=output_format, output=output, quiet=quiet).encode(
            path, given, load_options=load_options
        )
    raise typer.Exit(code)


def _read_text_file(path: Path) -> str:
    """A text file's content, exactly (no newline translation); `-` is standard input."""
    import sys

    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start})") from None


@app.command("diff")
def diff_cmd(
    a: Annotated[Path, typer.Argument(metavar="A", help="The reference tokenizer (file or folder).")],
    b: Annotated[Path, typer.Argument(metavar="B", help="The tokenizer to compare with A.")],
    output_format: Annotated[str, typer.Option("--format", metavar="FORMAT", help=_format_help("diff"))] = "text",
    output: OutputOption = None,
    corpus: Annotated[
        Optional[list[str]],
        typer.Option(
            "--corpus",
            metavar="PATH",
            help="Also compare the tokenization of this corpus's documents (read like lint's --corpus; repeatable).",
        ),
    ] = None,
    text_field: TextFieldOption = CorpusDefaults.text_field,
    doc_per_line: DocPerLineOption = False,
    max_documents: Annotated[
        Optional[int],
        typer.Option("--max-documents", metavar="N", min=1, help="Compare only the first N documents of the corpus."),
    ] = None,
) -> None:
    """Compare two tokenizers: vocabulary (added/removed/changed ids) and tokenization of the probe strings
    (and of a corpus with --corpus). Exit code 0 when they are identical, 1 when they differ."""
    with _guard():
        options = CorpusOptions(text_field=text_field, doc_per_line=doc_per_line, max_documents=max_documents)
        code = _session(output_format=output_format, output=output).diff(
            a, b, corpus=tuple(corpus or ()), corpus_options=options
        )
    raise typer.Exit(code)


def _parse_ids(text: str | None, option: str = "--reference-ids") -> tuple[int, ...] | None:
    """'1,2,10-12' -> (1, 2, 10, 11, 12)."""
    if text is None:
        return None
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, dash, hi = part.partition("-")
        try:
            if dash:
                a, b = int(lo), int(hi)
                if b < a or b - a > 10_000_000:
                    raise ValueError
                out.extend(range(a, b + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise UserError(f"{option}: {part!r} is not an id or a range like 10-20") from None
    return tuple(out)


@app.command()
def audit(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="HF model folder, GGUF file, .safetensors or .bin.")],
    tokenizer: Annotated[
        Optional[Path], typer.Option("--tokenizer", metavar="PATH", help="Tokenizer to use instead of the model's own.")
    ] = None,
    indicator: Annotated[
        str,
        typer.Option(
            "--indicator",
            help="auto: input-norm for untied, cosine-pc for tied models (docs/method.md §2).",
            **_choices(INDICATORS),
        ),
    ] = IndicatorDefaults.indicator,
    candidates_percent: Annotated[
        float,
        typer.Option("--candidates-percent", metavar="P", help="Candidates: OK tokens at or below this percentile."),
    ] = IndicatorDefaults.candidates_percent,
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
    device: Annotated[
        str,
        typer.Option("--device", help="Where verification runs.", **_choices(DEVICES)),
    ] = VerifyDefaults.device,
    dtype: Annotated[
        str,
        typer.Option("--dtype", help="Weights dtype for verification.", **_choices(DTYPES)),
    ] = VerifyDefaults.dtype,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Candidates per verification batch.")
    ] = VerifyDefaults.batch_size,
    verify_ids: Annotated[
        Optional[str],
        typer.Option(
            "--verify-ids", metavar="IDS", help="Verify these ids (e.g. 5,7,100-120) instead of the candidates."
        ),
    ] = None,
    exact: Annotated[
        bool, typer.Option("--exact-max-prob", help="Compute every prompt and step for rejected tokens too (slower).")
    ] = False,
    budget: Annotated[
        str,
        typer.Option(
            "--budget",
            help="adaptive: verify in order until recent candidates stop yielding; full: every candidate "
            "(the paper); all: every OK token.",
            **_choices(BUDGETS),
        ),
    ] = BudgetDefaults.budget,
    stop_window: Annotated[
        int,
        typer.Option(
            "--stop-window", min=1, metavar="W", help="Adaptive budget: verify at least W, stop after W without a find."
        ),
    ] = BudgetDefaults.stop_window,
    stop_ratio: Annotated[
        float,
        typer.Option(
            "--stop-ratio",
            metavar="R",
            help="Adaptive budget: the window grows to R x the candidates verified (0-0.95).",
        ),
    ] = BudgetDefaults.stop_ratio,
    order: Annotated[
        str,
        typer.Option(
            "--order",
            help="Verification order of the candidates.",
            **_choices(ORDERINGS),
        ),
    ] = BudgetDefaults.order,
    sample: Annotated[
        int,
        typer.Option("--sample", min=0, metavar="N", help="Verify N random unverified OK tokens to estimate recall."),
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the recall sample.")] = BudgetDefaults.seed,
    select: Annotated[
        Optional[list[str]],
        typer.Option("--select", metavar="RULES", help="Rules to run (default: the model rules, M)."),
    ] = None,
    ignore: IgnoreOption = None,
    output_format: Annotated[str, typer.Option("--format", metavar="FORMAT", help=_format_help("audit"))] = "text",
    output: OutputOption = None,
    markdown: Annotated[
        Optional[Path], typer.Option("--markdown", metavar="FILE", help="Also write a Markdown report.")
    ] = None,
    plots: Annotated[
        Optional[Path], typer.Option("--plots", metavar="DIR", help="Also write the PNG plots here.")
    ] = None,
    cache_dir: Annotated[
        Optional[Path], typer.Option("--cache-dir", metavar="DIR", help="Cache of verification results (resume).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the cache.")] = False,
    fail_on: FailOnOption = None,
    exit_zero: ExitZeroOption = False,
    quiet: QuietOption = False,
    no_progress: NoProgressOption = False,
    debug: DebugOption = False,
) -> None:
    """Audit a trained model for under-trained tokens: embedding indicators, then --verify by prompting."""
    with _guard(debug):
        from auditor.session import AuditRequest

        session = _session(
            select,
            None,
            ignore,
            None,
            output_format,
            output,
            None,
            fail_on,
            exit_zero,
            cache_dir=cache_dir,
            no_cache=no_cache,
            quiet=quiet,
            no_progress=no_progress,
        )
        options = ModelOptions(
            indicators=IndicatorOptions(
                indicator=indicator,
                candidates_percent=candidates_percent,
                candidates_count=candidates_count,
                threshold=threshold,
                reference_ids=_parse_ids(reference_ids, "--reference-ids"),
            ),
            verification=VerificationOptions(
                device=device,
                dtype=dtype,
                batch_size=batch_size,
                exact=exact,
                verify_ids=_parse_ids(verify_ids, "--verify-ids") or (),
                # A model transformers cannot run still gets its indicators; the exit code says so.
                required=False,
            ),
            budget=BudgetOptions(
                budget=budget,
                order=order,
                stop_window=stop_window,
                stop_ratio=stop_ratio,
                sample=sample,
                seed=seed,
            ),
        )
        request = AuditRequest(
            model=str(model), tokenizer=None if tokenizer is None else str(tokenizer), verify=verify, options=options
        )
        code = session.audit(request, markdown=markdown, plots=plots)
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
