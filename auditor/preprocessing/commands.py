"""The logic behind `tokaudit lock` and `tokaudit diff` (the CLI module only parses)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from auditor.core import UserError


def write_locks(paths: Sequence[Path], lock: Path | None, preset: str | None) -> Iterator[str]:
    """Fingerprint every artifact and write (or update) its lock file; yields one line per artifact."""
    from auditor.analyses.preprocessing import run_probes
    from auditor.core import artifact_name
    from auditor.loaders import LoadOptions, load_tokenizer
    from auditor.preprocessing.lock import fingerprint, lock_location, update_lock
    from auditor.reporters import write_atomic

    by_lock: dict[Path, dict[str, dict]] = {}
    lines: list[str] = []
    for path in paths:
        view = load_tokenizer(path, LoadOptions(preset=preset))
        view.path = artifact_name(path)
        lock_path, key = lock_location(path, lock)
        by_lock.setdefault(lock_path, {})[key] = fingerprint(view, run_probes(view))
        lines.append(f"{view.path}: locked {len(by_lock[lock_path][key]['probes'])} probe strings as {key!r} in "
                     f"{os.path.relpath(lock_path).replace(os.sep, '/')}")
    for lock_path, entries in sorted(by_lock.items()):
        text = update_lock(lock_path, entries)
        try:
            write_atomic(lock_path, text)
        except OSError as exc:
            raise UserError(f"{lock_path}: cannot write the lock file ({exc.strerror})") from None
    yield from lines


def run_diff(
    a: Path,
    b: Path,
    fmt: str,
    corpus: Sequence[str] = (),
    corpus_options: Mapping[str, Any] | None = None,
) -> tuple[str, bool]:
    """(report, identical) for `tokaudit diff A B [--corpus PATH ...]`: with a corpus, its
    documents (read by the corpus reader, with its options) are compared too."""
    import dataclasses

    from auditor.core import artifact_name
    from auditor.corpus.reader import ReadReport, check_usable
    from auditor.loaders import load_tokenizer
    from auditor.preprocessing.diff import (
        diff_tokenizers,
        render_diff_json,
        render_diff_text,
    )
    from auditor.preprocessing.equivalence import corpus_texts

    va, vb = load_tokenizer(a), load_tokenizer(b)
    va.path, vb.path = artifact_name(a), artifact_name(b)
    read = ReadReport()
    sample = corpus_texts(list(corpus), corpus_options, report=read) if corpus else None
    result = diff_tokenizers(va, vb, sample)
    if corpus:
        check_usable(read, corpus, "corpus")
        result = dataclasses.replace(result, sample_read=read.summary())
    text = render_diff_json(result) if fmt == "json" else render_diff_text(result)
    return text, result.identical
