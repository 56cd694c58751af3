"""The pre-commit hook, as users get it: `pre-commit try-repo` of this checkout in a fresh
git repository (pre-commit builds the hook's venv from PyPI with a plain `pip install .`).

Slow (the venv is built once per run of this module, about 20-60 s). It cannot pass
silently: every run must show the hook's own line with Passed/Failed and tokaudit's
report, never "(no files to check)".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.fixtures import byte_level_bpe

REPO = Path(__file__).resolve().parent.parent
HOOKS = REPO / ".pre-commit-hooks.yaml"


def _pre_commit() -> list[str]:
    exe = Path(sys.executable).with_name("pre-commit")
    if exe.exists():
        return [str(exe)]
    if shutil.which("pre-commit"):
        return ["pre-commit"]
    pytest.skip("pre-commit is not installed (test extra)")


def test_hook_definitions():
    yaml = pytest.importorskip("yaml")  # comes with pre-commit
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}
    lint = hooks["tokaudit-lint"]
    assert lint["entry"].startswith("tokaudit lint") and lint["language"] == "python"
    assert lint["require_serial"] is True and "stages" not in lint
    import re

    files = re.compile(lint["files"])
    for name in (
        "tokenizer.json",
        "a/b/tokenizer.model",
        "x/cl100k.tiktoken",
        "m.gguf",
        "t/vocab.json",
        "t/merges.txt",
    ):
        assert files.search(name), name
    for name in ("config.json", "README.md", "tokenizer.json.bak", "model.safetensors"):
        assert not files.search(name), name
    audit = hooks["tokaudit-audit"]
    assert audit["stages"] == ["manual"] and audit["entry"].startswith("tokaudit audit")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def hook_env(tmp_path_factory):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    home = tmp_path_factory.mktemp("pre_commit_home")
    env = dict(os.environ, PRE_COMMIT_HOME=str(home), PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("TOKAUDIT_CACHE_DIR", None)  # the hook uses its default, inside the repository
    env.pop("PYTHONPATH", None)  # the hook must run the package pre-commit installed, not this checkout
    return env


def _repo(tmp_path: Path, spec: dict, extra: dict[str, str] | None = None) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    (repo / "tok").mkdir()
    (repo / "tok" / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    for name, text in (extra or {}).items():
        (repo / name).write_text(text, encoding="utf-8")
    _git(repo, "add", "-A")
    return repo


def _try_repo(repo: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*_pre_commit(), "try-repo", str(REPO), "tokaudit-lint", "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


BROKEN = byte_level_bpe([" hello", "  "], orphans=["zz"], added=[{"content": "  ", "special": False}])
CLEAN = byte_level_bpe([" hello", " world"])


@pytest.mark.slow
def test_try_repo_defective_fails_clean_and_baselined_pass(tmp_path, hook_env):
    broken = _repo(tmp_path / "a", BROKEN)
    res = _try_repo(broken, hook_env)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "tokaudit lint" in out and "Failed" in out and "no files to check" not in out
    assert "V101 unreachable-token [error]" in out and "tok/tokenizer.json" in out

    clean = _repo(tmp_path / "b", CLEAN)
    res = _try_repo(clean, hook_env)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "tokaudit lint" in out and "Passed" in out and "no files to check" not in out

    # adopted with a baseline: the same defects, recorded, pass; the config names the file
    repo = _repo(tmp_path / "c", BROKEN, {"tokaudit.toml": "baseline = 'baseline.json'\n"})
    made = subprocess.run(
        [sys.executable, "-m", "auditor", "lint", "tok/tokenizer.json", "--write-baseline", "baseline.json"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert made.returncode == 0 and "V101" in (repo / "baseline.json").read_text(encoding="utf-8"), made.stderr
    _git(repo, "add", "-A")
    res = _try_repo(repo, hook_env)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "Passed" in out
    # the hook ran tokaudit, which wrote its cache in the repository, ignored by git
    assert (repo / ".tokaudit_cache" / "CACHEDIR.TAG").is_file()
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    assert ".tokaudit_cache" not in status
