"""Every bad input is one clear line on stderr naming the file and the problem, exit code 2,
no traceback (unless --debug), and nothing written half."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.fixtures import byte_level_bpe, char_bpe, sentencepiece_bpe
from auditor.loaders.protobuf import SentencePieceModel, write_sentencepiece_model

GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def _runner() -> CliRunner:
    """stderr apart from stdout: click < 8.2 needs mix_stderr=False, later versions keep both apart."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


# --- builders: each writes one bad input under tmp_path and returns the path to lint ---------


def _write(tmp: Path, name: str, data: bytes | str) -> Path:
    path = tmp / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _json(tmp: Path, name: str, spec: object) -> Path:
    return _write(tmp, name, json.dumps(spec, ensure_ascii=False))


def _rank_lines(tokens: list[bytes], start: int = 0) -> list[str]:
    return [f"{base64.b64encode(t).decode()} {start + k}" for k, t in enumerate(tokens)]


def _ranks(extra: list[str] = ()) -> str:
    """A good rank file (256 single bytes, one merge) followed by `extra` lines."""
    lines = _rank_lines([bytes([b]) for b in range(256)]) + _rank_lines([b" t"], 256) + list(extra)
    return "\n".join(lines) + "\n"


def _spec_with(change: Callable[[dict], None]) -> dict:
    spec = byte_level_bpe(["hello", " world"])
    change(spec)
    return spec


def _unknown_merge(spec: dict) -> None:
    spec["model"]["merges"].append(["nosuch", "token"])


def _merges_wrong_type(spec: dict) -> None:
    spec["model"]["merges"] = {"h": "e"}


def _vocab_wrong_type(spec: dict) -> None:
    spec["model"]["vocab"] = [["h", 0]]


def _negative_id(spec: dict) -> None:
    spec["model"]["vocab"]["zz"] = -1


def _unknown_model_type(spec: dict) -> None:
    spec["model"]["type"] = "Quantum"


def _sparse_ids(spec: dict) -> None:
    spec["model"]["vocab"]["far"] = 3_000_000_000


def _folder(tmp: Path, name: str, files: dict[str, bytes | str]) -> Path:
    folder = tmp / name
    folder.mkdir()
    for fname, data in files.items():
        _write(folder, fname, data)
    return folder


def _missing_unk() -> dict:
    spec = char_bpe("abc", ["ab"])
    spec["added_tokens"] = []
    spec["model"]["unk_token"] = "<missing>"
    return spec


def _random_bytes(first: bytes, n: int = 512) -> bytes:
    return first + random.Random(1234).randbytes(n)


SP_GOOD = sentencepiece_bpe(["hello", "world"])

# (id, builder(tmp_path) -> path, extra CLI args, substring the message must have)
CASES = [
    ("missing-path", lambda t: t / "no_such_tokenizer.json", [], "no such file"),
    ("empty-dir", lambda t: _folder(t, "empty_dir", {}), [], "no tokenizer found"),
    ("dir-only-readme", lambda t: _folder(t, "readme_dir", {"README.md": "# hi"}), [], "no tokenizer found"),
    ("unknown-format-text", lambda t: _write(t, "notes.txt", "just some words\n"), [], "unknown format"),
    ("random-bytes", lambda t: _write(t, "random.bin", _random_bytes(b"\xff\x00")), [], "unknown format"),
    (
        "random-bytes-0a",
        lambda t: _write(t, "random.model", _random_bytes(b"\x0a\xff\xff\xff\xff\x0f")),
        [],
        "not a SentencePiece model",
    ),
    ("empty-file", lambda t: _write(t, "empty.json", b""), [], "empty file"),
    ("blank-file", lambda t: _write(t, "blank.json", "  \n\n"), [], "unknown format"),
    (
        "json-truncated",
        lambda t: _write(t, "tokenizer.json", json.dumps(byte_level_bpe(["hi"]))[:300]),
        [],
        "not valid JSON",
    ),
    ("json-corrupt", lambda t: _write(t, "tokenizer.json", '{"model": {"type": "BPE",, }}'), [], "not valid JSON"),
    ("json-list", lambda t: _write(t, "list.json", "[1, 2]"), [], "unknown format"),
    ("json-object", lambda t: _write(t, "obj.json", '{"a": 1}'), [], "not an HF tokenizer.json"),
    ("json-model-not-object", lambda t: _json(t, "m.json", {"model": [1, 2]}), [], "not an HF tokenizer.json"),
    ("json-too-deep", lambda t: _write(t, "deep.json", '{"a":' + "[" * 100_000), [], "nested too deeply"),
    ("json-not-utf8", lambda t: _write(t, "latin1.json", '{"model": "café"}'.encode("latin-1")), [], "not UTF-8"),
    (
        "json-unknown-merge",
        lambda t: _json(t, "tokenizer.json", _spec_with(_unknown_merge)),
        [],
        "tokenizers cannot load",
    ),
    (
        "json-merges-wrong-type",
        lambda t: _json(t, "tokenizer.json", _spec_with(_merges_wrong_type)),
        [],
        "tokenizers cannot load",
    ),
    (
        "json-vocab-wrong-type",
        lambda t: _json(t, "tokenizer.json", _spec_with(_vocab_wrong_type)),
        [],
        "tokenizers cannot load",
    ),
    ("json-negative-id", lambda t: _json(t, "tokenizer.json", _spec_with(_negative_id)), [], "tokenizers cannot load"),
    (
        "json-unknown-model-type",
        lambda t: _json(t, "tokenizer.json", _spec_with(_unknown_model_type)),
        [],
        "tokenizers cannot load",
    ),
    ("json-sparse-ids", lambda t: _json(t, "tokenizer.json", _spec_with(_sparse_ids)), [], "far beyond"),
    ("json-unk-not-in-vocab", lambda t: _json(t, "tokenizer.json", _missing_unk()), [], "cannot encode"),
    (
        "sp-cut-in-half",
        lambda t: _write(t, "tokenizer.model", SP_GOOD[: len(SP_GOOD) // 2]),
        [],
        "not a SentencePiece model",
    ),
    ("sp-cut-after-first-byte", lambda t: _write(t, "tokenizer.model", SP_GOOD[:1]), [], "not a SentencePiece model"),
    (
        "sp-no-unk",
        lambda t: _write(
            t,
            "nounk.model",
            write_sentencepiece_model(SentencePieceModel(pieces=[("a", 0.0, 1), ("b", 0.0, 1)], model_type="bpe")),
        ),
        [],
        "unk is not defined",
    ),
    (
        "sp-bad-byte-piece",
        lambda t: _write(
            t,
            "byte.model",
            write_sentencepiece_model(
                SentencePieceModel(pieces=[("<unk>", 0.0, 2), ("hello", 0.0, 6)], model_type="bpe")
            ),
        ),
        [],
        "hello",
    ),
    (
        "tiktoken-bad-line",
        lambda t: _write(t, "bad.tiktoken", _ranks(["this is not a rank line"])),
        ["--pattern", GPT2_PATTERN],
        "line 258",
    ),
    (
        "tiktoken-bad-base64",
        lambda t: _write(t, "bad.tiktoken", _ranks(["@@@@ 257"])),
        ["--pattern", GPT2_PATTERN],
        "not base64",
    ),
    (
        "tiktoken-bad-rank",
        lambda t: _write(t, "bad.tiktoken", _ranks(["aGk= -3"])),
        ["--pattern", GPT2_PATTERN],
        "line 258",
    ),
    (
        "tiktoken-duplicate-rank",
        lambda t: _write(t, "dup.tiktoken", _ranks(["aGk= 256"])),
        ["--pattern", GPT2_PATTERN],
        "rank 256 already given on line 257",
    ),
    (
        "tiktoken-duplicate-bytes",
        lambda t: _write(t, "dup.tiktoken", _ranks(["IHQ= 257"])),
        ["--pattern", GPT2_PATTERN],
        "appear twice",
    ),
    (
        "tiktoken-huge-rank",
        lambda t: _write(t, "huge.tiktoken", _ranks(["aGk= 2000000000"])),
        ["--pattern", GPT2_PATTERN],
        "far beyond",
    ),
    (
        "tiktoken-missing-bytes",
        lambda t: _write(t, "few.tiktoken", "aGVsbG8= 0\naGk= 1\n"),
        ["--pattern", GPT2_PATTERN],
        "have no rank",
    ),
    ("tiktoken-no-preset", lambda t: _write(t, "small.tiktoken", _ranks()), [], "--preset"),
    (
        "dir-two-tiktoken",
        lambda t: _folder(t, "two_ranks", {"a.tiktoken": _ranks(), "b.tiktoken": _ranks()}),
        ["--pattern", GPT2_PATTERN],
        "name the one to lint",
    ),
    (
        "dir-two-gguf",
        lambda t: _folder(t, "two_gguf", {"a.gguf": b"GGUF", "b.gguf": b"GGUF"}),
        [],
        "name the one to lint",
    ),
    ("dir-broken-tokenizer-json", lambda t: _folder(t, "broken_dir", {"tokenizer.json": "{"}), [], "not valid JSON"),
    (
        "dir-config-only",
        lambda t: _folder(
            t, "config_only", {"tokenizer_config.json": json.dumps({"tokenizer_class": "GPT2Tokenizer"})}
        ),
        [],
        "without vocabulary",
    ),
    (
        "dir-config-not-json",
        lambda t: _folder(t, "bad_config", {"tokenizer_config.json": "not json"}),
        [],
        "transformers cannot load",
    ),
]

# Option problems: one line and exit 2 too, but about the option rather than the file.
OPTION_CASES = [
    ("unknown-preset", lambda t: _write(t, "small.tiktoken", _ranks()), ["--preset", "nope"], "nope"),
    (
        "bad-special",
        lambda t: _write(t, "small.tiktoken", _ranks()),
        ["--pattern", "x", "--special", "<|x|>"],
        "TOKEN=ID",
    ),
    ("bad-pattern", lambda t: _write(t, "small.tiktoken", _ranks()), ["--pattern", "("], "--pattern"),
    (
        "special-is-a-rank",
        lambda t: _write(t, "small.tiktoken", _ranks()),
        ["--pattern", GPT2_PATTERN, "--special", "<|x|>=256"],
        "already a rank",
    ),
]


def _lint(args: list[str]):
    result = _runner().invoke(app, ["lint", *args])
    return result


def _assert_one_line_error(result, expected: str, name: str | None) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.stdout == ""
    err = result.stderr
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("tokaudit: error: "), line
    assert "Traceback" not in err
    assert expected in line, line
    if name is not None:
        assert name in line, line
    return line


@pytest.mark.parametrize(("builder", "args", "expected"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_bad_input_is_one_line(tmp_path, builder, args, expected):
    path = builder(tmp_path)
    result = _lint([str(path), *args])
    _assert_one_line_error(result, expected, path.name)


@pytest.mark.parametrize(("builder", "args", "expected"), [pytest.param(*c[1:], id=c[0]) for c in OPTION_CASES])
def test_bad_option_is_one_line(tmp_path, builder, args, expected):
    path = builder(tmp_path)
    _assert_one_line_error(_lint([str(path), *args]), expected, None)


def _gguf_available() -> None:
    if importlib.util.find_spec("auditor.loaders.gguf_file") is None:
        pytest.skip("the GGUF loader (auditor.loaders.gguf_file) is not there yet")
    pytest.importorskip("gguf")


@pytest.mark.parametrize(
    "data",
    [b"GGUF", b"GGUF\x03\x00\x00\x00\x01\x02", b"GGUF" + random.Random(7).randbytes(6), b"GGUF" + b"\xff" * 60],
    ids=["magic-only", "cut-after-10", "magic-garbage-10", "magic-garbage-64"],
)
def test_bad_gguf_is_one_line(tmp_path, data):
    _gguf_available()
    path = _write(tmp_path, "model.gguf", data)
    result = _lint([str(path)])
    assert result.exit_code == 2, (result.output, result.exception)
    line = _assert_one_line_error(result, "", path.name)
    assert "internal error" not in line


def test_unreadable_file(tmp_path):
    path = _write(tmp_path, "secret.json", json.dumps(byte_level_bpe(["hi"])))
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user (root) who can read a chmod 000 file")
        _assert_one_line_error(_lint([str(path)]), "cannot read", path.name)
    finally:
        path.chmod(0o644)


@pytest.mark.parametrize("when", ["head", "body"])
def test_unreadable_file_simulated(tmp_path, monkeypatch, when):
    """The same as above where root reads everything: the OS refuses the read (at once or later)."""
    path = _write(tmp_path, "locked.model", SP_GOOD)
    real_open, real_read_bytes = Path.open, Path.read_bytes

    def refuse(self, *args, **kwargs):
        if self.name == path.name:
            raise PermissionError(13, "Permission denied", str(self))
        return (real_open if when == "head" else real_read_bytes)(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open" if when == "head" else "read_bytes", refuse)
    _assert_one_line_error(_lint([str(path)]), "cannot read (Permission denied)", path.name)


def test_second_path_bad_first_good(tmp_path):
    """A bad artifact anywhere in the list: one line, exit 2, no report of the good one."""
    good = _json(tmp_path, "tokenizer.json", byte_level_bpe(["hello"]))
    bad = _write(tmp_path, "broken.json", "{")
    _assert_one_line_error(_lint([str(good), str(bad)]), "not valid JSON", bad.name)


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("case", ["missing-path", "json-truncated", "sp-cut-in-half", "tiktoken-bad-line", "empty-dir"])
def test_no_half_written_report(tmp_path, case, fmt):
    _id, builder, args, expected = next(c for c in CASES if c[0] == case)
    path = builder(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    report = out_dir / "report.json"
    result = _lint([str(path), *args, "--format", fmt, "-o", str(report)])
    _assert_one_line_error(result, expected, path.name)
    assert not report.exists()
    assert list(out_dir.iterdir()) == []  # no temporary file left either


def test_report_written_when_input_is_good(tmp_path):
    """The counterpart of the test above: -o does write for a good input."""
    path = _json(tmp_path, "tokenizer.json", byte_level_bpe(["hello"]))
    report = tmp_path / "report.json"
    result = _lint([str(path), "--format", "json", "-o", str(report)])
    assert result.exit_code in (0, 1), (result.output, result.exception)
    assert json.loads(report.read_text(encoding="utf-8"))


def _console_script() -> str:
    beside = Path(sys.executable).with_name("tokaudit")
    found = str(beside) if beside.exists() else shutil.which("tokaudit")
    if not found:
        pytest.skip("the tokaudit console script is not installed")
    return found


@pytest.mark.parametrize("case", ["missing-path", "json-truncated", "tiktoken-duplicate-rank"])
def test_console_script_one_line(tmp_path, case):
    _id, builder, args, expected = next(c for c in CASES if c[0] == case)
    path = builder(tmp_path)
    proc = subprocess.run(
        [_console_script(), "lint", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("tokaudit: error: ") and path.name in lines[0] and expected in lines[0]


@pytest.fixture
def loader_bug(monkeypatch):
    """An internal error inside the tokenizer.json loader."""
    import auditor.loaders.hf_json as hf_json

    def boom(path, text=None):
        raise RuntimeError("boom in the loader")

    monkeypatch.setattr(hf_json, "load_tokenizer_json", boom)


def test_internal_error_without_debug(tmp_path, loader_bug):
    path = _json(tmp_path, "tokenizer.json", byte_level_bpe(["hello"]))
    result = _lint([str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tokaudit: internal error: RuntimeError: boom in the loader")
    assert "--debug" in lines[0]


@pytest.mark.parametrize("where", ["lint", "root"])
def test_internal_error_with_debug_shows_traceback(tmp_path, loader_bug, where):
    path = _json(tmp_path, "tokenizer.json", byte_level_bpe(["hello"]))
    args = ["lint", "--debug", str(path)] if where == "lint" else ["--debug", "lint", str(path)]
    result = _runner().invoke(app, args)
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: boom in the loader" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("tokaudit: internal error: RuntimeError")


def test_user_error_with_debug_stays_one_line(tmp_path):
    path = _write(tmp_path, "broken.json", "{")
    result = _runner().invoke(app, ["lint", "--debug", str(path)])
    _assert_one_line_error(result, "not valid JSON", path.name)
