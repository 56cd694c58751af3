"""Cache benchmark: a second `tokaudit lint` of an unchanged 256k-vocabulary tokenizer,
and a pre-commit run on a repository whose tokenizer did not change.

Requirements: (1) the second lint (cache hit) takes at most 20 % of the first
(cold cache), both measured in this run on the same file; (2) `pre-commit run` of the
tokaudit hook on an unchanged tokenizer costs well under a second.

    python benchmarks/bench_cache.py            # about 1 min; --help for options

Every figure is the minimum of --runs repetitions (the machine is shared). The cold
runs start each from an empty cache folder; `--no-cache` is timed too, to show what
writing the cache costs the first run. The pre-commit repository uses the published
hook from this checkout's `.pre-commit-hooks.yaml` at HEAD, in the virtualenv that
pre-commit builds with a plain `pip install .` (core dependencies, from PyPI; built
once, before the timing); `--local-hook` runs the same command with this interpreter
instead. `--all-files` makes the hook run although nothing changed (a plain
`pre-commit run` would skip it: no staged tokenizer).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, proc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=256_000)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-pre-commit", action="store_true", help="skip the pre-commit part")
    ap.add_argument(
        "--local-hook", action="store_true", help="run the hook as a local system hook (no virtualenv built from PyPI)"
    )
    args = ap.parse_args(argv)

    from synth_vocab import build_spec

    work = Path(tempfile.mkdtemp(prefix="tokaudit_bench_cache_"))
    try:
        tok = work / "repo" / "tok" / "tokenizer.json"
        tok.parent.mkdir(parents=True)
        tok.write_text(json.dumps(build_spec(args.size, args.seed), ensure_ascii=False), encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
        env.pop("TOKAUDIT_CACHE_DIR", None)
        cache = work / "cache"
        base = [
            sys.executable,
            "-m",
            "auditor",
            "lint",
            str(tok),
            "--format",
            "json",
            "-o",
            str(work / "r.json"),
            "--no-progress",
            "--cache-dir",
            str(cache),
        ]
        cold, warm, nocache = [], [], []
        reports = []
        for _ in range(args.runs):
            shutil.rmtree(cache, ignore_errors=True)
            t, p = _timed(base, work, env)
            assert p.returncode in (0, 1), p.stderr
            cold.append(t)
            reports.append((work / "r.json").read_bytes())
            t, p = _timed(base, work, env)
            assert p.returncode in (0, 1), p.stderr
            warm.append(t)
            reports.append((work / "r.json").read_bytes())
            t, p = _timed([*base, "--no-cache"], work, env)
            nocache.append(t)
        same = len(set(reports)) == 1
        t_version, _ = _timed([sys.executable, "-m", "auditor", "--version"], work, env)
        print(f"tokenizer: {tok.stat().st_size / 1e6:.1f} MB tokenizer.json, {args.size} ids; runs: {args.runs} (min)")
        print(f"  cold lint (empty cache):     {min(cold):6.2f} s   runs {', '.join(f'{t:.2f}' for t in cold)}")
        print(f"  lint --no-cache:             {min(nocache):6.2f} s")
        print(f"  second lint (cache hit):     {min(warm):6.2f} s   runs {', '.join(f'{t:.2f}' for t in warm)}")
        print(f"  interpreter + CLI startup:   {t_version:6.2f} s   (tokaudit --version)")
        ratio = min(warm) / min(cold)
        print(
            f"  ratio hit / cold: {ratio:.1%}  (requirement <= 20%: {'PASS' if ratio <= 0.20 else 'FAIL'}); "
            f"reports identical: {same}"
        )

        if args.no_pre_commit:
            return 0
        pre_commit = Path(sys.executable).with_name("pre-commit")
        if not pre_commit.exists():
            print("pre-commit not installed: part 2 skipped")
            return 0
        repo = tok.parent.parent
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
        if args.local_hook or head.returncode != 0:
            # the same command, run by this interpreter: no virtualenv to build
            hooks = [
                {
                    "id": "tokaudit-lint",
                    "name": "tokaudit lint",
                    "language": "system",
                    "entry": f"{sys.executable} -m auditor lint --no-progress",
                    "files": r"(^|/)(tokenizer\.json|tokenizer\.model|[^/]*\.tiktoken|[^/]*\.gguf)$",
                    "require_serial": True,
                }
            ]
            config = {"repos": [{"repo": "local", "hooks": hooks}]}
            print("hook: repo: local, language: system (this interpreter)")
        else:
            # the published hook at this checkout's HEAD, in the virtualenv pre-commit builds
            # with a plain `pip install .` (core dependencies only, from PyPI), as users get it
            config = {"repos": [{"repo": str(REPO), "rev": head.stdout.strip(), "hooks": [{"id": "tokaudit-lint"}]}]}
            print(
                f"hook: .pre-commit-hooks.yaml of {REPO} at HEAD {head.stdout.strip()[:10]} "
                "(uncommitted changes are not in it)"
            )
        (repo / ".pre-commit-config.yaml").write_text(json.dumps(config), encoding="utf-8")
        commit = [
            "git",
            "-c",
            "user.email=bench@example.com",
            "-c",
            "user.name=bench",
            "commit",
            "-q",
            "-m",
            "t",
            "--no-verify",
        ]
        for cmd in (["git", "init", "-q"], ["git", "add", "-A"], commit):
            subprocess.run(cmd, cwd=repo, check=True, capture_output=True)
        pc_env = dict(env, PRE_COMMIT_HOME=str(work / "pc_home"))
        pc_env.pop("PYTHONPATH", None)  # the hook runs the package pre-commit installed
        t0 = time.perf_counter()
        subprocess.run([str(pre_commit), "install-hooks"], cwd=repo, env=pc_env, check=True, capture_output=True)
        print(f"  hook environment built in {time.perf_counter() - t0:.1f} s (not part of the figures)")
        run = [str(pre_commit), "run", "--all-files", "--color", "never"]
        t_first, p = _timed(run, repo, pc_env)  # fills .tokaudit_cache in the repository
        assert "tokaudit lint" in p.stdout, p.stdout + p.stderr
        again = []
        for _ in range(args.runs):
            t, p = _timed(run, repo, pc_env)
            assert "tokaudit lint" in p.stdout and "Failed" in p.stdout, p.stdout + p.stderr
            again.append(t)
        skipped = []
        for _ in range(args.runs):  # pre-commit alone: nothing staged, the hook is skipped
            t, p = _timed([str(pre_commit), "run", "--color", "never"], repo, pc_env)
            assert "no files to check" in p.stdout, p.stdout + p.stderr
            skipped.append(t)
        hook_share = min(again) - min(skipped)
        print("pre-commit run --all-files, the hook linting the unchanged tokenizer:")
        print(f"  first run (cold cache):      {t_first:6.2f} s")
        print(f"  unchanged tokenizer:         {min(again):6.2f} s   runs {', '.join(f'{t:.2f}' for t in again)}")
        print(
            f"  pre-commit alone (hook skipped, nothing staged): {min(skipped):.2f} s   "
            f"runs {', '.join(f'{t:.2f}' for t in skipped)}"
        )
        print(f"  the hook's share (difference): {hook_share:.2f} s")
        print(f"  requirement, the run with the hook under 1 s: {'PASS' if min(again) < 1.0 else 'FAIL'}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
