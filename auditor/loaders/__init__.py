"""Turn any tokenizer artifact on disk into a `TokenizerView`; the format is read from the content."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from auditor.core import InputError, TokenizerView, UserError

__all__ = ["LoadOptions", "detect_format", "load_tokenizer"]

_HEAD = 4096


@dataclass(frozen=True)
class LoadOptions:
    """What a rank file cannot say about itself (tiktoken presets), from the CLI.

    `normalize` ("none", "nfc", "nfkc", "nfd", "nfkd") is the Unicode normalisation applied
    before encoding; it overrides the preset's (the `qwen` preset's is NFC).
    """

    preset: str | None = None
    pattern: str | None = None
    specials: dict[str, int] = field(default_factory=dict)
    normalize: str | None = None


def detect_format(path: Path, head: bytes) -> str:
    """'gguf', 'tekken', 'tokenizer.json', 'tiktoken' or 'sentencepiece', from the first bytes."""
    if not head:
        raise InputError(path, "empty file")
    if head.startswith(b"GGUF"):
        return "gguf"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        from auditor.loaders.tekken import looks_like_tekken

        return "tekken" if looks_like_tekken(stripped) else "tokenizer.json"
    from auditor.loaders.tiktoken_file import looks_like_tiktoken

    if looks_like_tiktoken(stripped):
        return "tiktoken"
    # SentencePiece ModelProto: field 1 (pieces), length-delimited: first byte 0x0a. A
    # text file can start with "\n" too, but then it is all printable text.
    if head[:1] == b"\x0a" and not _looks_like_text(head):
        return "sentencepiece"
    raise InputError(
        path, "unknown format: not a tokenizer.json, tekken JSON, SentencePiece model, tiktoken rank file or GGUF file"
    )


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(text.strip()) and all(ch.isprintable() or ch in "\n\r\t" for ch in text)


def load_tokenizer(path: str | os.PathLike[str], options: LoadOptions | None = None) -> TokenizerView:
    """Load a file or an HF-style folder. User-caused problems raise `UserError`."""
    options = options or LoadOptions()
    p = Path(path)
    if not p.exists():
        raise UserError(f"{path}: no such file or directory")
    if p.is_dir():
        view = _with_neighbours(_load_folder(p, options), p)
        if not view.source_files:
            from auditor.cache import artifact_files

            view.source_files = tuple(str(f) for f in artifact_files(p))
        return view
    try:
        with p.open("rb") as fh:
            head = fh.read(_HEAD)
    except OSError as exc:
        raise InputError(p, f"cannot read ({exc.strerror})") from None
    fmt = detect_format(p, head)
    try:
        view = _load_file(p, fmt, options)
    except OSError as exc:  # the file went away or became unreadable after its first bytes
        raise InputError(p, f"cannot read ({exc.strerror or exc})") from None
    view.source_files = (str(p),)
    if fmt != "tiktoken" and (options.preset or options.pattern or options.specials or options.normalize):
        view.notes.append("--preset, --pattern, --special and --normalize apply to tiktoken rank files only: ignored")
    return _with_neighbours(view, p.parent)


def _with_neighbours(view: TokenizerView, folder: Path) -> TokenizerView:
    """Attach tokenizer_config.json & co. from the artifact's folder (once per view)."""
    if "files" not in view.facts.stated:
        from auditor.loaders.neighbours import read_neighbours

        files, notes = read_neighbours(folder)
        view.facts = view.facts.with_facts(files=files)
        view.notes.extend(notes)
    return view


def _load_file(p: Path, fmt: str, options: LoadOptions) -> TokenizerView:
    if fmt == "gguf":
        from auditor.loaders.gguf_file import load_gguf

        return load_gguf(p)
    if fmt == "tokenizer.json":
        from auditor.loaders.hf_json import load_tokenizer_json

        return load_tokenizer_json(p)
    data = p.read_bytes()
    if fmt == "tekken":
        from auditor.loaders.tekken import load_tekken

        return load_tekken(p, data)
    if fmt == "tiktoken":
        from auditor.loaders.tiktoken_file import load_tiktoken

        return load_tiktoken(
            p,
            data,
            preset=options.preset,
            pattern=options.pattern,
            specials=dict(options.specials) or None,
            normalize=options.normalize,
        )
    from auditor.loaders.sentencepiece_model import load_sentencepiece

    return load_sentencepiece(p, data)


_FOLDER_FILES = ("tokenizer.json", "tokenizer.model", "*.tiktoken", "*.gguf", "tekken*.json")


def _load_folder(folder: Path, options: LoadOptions) -> TokenizerView:
    """An HF-style folder: tokenizer.json first, then tokenizer.model, a rank file, a GGUF, a tekken file, slow files."""
    for pattern in _FOLDER_FILES:
        matches = sorted(folder.glob(pattern))
        if len(matches) > 1:
            raise UserError(f"{folder}: several {pattern} files; name the one to lint")
        if matches:
            return load_tokenizer(matches[0], options)
    slow = ("vocab.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model", "tokenizer_config.json")
    if any((folder / name).exists() for name in slow):
        from auditor.loaders.hf_folder import load_slow_folder

        return load_slow_folder(folder)
    raise UserError(
        f"{folder}: no tokenizer found (looked for tokenizer.json, tokenizer.model, *.tiktoken, *.gguf, tekken*.json, "
        "vocab.json/merges.txt, vocab.txt)"
    )
