"""Where the time of one `tokaudit lint` goes: the real CLI, run in-process, with timers.

Run as a script (`python benchmarks/stage_times.py OUT.json -- lint FILE ...`): wraps the
loader, the analysis steps, every rule's `check`, the reporter and the report writer
with wall-clock timers, runs `auditor.cli.main()` on the given arguments and writes
the accumulated times as JSON. The wrappers cost a few microseconds per call; nothing
else changes. `bench_lint.py` runs it in a fresh interpreter, like the end-to-end runs.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any


class StageTimers:
    """Wrap functions (module or class attributes) with timers; undo on exit."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attr: str, label: str, *, consume: bool = False) -> None:
        orig: Callable[..., Any] = getattr(owner, attr)
        seconds, calls = self.seconds, self.calls

        @functools.wraps(orig)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                out = orig(*args, **kwargs)
                if consume:  # generators: time the work, not the creation
                    out = iter(list(out))
                return out
            finally:
                seconds[label] += time.perf_counter() - t0
                calls[label] += 1

        setattr(owner, attr, timed)
        self._undo.append((owner, attr, orig))

    def restore(self) -> None:
        for owner, attr, orig in reversed(self._undo):
            setattr(owner, attr, orig)
        self._undo.clear()

    def __enter__(self) -> StageTimers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {k: {"seconds": self.seconds[k], "calls": self.calls[k]} for k in self.seconds}


def instrument_analysis(timers: StageTimers) -> None:
    """Timers inside `analyze_vocabulary` (its module-level helpers)."""
    from auditor.analyses import vocabulary as V

    timers.wrap(V, "analyze_vocabulary", "analysis")
    timers.wrap(V, "_choose_sentinels", "analysis.sentinel choice")
    timers.wrap(V, "_decode_each", "analysis.decode batch")
    timers.wrap(V, "_encode_all", "analysis.encode batch")
    timers.wrap(V, "explain_unreachable", "analysis.causes (explain_unreachable)")


def instrument_cli(timers: StageTimers) -> None:
    """Timers on every stage of `tokaudit lint` for a tokenizer.json."""
    import auditor.cli
    import auditor.engine
    from auditor.loaders import hf_json
    from auditor.registry import all_rules

    class _TimedJson:  # hf_json's `json` module, with a timed `loads`
        def __getattr__(self, name: str) -> Any:
            return getattr(json, name)

    proxy = _TimedJson()
    proxy.loads = json.loads  # type: ignore[attr-defined]
    timers.wrap(proxy, "loads", "load.json.loads")
    timers._undo.append((hf_json, "json", hf_json.json))
    hf_json.json = proxy  # type: ignore[assignment]

    timers.wrap(auditor.cli, "main", "cli main (in-process total)")
    timers.wrap(auditor.engine, "run_lint", "engine.run_lint")
    timers.wrap(auditor.engine, "load_tokenizer", "load")
    timers.wrap(hf_json, "_read_text", "load.read file")
    timers.wrap(hf_json, "load_tokenizer_json", "load.tokenizer.json total")
    timers.wrap(hf_json, "view_from_tokenizer", "load.build view")
    timers.wrap(hf_json, "_merge_triples", "load.build view.merge triples")
    instrument_analysis(timers)
    for cls in all_rules():
        timers.wrap(cls, "check", f"rule {cls.code} {cls.name}", consume=True)
    from auditor.reporters.json_report import JsonReporter
    from auditor.session import Session

    timers.wrap(JsonReporter, "lint", "report.render")
    timers.wrap(Session, "emit", "report.write")


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: stage_times.py OUT.json -- lint FILE [OPTIONS]", file=sys.stderr)
        return 2
    out_path, cli_args = argv[0], argv[2:]
    t_imports = time.perf_counter()
    import auditor.cli  # noqa: F401  (what the console script imports first)

    imports_s = time.perf_counter() - t_imports
    timers = StageTimers()
    instrument_cli(timers)
    import auditor.cli as cli

    sys.argv = ["tokaudit", *cli_args]
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    timers.restore()
    data = {"exit_code": code, "import_auditor_cli_s": imports_s, "stages": timers.as_dict()}
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
