"""Behaviour lock: what a tokenizer does to the probe strings, recorded in a small JSON file.

`tokaudit lock PATH` writes `tokaudit.lock` beside the artifact (or the file given with
--lock): per artifact, the encodings of the probe strings, a hash of the vocabulary and
a hash of the configuration. `tokaudit lint` finds the lock again and rule P111 reports
any difference, so a tokenizer edit that silently changes tokenization fails the
pre-commit hook until the lock is renewed on purpose.

The file is deterministic (sorted keys, no timestamps, no tool version): regenerating it
for an unchanged tokenizer gives the same bytes, so it diffs cleanly in review.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.analyses.preprocessing import ProbeRun
from auditor.core import InputError, TokenizerView, TokenKind

LOCK_NAME = "tokaudit.lock"
LOCK_VERSION = 1


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def vocab_hash(view: TokenizerView) -> str:
    """Hash of every id's piece, bytes and kind: any added, removed or changed entry moves it.

    Whole lists go through json.dumps and one bytes join (C speed: 0.1 s for 256k ids);
    the byte lengths make the concatenation unambiguous."""
    h = hashlib.sha256()
    h.update(json.dumps(view.pieces, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    codes = {kind: chr(65 + n) for n, kind in enumerate(TokenKind)}
    h.update("".join(map(codes.__getitem__, view.kinds)).encode("ascii"))
    h.update(json.dumps([-1 if tb is None else len(tb) for tb in view.token_bytes]).encode("ascii"))
    h.update(b"".join(tb for tb in view.token_bytes if tb is not None))
    return h.hexdigest()


def config_hash(view: TokenizerView) -> str:
    """Hash of the format facts the loader keeps (pipeline, flags, neighbour config files)."""
    text = json.dumps(view.facts.identity(), sort_keys=True, ensure_ascii=False, default=str)
    return _sha(text.encode("utf-8", "surrogatepass"))


def fingerprint(view: TokenizerView, probes: ProbeRun) -> dict[str, Any]:
    """One artifact's lock entry."""
    encodings = {name: list(ids) for name, ids in zip(probes.names, probes.encodings)}
    return {
        "format": view.format,
        "vocab_size": view.vocab_size,
        "vocab_hash": vocab_hash(view),
        "config_hash": config_hash(view),
        "probe_version": probes.version,
        "probes_hash": _sha(json.dumps(encodings, sort_keys=True).encode("ascii")),
        "probes": encodings,
    }


def lock_location(artifact: str | os.PathLike[str], lock: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """(lock file, key of the artifact in it). The key is the artifact's path relative to
    the lock's folder ("." for a folder holding its own lock), so the lock can move with it."""
    art = Path(artifact).resolve()
    if lock is not None:
        path = Path(lock).resolve()
    else:
        path = (art if art.is_dir() else art.parent) / LOCK_NAME
    key = os.path.relpath(art, path.parent).replace(os.sep, "/")
    return path, key


def read_lock(path: Path) -> dict[str, Any] | None:
    """The parsed lock, None when there is none; a broken lock is an input error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the lock file ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"lock file is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if (
        not isinstance(data, dict)
        or data.get("tokaudit_lock") != LOCK_VERSION
        or not isinstance(data.get("artifacts"), dict)
    ):
        raise InputError(path, f"not a tokaudit lock file (version {LOCK_VERSION}); recreate it with 'tokaudit lock'")
    return data


def render_lock(data: dict[str, Any]) -> str:
    """Canonical text: sorted keys, one probe per line, so diffs stay readable."""
    artifacts = data["artifacts"]
    lines = ["{", f'  "tokaudit_lock": {LOCK_VERSION},', '  "artifacts": {']
    for n, key in enumerate(sorted(artifacts)):
        entry = artifacts[key]
        lines.append(f"    {json.dumps(key, ensure_ascii=False)}: {{")
        fields = sorted(k for k in entry if k != "probes")
        for k in fields:
            lines.append(f"      {json.dumps(k)}: {json.dumps(entry[k], ensure_ascii=False, sort_keys=True)},")
        lines.append('      "probes": {')
        probes = entry.get("probes") or {}
        names = sorted(probes)
        for m, name in enumerate(names):
            sep = "," if m + 1 < len(names) else ""
            lines.append(f"        {json.dumps(name)}: {json.dumps(probes[name], separators=(',', ':'))}{sep}")
        lines.append("      }")
        lines.append("    }" + ("," if n + 1 < len(artifacts) else ""))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def update_lock(path: Path, entries: dict[str, dict[str, Any]]) -> str:
    """The lock text with `entries` (key -> fingerprint) added or replaced; others kept."""
    data = read_lock(path) or {"tokaudit_lock": LOCK_VERSION, "artifacts": {}}
    data["artifacts"].update(entries)
    return render_lock(data)


# --- checking (analysis "lock") ------------------------------------------------------


@dataclass(frozen=True)
class ProbeChange:
    name: str
    text: str
    locked: tuple[int, ...]
    now: tuple[int, ...]


@dataclass(frozen=True)
class LockCheck:
    """The artifact against its lock entry (None fields: nothing to compare)."""

    lock_path: str
    key: str
    found: bool  # the lock has an entry for this artifact
    changed_probes: tuple[ProbeChange, ...] = ()
    compared_probes: int = 0
    vocab_changed: bool = False
    vocab_size: tuple[int, int] | None = None  # (locked, now)
    config_changed: bool = False
    probe_version: tuple[int | None, int] | None = None  # (locked, now) when they differ

    @property
    def matches(self) -> bool:
        return not (self.changed_probes or self.vocab_changed or self.config_changed)


def check_lock(store: Any) -> LockCheck | None:
    """Compare the artifact with its lock, or None when no lock file exists."""
    view: TokenizerView = store.view
    path, key = lock_location(view.path, store.inputs.lock)
    data = read_lock(path)
    if data is None:
        if store.inputs.lock is not None:
            raise InputError(path, "lock file not found (create it with 'tokaudit lock')")
        return None
    shown = str(store.inputs.lock) if store.inputs.lock is not None else os.path.relpath(path).replace(os.sep, "/")
    entry = data["artifacts"].get(key)
    if not isinstance(entry, dict):
        return LockCheck(shown, key, False)
    probes: ProbeRun = store.get("probes")
    locked = entry.get("probes")
    if not isinstance(locked, dict):
        raise InputError(path, f"lock entry {key!r} has no probe encodings; recreate it with 'tokaudit lock'")
    now = probes.by_name()
    texts = dict(zip(probes.names, probes.texts))
    changed = tuple(
        ProbeChange(name, texts[name], tuple(locked[name]), now[name])
        for name in probes.names
        if name in locked and isinstance(locked[name], list) and tuple(locked[name]) != now[name]
    )
    compared = sum(1 for name in probes.names if name in locked)
    locked_version = entry.get("probe_version")
    return LockCheck(
        lock_path=shown,
        key=key,
        found=True,
        changed_probes=changed,
        compared_probes=compared,
        vocab_changed=entry.get("vocab_hash") != vocab_hash(view),
        vocab_size=(entry["vocab_size"] if isinstance(entry.get("vocab_size"), int) else 0, view.vocab_size),
        config_changed=entry.get("config_hash") != config_hash(view),
        probe_version=(locked_version, probes.version) if locked_version != probes.version else None,
    )
