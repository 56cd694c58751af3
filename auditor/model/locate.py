"""Which tokenizer a model audit reads: the one given, or the one inside the model."""

from __future__ import annotations

from pathlib import Path

from auditor.core import UserError


def tokenizer_path(model: str, tokenizer: str | None) -> str:
    """The tokenizer to audit with: --tokenizer, else the GGUF file or the model folder itself."""
    if tokenizer is not None:
        return tokenizer
    p = Path(model)
    if not p.exists():
        raise UserError(f"{model}: no such file or directory")
    if p.is_dir():
        names = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "tokenizer_config.json")
        if not any((p / n).exists() for n in names) and not list(p.glob("*.gguf")) and not list(p.glob("*.tiktoken")):
            raise UserError(f"{model}: the model folder holds no tokenizer; give one with --tokenizer")
        return model
    if p.suffix == ".gguf" or _is_gguf(p):
        return model
    raise UserError(f"{model}: a single weights file carries no tokenizer; give one with --tokenizer")


def _is_gguf(p: Path) -> bool:
    try:
        with p.open("rb") as fh:
            return fh.read(4) == b"GGUF"
    except OSError:
        return False
