"""Shared test setup: offline hub, locations of real material, small tokenizer files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
# Real files are read where they are, never copied: ../shared/real_tokenizers (read-only)
# and the folder fetch.sh filled (TOKAUDIT_REAL_MATERIAL, default <repo>/.real_material).
SHARED_TOKENIZERS = Path(os.environ.get("TOKAUDIT_SHARED_TOKENIZERS", REPO.parent / "shared" / "real_tokenizers"))
REAL_MATERIAL = Path(os.environ.get("TOKAUDIT_REAL_MATERIAL", REPO / ".real_material"))

REAL_FILES = {
    "gpt2": REAL_MATERIAL / "tiktoken" / "r50k_base.tiktoken",
    "mistral": REAL_MATERIAL / "sentencepiece" / "mistral_7b_v0.1.model",
    "llama2": SHARED_TOKENIZERS / "llama2-sentencepiece" / "tokenizer.model",
    "neox": SHARED_TOKENIZERS / "gpt-neox-20b" / "tokenizer.json",
    "smollm2": REAL_MATERIAL / "models" / "smollm2-135m-instruct" / "SmolLM2-135M-Instruct.Q4_1.gguf",
    "minilm": REAL_MATERIAL / "models" / "all-MiniLM-L6-v2",
    "botchan_unigram": REAL_MATERIAL / "sentencepiece" / "sptest_botchan_en_unigram_1000.model",
}


def real_file(name: str) -> Path:
    """Path of a real tokenizer/model, or skip the test when it is absent."""
    path = REAL_FILES[name]
    if not path.exists():
        pytest.skip(f"real material {name!r} not present at {path}")
    return path


def real_path(relative: str) -> Path:
    """A file of the real-material folder by its path there ("gguf_vocab/ggml-vocab-phi-3.gguf"), or skip."""
    path = REAL_MATERIAL / relative
    if not path.exists():
        pytest.skip(f"real material {relative!r} not present at {path}")
    return path


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path_factory, monkeypatch):
    """Each test gets its own analysis cache folder: runs never write .tokaudit_cache
    into the working directory, and no test sees another test's entries."""
    monkeypatch.setenv("TOKAUDIT_CACHE_DIR", str(tmp_path_factory.mktemp("tokaudit_cache")))
    from auditor.config import clear_memo

    clear_memo()


@pytest.fixture
def write_tokenizer(tmp_path):
    """Write a tokenizer.json spec (dict) or file bytes to tmp_path and return the path."""

    def _write(spec, name: str | None = None) -> Path:
        if isinstance(spec, (bytes, bytearray)):
            path = tmp_path / (name or "tokenizer.model")
            path.write_bytes(bytes(spec))
        else:
            path = tmp_path / (name or "tokenizer.json")
            path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        return path

    return _write
