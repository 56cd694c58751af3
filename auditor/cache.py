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
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.atomic import write_bytes_atomic

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


DEFAULT_DIR = ".tokaudit_cache"
ENV_DIR = "TOKAUDIT_CACHE_DIR"
# Files of a tokenizer folder that loaders may read; weights are left out of the hash
# (they never change the tokenizer, and hashing gigabytes would cost more than a lint).
_FOLDER_SKIP_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".onnx", ".ot", ".ckpt")


def default_cache_dir() -> Path:
    """`$TOKAUDIT_CACHE_DIR`, else `.tokaudit_cache` in the working directory.

    Like ruff's `.ruff_cache`: a project-local folder is found again by every run from
    the repository root (pre-commit, CI), is easy to ignore and to delete, and never
    mixes projects; the variable moves it (CI caches, read-only checkouts).
    """
    env = os.environ.get(ENV_DIR)
    return Path(env) if env else Path(DEFAULT_DIR)


def artifact_files(path: str | os.PathLike[str]) -> list[Path]:
    """The files whose content identifies an artifact: the file itself, or the
    tokenizer files of a folder (sorted; model weights left out)."""
    p = Path(path)
    if not p.is_dir():
        return [p]
    return sorted(f for f in p.iterdir() if f.is_file() and not f.name.lower().endswith(_FOLDER_SKIP_SUFFIXES))


def artifact_hash(path: str | os.PathLike[str]) -> str:
    """Content hash of an artifact (file names inside a folder count: they pick the loader)."""
    files = artifact_files(path)
    names = hash_bytes(*(f.name.encode("utf-8") for f in files)) if Path(path).is_dir() else ""
    return hash_bytes(names.encode(), hash_files(files).encode())


_CODE_HASH: dict[str, str] = {}


def code_fingerprint(extra_files: Iterable[str | os.PathLike[str]] = ()) -> str:
    """Hash of tokaudit's own source (and of the given rule modules): a cache entry made
    by other code, even under the same version number (a development checkout), misses."""
    extra = sorted({os.fspath(f) for f in extra_files})
    memo = "\0".join(extra)
    if memo not in _CODE_HASH:
        here = Path(__file__).resolve().parent
        files = sorted(here.rglob("*.py")) + [Path(f) for f in extra]
        _CODE_HASH[memo] = hash_files(f for f in files if f.is_file())
    return _CODE_HASH[memo]


_LIBRARIES = ("tokenizers", "sentencepiece", "tiktoken", "gguf", "transformers", "numpy")


def library_versions() -> dict[str, str]:
    """Versions of the libraries that encode and decode: results depend on them.

    Read from the `NAME-VERSION.dist-info` folder names on sys.path (one listing per
    folder) rather than through importlib.metadata, which costs more than a cache hit
    should; the metadata API is the fallback.
    """
    import re

    found: dict[str, str] = {}
    pattern = re.compile(r"^(" + "|".join(_LIBRARIES) + r")-([^-]+)\.dist-info$", re.I)
    for entry in sys.path:
        if len(found) == len(_LIBRARIES):
            break
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            m = pattern.match(name)
            if m and m.group(1).lower() not in found:
                found[m.group(1).lower()] = m.group(2)
    out = {}
    for name in _LIBRARIES:
        if name in found:
            out[name] = found[name]
            continue
        from importlib import metadata

        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out


class Cache:
    """A directory of entries `<kind>/<key>.npz`, or `<kind>/<key>.json` for entries
    without arrays (loading those needs no numpy: a cache hit stays cheap). A disabled
    cache misses and stores nothing."""

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

    def _path(self, kind: str, key: str, suffix: str = ".npz") -> Path:
        assert self.directory is not None
        return self.directory / kind / f"{key}{suffix}"

    def _check_meta(self, meta: Any, kind: str, key: str) -> None:
        if not isinstance(meta, dict) or meta.get("key") != key or meta.get("kind") != kind:
            raise ValueError("foreign entry")
        if meta.get("version") != __version__ or meta.get("format") != FORMAT:
            raise ValueError("other version or format")

    def _drop(self, path: Path) -> None:
        self.misses += 1
        try:
            path.unlink()
        except OSError:
            pass

    def load(self, kind: str, key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(document, arrays) of a valid entry, or None (missing, corrupt or foreign)."""
        if not self.enabled:
            return None
        json_path = self._path(kind, key, ".json")
        if json_path.is_file():
            try:
                data = json.loads(json_path.read_text(encoding="utf-8"))
                self._check_meta(data.get("meta") if isinstance(data, dict) else None, kind, key)
                document = data["document"]
                if not isinstance(document, dict):
                    raise ValueError("not a document")
            except Exception:
                self._drop(json_path)
                return None
            self.hits += 1
            return document, {}
        path = self._path(kind, key)
        if not path.is_file():
            self.misses += 1
            return None
        try:
            import numpy as np

            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["__meta__"]).decode("utf-8"))
                self._check_meta(meta, kind, key)
                document = json.loads(bytes(data["__doc__"]).decode("utf-8"))
                arrays = {name: data[name] for name in data.files if not name.startswith("__")}
        except Exception:
            self._drop(path)
            return None
        self.hits += 1
        return document, arrays

    def store(self, kind: str, key: str, document: Mapping[str, Any], arrays: Mapping[str, Any] | None = None) -> None:
        """Write an entry atomically; a cache that cannot be written is silently skipped."""
        if not self.enabled:
            return
        meta = {"key": key, "kind": kind, "version": __version__, "format": FORMAT}
        if not arrays:
            text = json.dumps({"meta": meta, "document": document})  # ASCII: lone surrogates survive
            self._write(self._path(kind, key, ".json"), text.encode("utf-8"))
            return
        import numpy as np

        path = self._path(kind, key)
        payload = {
            "__meta__": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            "__doc__": np.frombuffer(json.dumps(document, ensure_ascii=False).encode(), dtype=np.uint8),
        }
        for name, value in (arrays or {}).items():
            if name.startswith("__"):
                raise ValueError(f"array name {name!r} is reserved")
            payload[name] = np.asarray(value)
        buffer = io.BytesIO()
        np.savez(buffer, **payload)  # type: ignore[arg-type]  # numpy stubs type **kwds as allow_pickle
        self._write(path, buffer.getvalue())

    def _write(self, path: Path, data: bytes) -> None:
        """Temporary file + rename; a cache that cannot be written is silently skipped."""
        try:
            self._ensure_dir()
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, data)
        except OSError:
            return

    def _ensure_dir(self) -> None:
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        tag = self.directory / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text(CACHEDIR_TAG, encoding="utf-8")
        ignore = self.directory / ".gitignore"
        if not ignore.exists():  # never committed by accident, wherever it lies
            ignore.write_text("# Automatically created by tokaudit.\n*\n", encoding="utf-8")


def clean_cache(directory: str | os.PathLike[str]) -> bool:
    """Delete a cache directory. Refuses a folder that is not a tokaudit cache (no
    CACHEDIR.TAG of ours), so a mistyped --cache-dir never deletes a project."""
    import shutil

    d = Path(directory)
    if not d.exists():
        return False
    tag = d / "CACHEDIR.TAG"
    try:
        ours = tag.read_text(encoding="utf-8").startswith(CACHEDIR_TAG.splitlines()[0]) and "tokaudit" in tag.read_text(
            encoding="utf-8"
        )
    except OSError:
        ours = False
    if not ours:
        from auditor.core import UserError

        raise UserError(f"{d}: not a tokaudit cache directory (no CACHEDIR.TAG of tokaudit): not deleted")
    shutil.rmtree(d)
    return True
