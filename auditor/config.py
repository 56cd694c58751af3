"""Configuration: `[tool.tokaudit]` in pyproject.toml or a tokaudit.toml, CLI flags on top.

Rule settings (select, extend-select, ignore, severity, per-rule options, per-path
ignores, allowlists) come from the file found from each artifact's folder upward, so a
repository may lint two tokenizers differently; run settings (fail-on, baseline,
cache-dir) come from the file found from the working directory upward, as ruff does.
In one folder, tokaudit.toml wins over pyproject.toml; a pyproject.toml without a
`[tool.tokaudit]` table is passed over. Every key and value is validated: a typo is an
error naming the file and the valid keys, never silently ignored.

Selection is layered like ruff's: the file's select/extend-select/ignore, then the
CLI's; a `select` in a later layer starts the selection afresh. Everything the CLI
gives wins over the file.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.core import FAIL_ON, Finding, Severity, UserError
from auditor.rulebase import Rule

CONFIG_NAMES = ("tokaudit.toml", "pyproject.toml")
KEYS = (
    "select",
    "extend-select",
    "ignore",
    "severity",
    "rules",
    "per-path-ignores",
    "allowlist",
    "fail-on",
    "baseline",
    "cache-dir",
)


@dataclass(frozen=True)
class FileConfig:
    """One configuration file, validated. `root` is its folder: paths in it are relative to it."""

    path: Path | None = None
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)  # rule code -> severity
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # rule code -> options
    per_path_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (glob, selectors)
    allowlist: Mapping[str, tuple[int | str, ...]] = field(default_factory=dict)  # rule code -> ids/texts
    fail_on: str | None = None
    baseline: Path | None = None
    cache_dir: Path | None = None

    @property
    def root(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()


@dataclass(frozen=True)
class CliSettings:
    """What the command line gave; None / empty means 'not given'."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSettings:
    """The rules one group of artifacts runs with, and how their findings are filtered."""

    config: FileConfig
    rules: tuple[Rule, ...]
    unknown: tuple[str, ...]  # selectors that matched nothing (the CLI warns)

    def suppress(self, finding: Finding) -> bool:
        return suppressed(self.config, finding)


# --- finding and reading files ------------------------------------------------------


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: invalid TOML: {exc}") from None


def _table(path: Path) -> dict[str, Any] | None:
    """The tokaudit table of a file, or None when a pyproject.toml has none."""
    data = _load_toml(path)
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("tokaudit")
        if table is None:
            return None
        if not isinstance(table, dict):
            raise UserError(f"{path}: [tool.tokaudit] must be a table")
        return table
    return data


def find_config(start: str | os.PathLike[str]) -> Path | None:
    """The nearest configuration file from `start` (a folder, or a file's folder) upward."""
    p = Path(start).resolve()
    folder = p if p.is_dir() else p.parent
    for d in (folder, *folder.parents):
        for name in CONFIG_NAMES:
            candidate = d / name
            if candidate.is_file() and _table(candidate) is not None:
                return candidate
    return None


_MEMO: dict[tuple[Path, int, int], FileConfig] = {}


def config_for(start: str | os.PathLike[str]) -> FileConfig:
    """The validated configuration that applies at `start` (an empty one when none).
    Parsed once per file version (path, size, mtime): many artifacts share one file."""
    path = find_config(start)
    if path is None:
        return FileConfig()
    st = path.stat()
    memo = (path, st.st_size, st.st_mtime_ns)
    if memo not in _MEMO:
        _MEMO[memo] = load_config(path)
    return _MEMO[memo]


def clear_memo() -> None:
    _MEMO.clear()


# --- validation -------------------------------------------------------------------


def _strings(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{path}: '{key}' must be a list of rule codes, prefixes or names")
    return tuple(v.strip() for v in value if v.strip())


def _rule_code(path: Path, where: str, key: str) -> str:
    from auditor.registry import find_rule

    cls = find_rule(key)
    if cls is None:
        raise UserError(f"{path}: {where}: no rule {key!r} ('tokaudit rules' lists them)")
    return cls.code


def _subtable(path: Path, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UserError(f"{path}: '{key}' must be a table")
    return value


def load_config(path: str | os.PathLike[str]) -> FileConfig:
    """Read and validate one file; every problem is a UserError naming the file."""
    p = Path(path).resolve()
    table = _table(p)
    if table is None:
        return FileConfig(path=p)
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise UserError(f"{p}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(KEYS)}")
    severity: dict[str, Severity] = {}
    for key, value in _subtable(p, "severity", table.get("severity", {})).items():
        if value not in {s.value for s in Severity}:
            raise UserError(f"{p}: severity.{key} = {value!r}: expected error, warning or info")
        severity[_rule_code(p, "severity", key)] = Severity(value)
    options: dict[str, dict[str, Any]] = {}
    for key, value in _subtable(p, "rules", table.get("rules", {})).items():
        code = _rule_code(p, "rules", key)
        values = dict(_subtable(p, f"rules.{key}", value))
        _validate_options(p, code, values)
        options.setdefault(code, {}).update(values)
    ppi = []
    for pattern, selectors in _subtable(p, "per-path-ignores", table.get("per-path-ignores", {})).items():
        ppi.append((pattern, _strings(p, f"per-path-ignores.{pattern}", selectors)))
    allow: dict[str, tuple[int | str, ...]] = {}
    for key, items in _subtable(p, "allowlist", table.get("allowlist", {})).items():
        if isinstance(items, (str, int)):
            items = [items]
        if not isinstance(items, list) or not all(
            isinstance(i, str) or (isinstance(i, int) and not isinstance(i, bool)) for i in items
        ):
            raise UserError(f"{p}: allowlist.{key}: expected a list of token ids (integers) or token texts (strings)")
        code = _rule_code(p, "allowlist", key)
        allow[code] = allow.get(code, ()) + tuple(items)
    fail_on = table.get("fail-on")
    if fail_on is not None and fail_on not in FAIL_ON:
        raise UserError(f"{p}: fail-on = {fail_on!r}: expected one of {', '.join(FAIL_ON)}")
    for key in ("baseline", "cache-dir"):
        if key in table and not isinstance(table[key], str):
            raise UserError(f"{p}: '{key}' must be a path (a string)")
    return FileConfig(
        path=p,
        select=_strings(p, "select", table["select"]) if "select" in table else None,
        extend_select=_strings(p, "extend-select", table.get("extend-select", [])),
        ignore=_strings(p, "ignore", table.get("ignore", [])),
        severity=severity,
        rule_options=options,
        per_path_ignores=tuple(ppi),
        allowlist=allow,
        fail_on=fail_on,
        baseline=(p.parent / table["baseline"]) if "baseline" in table else None,
        cache_dir=(p.parent / table["cache-dir"]) if "cache-dir" in table else None,
    )


def _validate_options(path: Path, code: str, values: Mapping[str, Any]) -> None:
    from auditor.registry import find_rule

    cls = find_rule(code)
    assert cls is not None
    try:
        cls(values)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None


# --- resolution --------------------------------------------------------------------


def resolve_selection(
    layers: Sequence[tuple[Sequence[str] | None, Sequence[str], Sequence[str]]],
    rules: Sequence[type[Rule]],
) -> tuple[list[type[Rule]], list[str]]:
    """Apply (select, extend-select, ignore) layers in order; a layer's select resets."""
    from auditor.registry import _matches

    chosen = {c.code for c in rules}  # default: ALL
    unknown: list[str] = []

    def hits(selectors: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for sel in selectors:
            found = {c.code for c in rules if _matches(sel, c)}
            if not found and sel not in unknown:
                unknown.append(sel)
            out |= found
        return out

    for select, extend, ignore in layers:
        if select is not None:
            chosen = hits(select)
        chosen |= hits(extend)
        chosen -= hits(ignore)
    return [c for c in rules if c.code in chosen], unknown


# What `tokaudit audit` selects before --select: the model rules. The file's select and
# extend-select describe the lint and do not apply to an audit; its ignore does.
AUDIT_SELECT = ("M",)


def rule_settings(config: FileConfig, cli: CliSettings, *, command: str = "lint") -> RuleSettings:
    """The rule instances for artifacts under `config`, with the CLI on top."""
    from auditor.registry import all_rules

    classes = all_rules()
    if command == "audit":
        file_layer: tuple[Sequence[str] | None, Sequence[str], Sequence[str]] = (AUDIT_SELECT, (), config.ignore)
    else:
        file_layer = (config.select, config.extend_select, config.ignore)
    picked, unknown = resolve_selection([file_layer, (cli.select, cli.extend_select, cli.ignore)], classes)
    rules = []
    for cls in picked:
        options = {**config.rule_options.get(cls.code, {}), **cli.rule_options.get(cls.code, {})}
        rules.append(cls(options or None, severity=config.severity.get(cls.code)))
    return RuleSettings(config=config, rules=tuple(rules), unknown=tuple(unknown))


def _relative(path: str, root: Path) -> str | None:
    try:
        return Path(os.path.abspath(path)).relative_to(root).as_posix()
    except ValueError:
        return None


def suppressed(config: FileConfig, finding: Finding) -> bool:
    """True when a per-path ignore or an allowlist of `config` covers the finding."""
    from auditor.registry import _matches, find_rule

    if config.per_path_ignores:
        rel = _relative(finding.artifact, config.root)
        cls = find_rule(finding.code)
        if rel is not None and cls is not None:
            for pattern, selectors in config.per_path_ignores:
                hit = fnmatch.fnmatchcase(rel, pattern) or (
                    "/" not in pattern and fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], pattern)
                )
                if hit and any(_matches(s, cls) for s in selectors):
                    return True
    items = config.allowlist.get(finding.code)
    if items and finding.token_id is not None:
        for item in items:
            if isinstance(item, int):
                if item == finding.token_id:
                    return True
            elif item == finding.token or (
                finding.token_bytes is not None and item.encode("utf-8", "surrogatepass") == finding.token_bytes
            ):
                return True
    return False


# --- `tokaudit config` ---------------------------------------------------------------


def effective(
    start: str | os.PathLike[str], cli: CliSettings, run: FileConfig, fail_on: str | None, *, command: str = "lint"
) -> dict[str, Any]:
    """The effective configuration at `start` for `command`, as plain data (for `tokaudit config`)."""
    from auditor.cache import default_cache_dir

    config = config_for(start)
    settings = rule_settings(config, cli, command=command)
    return {
        "config-file": str(config.path) if config.path else None,
        "run-config-file": str(run.path) if run.path else None,
        "fail-on": fail_on or run.fail_on or "error",
        "baseline": str(run.baseline) if run.baseline else None,
        "cache-dir": str(run.cache_dir or default_cache_dir()),
        "select": [r.code for r in settings.rules],
        "unknown-selectors": list(settings.unknown),
        "severity": {r.code: r.severity.value for r in settings.rules},
        "rules": {r.code: dict(r.option_values) for r in settings.rules if r.option_values},
        "per-path-ignores": {pattern: list(sel) for pattern, sel in config.per_path_ignores},
        "allowlist": {code: list(items) for code, items in sorted(config.allowlist.items())},
    }
