"""On-disk cache of expensive analyses, keyed by content hash + tool version + options.

Entries are `.npz` files written with `allow_pickle=False`: a JSON document plus named
numpy arrays, so loading one never runs code. Each entry repeats its own key and the
tool version inside; an entry that fails to load or does not match is treated as a
miss, deleted and rebuilt, never trusted. Writes go through a temporary file and a
rename, so a crash never leaves a half-written entry behind. The directory carries a
`CACHEDIR.TAG` so backup tools skip it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

from auditor import __version__

CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by tokaudit.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
FORMAT = 1  # bump when the entry layout changes


def hash_bytes(*chunks: bytes) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(len(chunk).to_bytes(8, "little"))
        h.update(chunk)
    return h.hexdigest()


def hash_files(paths: Iterable[str | os.PathLike[str]]) -> str:
    """Content hash of files (names are not part of it: a moved file still hits)."""
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0file\0")
    return h.hexdigest()


class Cache:
    """A directory of entries `<kind>/<key>.npz`. A disabled cache misses and stores nothing."""

    def __init__(self, directory: str | os.PathLike[str] | None, enabled: bool = True) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.enabled = enabled and self.directory is not None
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(kind: str, *parts: Any) -> str:
        """Key of an entry: kind, tool version, entry format and the JSON of `parts`."""
        blob = json.dumps([kind, __version__, FORMAT, list(parts)], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:40]

    def _path(self, kind: str, key: str) -> Path:
        assert self.directory is not None
        return self.directory / kind / f"{key}.npz"

    def load(self, kind: str, key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(document, arrays) of a valid entry, or None (missing, corrupt or foreign)."""
        if not self.enabled:
            return None
        path = self._path(kind, key)
        if not path.is_file():
            self.misses += 1
            return None
        try:
            import numpy as np

            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["__meta__"]).decode("utf-8"))
                if meta.get("key") != key or meta.get("kind") != kind or meta.get("version") != __version__:
                    raise ValueError("foreign entry")
                if meta.get("format") != FORMAT:
                    raise ValueError("old format")
                document = json.loads(bytes(data["__doc__"]).decode("utf-8"))
                arrays = {name: data[name] for name in data.files if not name.startswith("__")}
        except Exception:  # noqa: BLE001 - anything wrong with an entry makes it a miss
            self.misses += 1
            try:
                path.unlink()
            except OSError:
                pass
            return None
        self.hits += 1
        return document, arrays

    def store(self, kind: str, key: str, document: Mapping[str, Any], arrays: Mapping[str, Any] | None = None) -> None:
        """Write an entry atomically; a cache that cannot be written is silently skipped."""
        if not self.enabled:
            return
        import numpy as np

        path = self._path(kind, key)
        meta = {"key": key, "kind": kind, "version": __version__, "format": FORMAT}
        payload = {
            "__meta__": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            "__doc__": np.frombuffer(json.dumps(document, ensure_ascii=False).encode(), dtype=np.uint8),
        }
        for name, value in (arrays or {}).items():
            if name.startswith("__"):
                raise ValueError(f"array name {name!r} is reserved")
            payload[name] = np.asarray(value)
        try:
            self._ensure_dir()
            path.parent.mkdir(parents=True, exist_ok=True)
            buffer = io.BytesIO()
            np.savez(buffer, **payload)
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(buffer.getvalue())
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError:
            return

    def _ensure_dir(self) -> None:
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        tag = self.directory / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text(CACHEDIR_TAG, encoding="utf-8")
