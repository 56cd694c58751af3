"""Which rules exist (built-in + the `tokaudit.rules` entry-point group) and which are selected."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from auditor.rulebase import Rule

ENTRY_POINT_GROUP = "tokaudit.rules"


def _entry_point_rules() -> list[type[Rule]]:
    from importlib.metadata import entry_points

    found: list[type[Rule]] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        obj = ep.load()
        items = obj if isinstance(obj, (list, tuple)) else [obj]
        for item in items:
            if isinstance(item, type) and issubclass(item, Rule):
                found.append(item)
    return found


def _builtin_rules() -> tuple[type[Rule], ...]:
    """The `rules` package installed beside `auditor`.

    `rules` is a common name: under `python -m auditor` a `rules/` folder in the working
    directory would shadow ours, so it is imported from its own location.
    """
    import importlib.util
    from pathlib import Path

    ours = Path(__file__).resolve().parent.parent / "rules" / "__init__.py"
    module = sys.modules.get("rules")
    if module is None or Path(getattr(module, "__file__", "") or "").resolve() != ours:
        if module is not None:
            raise RuntimeError(f"another package named 'rules' is already imported ({module.__file__})")
        spec = importlib.util.spec_from_file_location("rules", ours, submodule_search_locations=[str(ours.parent)])
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot import the built-in rules from {ours}")
        module = importlib.util.module_from_spec(spec)
        sys.modules["rules"] = module
        spec.loader.exec_module(module)
    return tuple(module.BUILTIN_RULES)


def all_rules(*, plugins: bool = True) -> list[type[Rule]]:
    """Every known rule class, sorted by code. Codes and names must be unique."""
    classes = list(_builtin_rules()) + (_entry_point_rules() if plugins else [])
    by_code: dict[str, type[Rule]] = {}
    by_name: dict[str, type[Rule]] = {}
    for cls in classes:
        cls.validate_class()
        if cls.code in by_code and by_code[cls.code] is not cls:
            raise ValueError(f"rule code {cls.code} is defined twice ({by_code[cls.code].__name__}, {cls.__name__})")
        if cls.name in by_name and by_name[cls.name] is not cls:
            raise ValueError(f"rule name {cls.name} is defined twice")
        by_code[cls.code] = cls
        by_name[cls.name] = cls
    return sorted(by_code.values(), key=lambda c: c.code)


def find_rule(key: str, rules: Sequence[type[Rule]] | None = None) -> type[Rule] | None:
    """A rule by code (case-insensitive) or kebab-case name."""
    rules = all_rules() if rules is None else rules
    k = key.strip()
    for cls in rules:
        if cls.code.lower() == k.lower() or cls.name == k.lower():
            return cls
    return None


@dataclass(frozen=True)
class Selection:
    rules: tuple[type[Rule], ...]
    unknown: tuple[str, ...]  # selectors that matched nothing: the CLI warns


def _matches(selector: str, cls: type[Rule]) -> bool:
    s = selector.strip()
    if s.upper() == "ALL":
        return True
    if s.lower() == cls.name:
        return True
    return cls.code.upper().startswith(s.upper()) and s[:1].isalpha() and (len(s) == 1 or s[1:].isdigit())


def select_rules(
    select: Iterable[str] | None = None,
    extend_select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    rules: Sequence[type[Rule]] | None = None,
) -> Selection:
    """ruff-style selection: codes, code prefixes (V, V1), names or ALL. Default: ALL."""
    rules = all_rules() if rules is None else list(rules)
    select = list(select) if select else ["ALL"]
    unknown: list[str] = []
    chosen: set[str] = set()
    for sel in [*select, *extend_select]:
        hits = [c for c in rules if _matches(sel, c)]
        if not hits:
            unknown.append(sel)
        chosen.update(c.code for c in hits)
    for sel in ignore:
        hits = [c for c in rules if _matches(sel, c)]
        if not hits:
            unknown.append(sel)
        chosen.difference_update(c.code for c in hits)
    picked = tuple(c for c in rules if c.code in chosen)
    return Selection(picked, tuple(unknown))
