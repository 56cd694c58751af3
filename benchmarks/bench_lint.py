"""Benchmark: `tokaudit lint` of a 256k-token vocabulary, and the batch vocabulary
analysis against the reference's per-token loop.

    .venv/bin/python benchmarks/bench_lint.py [--size 256000] [--sample 50000] [--full-baseline]

What it does, in this order:

1. Builds a deterministic 256,000-id byte-level BPE tokenizer.json (benchmarks/
   synth_vocab.py: 256 byte tokens, merge chains of synthetic words, 8 added tokens)
   in a temporary folder and checks that `tokenizers` loads it.
2. End to end: runs the installed console script `tokaudit lint FILE --format json
   -o OUT --no-progress` as a subprocess, N times (default 3), wall-clock; best of N
   is compared with the 5 s budget. Exit code 0 or 1 is fine; 2 is a failure.
3. Side by side, in this process, on one loaded view: (a) `analyze_vocabulary(view)`,
   the batch analysis, vs (c) the reference implementation's way (magikarp's
   TokenizerAnalyzer): for each id `decode([id])` and `encode(text)` through a
   transformers tokenizer, one string at a time, and the same categorisation -- the
   verdict; and vs (b) the same loop on the bare `tokenizers.Tokenizer`, a stricter
   baseline reported for context. The loops run on fixed random samples of ids and
   are extrapolated linearly to the whole vocabulary (unless --full-baseline); their
   categories are checked against (a) for every sampled id.
4. The same (a) vs (b) for the real GPT-NeoX-20B tokenizer.json when present.
5. Where the end-to-end time goes: one more lint in a fresh interpreter with timers
   on every stage (benchmarks/stage_times.py).

It is a benchmark, not a test: the exit code is 0 unless something crashed.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from stage_times import StageTimers, instrument_analysis
from synth_vocab import build_spec

E2E_BUDGET_S = 5.0
SPEEDUP_TARGET = 10.0


# --- machine ------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count() or 1
    import tokenizers

    return {
        "nproc": nproc,
        "cpu_model": model,
        "python": platform.python_version(),
        "tokenizers": tokenizers.__version__,
        "platform": platform.platform(),
        "RAYON_NUM_THREADS": os.environ.get("RAYON_NUM_THREADS"),
        "TOKAUDIT_THREADS": os.environ.get("TOKAUDIT_THREADS"),
    }


# --- 1. the tokenizer ---------------------------------------------------------------


def build_tokenizer_json(folder: Path, size: int, seed: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    spec = build_spec(size, seed)
    t1 = time.perf_counter()
    text = json.dumps(spec, ensure_ascii=False)
    path = folder / "tokenizer.json"
    path.write_text(text, encoding="utf-8")
    t2 = time.perf_counter()
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    n = tok.get_vocab_size(with_added_tokens=True)
    if n != size:
        raise RuntimeError(f"built tokenizer has {n} ids, expected {size}")
    return {
        "path": str(path),
        "ids": n,
        "merges": len(spec["model"]["merges"]),
        "added_tokens": len(spec["added_tokens"]),
        "bytes": path.stat().st_size,
        "build_s": t1 - t0,
        "write_s": t2 - t1,
    }


# --- 2. end to end --------------------------------------------------------------------


def tokaudit_exe() -> list[str]:
    exe = Path(sys.executable).parent / "tokaudit"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("tokaudit")
    if found:
        return [found]
    return [sys.executable, "-m", "auditor"]  # same CLI, when no console script is installed


def run_e2e(path: str, out_dir: Path, runs: int) -> dict[str, Any]:
    cmd_base = tokaudit_exe()
    times, codes = [], []
    report = out_dir / "report.json"
    for _ in range(runs):
        if report.exists():
            report.unlink()
        cmd = [*cmd_base, "lint", path, "--format", "json", "-o", str(report), "--no-progress"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        codes.append(proc.returncode)
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"tokaudit lint exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    data = json.loads(report.read_text(encoding="utf-8"))
    art = data["artifacts"][0]
    # interpreter + imports + typer: the fixed cost of any invocation
    t0 = time.perf_counter()
    subprocess.run([*cmd_base, "--version"], capture_output=True, check=True)
    startup = time.perf_counter() - t0
    return {
        "command": " ".join(
            [Path(cmd_base[0]).name, *cmd_base[1:], "lint", "FILE", "--format", "json", "-o", "OUT", "--no-progress"]
        ),
        "runs_s": times,
        "best_s": min(times),
        "exit_codes": codes,
        "startup_s": startup,
        "categories": art.get("categories"),
        "paper_counts": art.get("paper_counts"),
        "findings": data["summary"]["findings"],
    }


# --- 3. batch vs per-token ---------------------------------------------------------------


class Sentinels:
    """The text prefixes the batch analysis puts in front of a token, chosen by its own
    helpers so that (b) does exactly what (a) does: the leading-space sentinels for
    ordinary tokens, word sentinels for WordPiece continuation pieces ("##ing")."""

    def __init__(self, view: Any) -> None:
        from auditor.analyses import vocabulary as V

        self.plain = [self._norm(x) for x in V._choose_sentinels(view)]
        prefix = view.continuation_prefix
        self.inner = frozenset(
            i for i in view.ids if prefix and (view.pieces[i] or "").startswith(prefix) and view.pieces[i] != prefix
        )
        word = getattr(V, "_word_sentinels", None)
        self.word = [self._norm(x) for x in word(view)] if (self.inner and word) else []

    @staticmethod
    def _norm(item: tuple[str, Any]) -> tuple[str, tuple[int, ...]]:
        text, ids = item
        return text, tuple(ids) if isinstance(ids, (list, tuple)) else (int(ids),)

    def for_id(self, tid: int) -> list[tuple[str, tuple[int, ...]]]:
        return self.word if tid in self.inner else self.plain


def baseline_categories(view: Any, tok: Any, ids: Sequence[int], sentinels: Sentinels) -> dict[int, Any]:
    """A stricter baseline than the reference: one decode and one encode call per
    token, in a Python loop, straight on the bare `tokenizers.Tokenizer`.

    Same sentinel cascade and same categorisation as the batch analysis.
    """

    def decode(seq: list[int]) -> str:
        return tok.decode(seq, skip_special_tokens=False)

    def encode(text: str) -> list[int]:
        return tok.encode(text, add_special_tokens=False).ids

    return _per_token_loop(view, decode, encode, ids, sentinels)


def transformers_loop(path: str, view: Any, sentinels: Sentinels) -> Any:
    """The reference implementation's way: the loop through a transformers tokenizer,
    as magikarp's TokenizerAnalyzer holds one (AutoTokenizer); the verdict uses it.
    Returns a function ids -> categories; loading happens here, outside the timing.
    Raises ImportError when transformers is not installed."""
    from transformers import PreTrainedTokenizerFast

    ht = PreTrainedTokenizerFast(tokenizer_file=path)

    def decode(seq: list[int]) -> str:
        return ht.decode(seq, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def encode(text: str) -> list[int]:
        return ht.encode(text, add_special_tokens=False)

    return lambda ids: _per_token_loop(view, decode, encode, ids, sentinels)


def _per_token_loop(view: Any, decode: Any, encode: Any, ids: Sequence[int], sentinels: Sentinels) -> dict[int, Any]:
    from auditor.analyses.vocabulary import Category, looks_special

    out: dict[int, Any] = {}
    for tid in ids:
        sents = sentinels.for_id(tid)
        if sents:
            s = None
            for text, sids in sents:
                d = decode([*sids, tid])
                if d.startswith(" "):  # as the analysis: some decoders keep the dummy-prefix space
                    d = d[1:]
                if d.startswith(text):
                    s = d[len(text) :]
                    break
            if s is None:
                s = decode([tid])
            enc = None
            for text, sids in sents:
                e = encode(text + s)
                if tuple(e[: len(sids)]) == sids:
                    enc = e[len(sids) :]
                    break
            if enc is None:
                enc = encode(s)
        else:
            s = decode([tid])
            enc = encode(s)
        if len(enc) == 1 and enc[0] == tid:
            out[tid] = Category.OK_SPECIAL if view.is_special(tid) else Category.OK
        elif looks_special(s):
            out[tid] = Category.UNREACHABLE_SPECIAL
        elif "\ufffd" in s:
            out[tid] = Category.PARTIAL_UTF8
        elif len(enc) == 1:
            out[tid] = Category.UNREACHABLE_SINGLE
        else:
            out[tid] = Category.UNREACHABLE_MULTI
    return out


def side_by_side(
    path: str, *, sample: int | None, analysis_runs: int, seed: int, transformers_sample: int = 0
) -> dict[str, Any]:
    from auditor.analyses import vocabulary as V
    from auditor.loaders import load_tokenizer

    t0 = time.perf_counter()
    view = load_tokenizer(path)
    load_s = time.perf_counter() - t0
    tok = getattr(view.backend, "_tok", None)
    if tok is None:
        raise RuntimeError(f"{path}: the view's backend holds no tokenizers.Tokenizer")

    runs = []
    analysis = None
    for _ in range(analysis_runs):
        with StageTimers() as timers:
            instrument_analysis(timers)
            t0 = time.perf_counter()
            analysis = V.analyze_vocabulary(view)
            total = time.perf_counter() - t0
        stages = {k.removeprefix("analysis."): v["seconds"] for k, v in timers.as_dict().items() if k != "analysis"}
        runs.append(
            {
                "total_s": total,
                "stages_s": stages,
                "causes_calls": timers.calls.get("analysis.causes (explain_unreachable)", 0),
            }
        )
    assert analysis is not None

    ids = view.ids
    sentinels = Sentinels(view)  # outside the timing, as (a)'s choice is a one-off
    if sample is None or sample >= len(ids):
        picked = list(ids)
    else:
        picked = sorted(random.Random(seed).sample(ids, sample))
    t0 = time.perf_counter()
    base = baseline_categories(view, tok, picked, sentinels)
    base_s = time.perf_counter() - t0
    mismatches = [(tid, base[tid], analysis.categories[tid]) for tid in picked if base[tid] != analysis.categories[tid]]
    extrapolated = base_s * len(ids) / len(picked)
    best = min(r["total_s"] for r in runs)
    worst = max(r["total_s"] for r in runs)
    best_without_causes = min(r["total_s"] - r["stages_s"].get("causes (explain_unreachable)", 0.0) for r in runs)
    hf: dict[str, Any] | None = None
    if transformers_sample > 0:
        try:
            loop = transformers_loop(path, view, sentinels)
        except ImportError:
            loop = None
        if loop is not None:
            hf_ids = picked[:: max(1, len(picked) // transformers_sample)][:transformers_sample]
            t0 = time.perf_counter()
            hf_cats = loop(hf_ids)
            hf_s = time.perf_counter() - t0
            import transformers

            hf = {
                "version": transformers.__version__,
                "ids": len(hf_ids),
                "measured_s": hf_s,
                "full_s": hf_s * len(ids) / len(hf_ids),
                "us_per_token": hf_s / len(hf_ids) * 1e6,
                "speedup": hf_s * len(ids) / len(hf_ids) / best,
                "mismatches": sum(1 for t in hf_ids if hf_cats[t] != analysis.categories[t]),
            }
    return {
        "path": path,
        "ids": len(ids),
        "transformers_loop": hf,
        "load_s": load_s,
        "analysis_runs": runs,
        "analysis_best_s": best,
        "analysis_worst_s": worst,
        "baseline_ids": len(picked),
        "baseline_sampled": len(picked) < len(ids),
        "baseline_measured_s": base_s,
        "baseline_full_s": extrapolated,
        "baseline_us_per_token": base_s / len(picked) * 1e6,
        "speedup": extrapolated / best,
        "speedup_worst": extrapolated / worst,
        "analysis_best_without_causes_s": best_without_causes,
        "speedup_without_causes": extrapolated / max(best_without_causes, 1e-9),
        "mismatches": len(mismatches),
        "mismatch_examples": [(t, getattr(a, "value", a), getattr(b, "value", b)) for t, a, b in mismatches[:5]],
        "categories": analysis.category_counts(),
        "sentinel": analysis.sentinel,
    }


# --- 5. breakdown ---------------------------------------------------------------------------


def breakdown(path: str, out_dir: Path) -> dict[str, Any]:
    out_json = out_dir / "stages.json"
    report = out_dir / "report-stages.json"
    cmd = [
        sys.executable,
        str(HERE / "stage_times.py"),
        str(out_json),
        "--",
        "lint",
        path,
        "--format",
        "json",
        "-o",
        str(report),
        "--no-progress",
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    data = json.loads(out_json.read_text())
    data["wall_s"] = wall
    return data


# --- output ------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_report(res: dict[str, Any]) -> None:
    m = res["machine"]
    line = "-" * 78
    print(line)
    print(f"tokaudit lint benchmark   {res['date']}")
    print(line)
    print(f"machine       {m['nproc']} cores, {m['cpu_model']}")
    print(f"software      Python {m['python']}, tokenizers {m['tokenizers']}, {m['platform']}")
    if m["RAYON_NUM_THREADS"] or m["TOKAUDIT_THREADS"]:
        print(f"env           RAYON_NUM_THREADS={m['RAYON_NUM_THREADS']} TOKAUDIT_THREADS={m['TOKAUDIT_THREADS']}")
    t = res["tokenizer"]
    print(
        f"tokenizer     synthetic byte-level BPE: {t['ids']:,} ids = 256 bytes + {t['merges']:,} merges + "
        f"{t['added_tokens']} added; {t['bytes'] / 1e6:.1f} MB; built in {t['build_s']:.2f} s "
        f"(+{t['write_s']:.2f} s json.dumps/write), seed {res['seed']}"
    )
    e = res["e2e"]
    print()
    print("1. End to end (installed console script, subprocess, wall clock)")
    print(f"   command     {e['command']}")
    print("   runs        " + ", ".join(f"{s:.2f} s" for s in e["runs_s"]) + f"   (exit codes {e['exit_codes']})")
    print(
        f"   best        {e['best_s']:.2f} s   vs budget {E2E_BUDGET_S:.1f} s   -> "
        f"{_verdict(e['best_s'] <= E2E_BUDGET_S)}"
    )
    print(f"   startup     {e['startup_s']:.2f} s for `tokaudit --version` (interpreter + imports)")
    print(f"   result      categories {e['categories']}")
    print(f"               findings {e['findings']}")
    for s in res["side_by_side"]:
        print()
        print(f"2. Vocabulary analysis, batch vs per-token loop: {s['label']} ({s['ids']:,} ids)")
        for k, r in enumerate(s["analysis_runs"], 1):
            st = r["stages_s"]
            parts = ", ".join(f"{name} {sec:.2f}" for name, sec in st.items())
            print(f"   (a) batch run {k}: {r['total_s']:.2f} s   [{parts}; causes for {r['causes_calls']} ids]")
        how = (
            f"measured on a fixed random sample of {s['baseline_ids']:,} ids (seed {res['seed']}) in "
            f"{s['baseline_measured_s']:.2f} s, extrapolated linearly x{s['ids'] / s['baseline_ids']:.2f}"
            if s["baseline_sampled"]
            else f"measured on all {s['baseline_ids']:,} ids"
        )
        print(
            f"   (b) per-token loop: {s['baseline_full_s']:.2f} s for the whole vocabulary "
            f"({s['baseline_us_per_token']:.1f} us/token; {how})"
        )
        agree = "all agree" if not s["mismatches"] else f"{s['mismatches']} MISMATCHES e.g. {s['mismatch_examples']}"
        print(f"   categories (a) vs (b) on the {s['baseline_ids']:,} ids of (b): {agree}")
        print(
            f"   speedup     (b)/(a) = {s['speedup']:.1f}x with the best (a), {s['speedup_worst']:.1f}x with the "
            f"slowest (context: the bare library, no transformers layer)"
        )
        print(
            f"               ({s['speedup_without_causes']:.1f}x if (a) is counted without its causes step, which "
            f"(b) does not do: (a) = {s['analysis_best_without_causes_s']:.2f} s then)"
        )
        hf = s.get("transformers_loop")
        if hf:
            agree = "categories agree" if not hf["mismatches"] else f"{hf['mismatches']} category MISMATCHES"
            print(
                f"   (c) the reference implementation's way: the same loop through transformers {hf['version']} "
                f"PreTrainedTokenizerFast, one decode and one encode per token, as magikarp's TokenizerAnalyzer "
                f"does: {hf['us_per_token']:.1f} us/token on {hf['ids']:,} of the ids of (b), "
                f"{hf['full_s']:.2f} s extrapolated, {agree}"
            )
            print(
                f"   speedup     (c)/(a) = {hf['speedup']:.1f}x   vs target {SPEEDUP_TARGET:.0f}x -> "
                f"{_verdict(hf['speedup'] >= SPEEDUP_TARGET)}"
            )
    b = res.get("breakdown")
    if b:
        print()
        print(
            f"3. Where the end-to-end time goes (one more lint in a fresh interpreter, stage timers; "
            f"wall {b['wall_s']:.2f} s, exit {b['exit_code']})"
        )
        st = {k: v["seconds"] for k, v in b["stages"].items()}
        calls = {k: v["calls"] for k, v in b["stages"].items()}
        main_s = st.get("cli main (in-process total)", 0.0)
        rows: list[tuple[str, float]] = []
        rows.append(("interpreter start, imports, exit (wall - cli main)", b["wall_s"] - main_s))
        load = st.get("load", 0.0)
        view = st.get("load.build view", 0.0)
        rows.append(("load: read file", st.get("load.read file", 0.0)))
        rows.append(("load: json.loads", st.get("load.json.loads", 0.0)))
        rows.append(
            (
                "load: tokenizers Tokenizer.from_str (rest of load_tokenizer_json)",
                st.get("load.tokenizer.json total", 0.0)
                - view
                - st.get("load.read file", 0.0)
                - st.get("load.json.loads", 0.0),
            )
        )
        rows.append(
            (
                "load: build view (pieces, bytes, kinds; merges below)",
                view - st.get("load.build view.merge triples", 0.0),
            )
        )
        rows.append(("load: build view, merge triples", st.get("load.build view.merge triples", 0.0)))
        rows.append(("load: other", load - st.get("load.tokenizer.json total", 0.0)))
        an = st.get("analysis", 0.0)
        sub = 0.0
        for key, label in (
            ("analysis.sentinel choice", "analysis: sentinel choice"),
            ("analysis.decode batch", "analysis: decode batch"),
            ("analysis.encode batch", "analysis: encode batch"),
            (
                "analysis.causes (explain_unreachable)",
                f"analysis: causes, explain_unreachable x {calls.get('analysis.causes (explain_unreachable)', 0)}",
            ),
        ):
            rows.append((label, st.get(key, 0.0)))
            sub += st.get(key, 0.0)
        rows.append(("analysis: categorise, single-byte and special sets", an - sub))
        rules_total = 0.0
        for k in sorted(st):
            if k.startswith("rule "):
                rows.append((k, st[k]))
                rules_total += st[k]
        rows.append(("engine: other (counts for the report)", st.get("engine.run_lint", 0.0) - load - an - rules_total))
        rows.append(("report: render JSON", st.get("report.render", 0.0)))
        rows.append(("report: write", st.get("report.write", 0.0)))
        rows.append(
            (
                "cli: other (rule selection, exit)",
                main_s - st.get("engine.run_lint", 0.0) - st.get("report.render", 0.0) - st.get("report.write", 0.0),
            )
        )
        for label, sec in rows:
            share = 100 * sec / b["wall_s"] if b["wall_s"] else 0
            print(f"   {label:<66} {sec:7.3f} s {share:5.1f}%")
    print(line)
    e_ok = e["best_s"] <= E2E_BUDGET_S
    s0 = res["side_by_side"][0]
    hf0 = s0.get("transformers_loop")
    ratio, against = (hf0["speedup"], "reference's way (c)") if hf0 else (s0["speedup"], "bare loop (b)")
    print(
        f"SUMMARY  end to end {e['best_s']:.2f} s (budget {E2E_BUDGET_S:.0f} s): {_verdict(e_ok)}   "
        f"analysis vs the {against} {ratio:.1f}x (target {SPEEDUP_TARGET:.0f}x): "
        f"{_verdict(ratio >= SPEEDUP_TARGET)}   vs the bare loop (b) {s0['speedup']:.1f}x"
    )
    print(line)


def real_tokenizers() -> list[tuple[str, str]]:
    roots = []
    env = os.environ.get("TOKAUDIT_SHARED_TOKENIZERS")
    if env:
        roots.append(Path(env))
    roots.append(Path("/work/shared/real_tokenizers"))
    roots.append(HERE.parent / "shared" / "real_tokenizers")
    for root in roots:
        p = root / "gpt-neox-20b" / "tokenizer.json"
        if p.is_file():
            return [("GPT-NeoX-20B tokenizer.json", str(p))]
    return []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=256_000, help="ids of the synthetic tokenizer (default 256000)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--e2e-runs", type=int, default=3)
    ap.add_argument("--analysis-runs", type=int, default=2, help="runs of the batch analysis (a)")
    ap.add_argument("--sample", type=int, default=50_000, help="ids timed in the per-token loop (b)")
    ap.add_argument("--full-baseline", action="store_true", help="run (b) on every id, no extrapolation")
    ap.add_argument(
        "--transformers-sample",
        type=int,
        default=20_000,
        help="ids for the reference-way loop (c) through transformers (0: skip; then (b) decides)",
    )
    ap.add_argument("--no-real", action="store_true", help="skip the real tokenizers")
    ap.add_argument("--no-breakdown", action="store_true", help="skip the stage breakdown run")
    ap.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temporary folder)")
    ap.add_argument("--json", type=Path, help="also write all figures to this JSON file")
    args = ap.parse_args(argv)

    tmp = None
    if args.keep:
        folder = args.keep
        folder.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="tokaudit-bench-")
        folder = Path(tmp.name)
    try:
        res: dict[str, Any] = {
            "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "seed": args.seed,
            "machine": machine_info(),
        }
        print(f"building a {args.size:,}-id tokenizer.json in {folder} ...", file=sys.stderr, flush=True)
        res["tokenizer"] = build_tokenizer_json(folder, args.size, args.seed)
        path = res["tokenizer"]["path"]
        print(f"end to end, {args.e2e_runs} runs ...", file=sys.stderr, flush=True)
        res["e2e"] = run_e2e(path, folder, args.e2e_runs)
        if not args.no_breakdown:
            print("stage breakdown run ...", file=sys.stderr, flush=True)
            res["breakdown"] = breakdown(path, folder)
        sample = None if args.full_baseline else args.sample
        print("batch analysis vs per-token loop ...", file=sys.stderr, flush=True)
        sbs = [
            dict(
                side_by_side(
                    path,
                    sample=sample,
                    analysis_runs=args.analysis_runs,
                    seed=args.seed,
                    transformers_sample=args.transformers_sample,
                ),
                label=f"synthetic {args.size // 1000}k",
            )
        ]
        if not args.no_real:
            for label, p in real_tokenizers():
                print(f"{label} ...", file=sys.stderr, flush=True)
                sbs.append(
                    dict(
                        side_by_side(
                            p,
                            sample=sample,
                            analysis_runs=args.analysis_runs,
                            seed=args.seed,
                            transformers_sample=args.transformers_sample,
                        ),
                        label=label,
                    )
                )
        res["side_by_side"] = sbs
        print_report(res)
        if args.json:
            args.json.write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
