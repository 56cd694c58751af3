"""Stream documents out of corpus files, counting what could not be read.

Formats, detected from the content (the extension only breaks ties):
- JSON lines (`.jsonl`, `.ndjson`, or `.json` holding one object per line): read line by
  line here, so that one bad line is one bad record with its line number, not a failed
  file (the `datasets` JSON builder fails the whole file on one malformed line);
- a JSON array of records (`.json` starting with `[`): parsed whole, so bounded by that
  file's size, not by the corpus;
- Parquet: `pyarrow` (which `datasets` depends on), in record batches of the text column;
- a dataset folder written by `datasets.save_to_disk` (Dataset or DatasetDict): through
  `datasets.load_from_disk`, memory-mapped, iterated in batches;
- plain text: one document per file, or one per line with `doc_per_line`;
- gzip, bzip2 and zstd compressed variants of the above (by magic bytes).

Every document keeps an identity a user can find again (`Document.locator`). A bad
record is counted in the `ReadReport` with its reason and never stops the scan; a file
that cannot be read is listed there too. `read_corpus_checked` raises a UserError only
when nothing usable was read.
"""

from __future__ import annotations

import glob
import io
import json
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from auditor.core import Document, MissingExtraError, UserError, first_line

MAX_EXAMPLES = 5  # bad-record locators kept per reason
_ARROW_BATCH = 1024

_GZIP = b"\x1f\x8b"
_BZIP2 = b"BZh"
_ZSTD = b"\x28\xb5\x2f\xfd"
_COMPRESSED_EXT = (".gz", ".gzip", ".bz2", ".zst", ".zstd")
_JSON_EXT = (".jsonl", ".ndjson", ".json")


@dataclass
class ReadReport:
    """What reading a corpus met: documents, empty ones, bad records, unreadable files.

    Mutable on purpose: the reader fills it while it streams.
    """

    files: int = 0  # files (or dataset folders) opened
    documents: int = 0  # non-empty documents yielded
    empty_documents: int = 0  # records whose text is empty (counted, not yielded)
    bad_records: int = 0
    bad_reasons: Counter = field(default_factory=Counter)  # reason -> count
    bad_examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> a few locators
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    truncated: bool = False  # stopped at max_documents

    def bad(self, reason: str, locator: str) -> None:
        self.bad_records += 1
        self.bad_reasons[reason] += 1
        examples = self.bad_examples.setdefault(reason, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(locator)

    def merge(self, other: ReadReport) -> ReadReport:
        """The report of reading both inputs, self first (exact: counts add, examples concatenate)."""
        out = ReadReport(
            files=self.files + other.files,
            documents=self.documents + other.documents,
            empty_documents=self.empty_documents + other.empty_documents,
            bad_records=self.bad_records + other.bad_records,
            bad_reasons=self.bad_reasons + other.bad_reasons,
            unreadable=self.unreadable + other.unreadable,
            truncated=self.truncated or other.truncated,
        )
        for src in (self.bad_examples, other.bad_examples):
            for reason, locs in src.items():
                kept = out.bad_examples.setdefault(reason, [])
                kept.extend(locs[: MAX_EXAMPLES - len(kept)])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "documents": self.documents,
            "empty_documents": self.empty_documents,
            "bad_records": self.bad_records,
            "bad_reasons": {
                r: {"count": self.bad_reasons[r], "examples": list(self.bad_examples.get(r, []))}
                for r in sorted(self.bad_reasons)
            },
            "unreadable_files": [{"path": p, "reason": why} for p, why in self.unreadable],
            "truncated_at_max_documents": self.truncated,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReadReport:
        reasons = d.get("bad_reasons", {})
        return cls(
            files=int(d["files"]),
            documents=int(d["documents"]),
            empty_documents=int(d["empty_documents"]),
            bad_records=int(d["bad_records"]),
            bad_reasons=Counter({r: int(v["count"]) for r, v in reasons.items()}),
            bad_examples={r: list(v["examples"]) for r, v in reasons.items()},
            unreadable=[(u["path"], u["reason"]) for u in d.get("unreadable_files", [])],
            truncated=bool(d.get("truncated_at_max_documents", False)),
        )

    def summary(self) -> str:
        """One line for the user: what was read and what was not."""
        parts = [f"{self.documents} documents from {self.files} file(s)"]
        if self.empty_documents:
            parts.append(f"{self.empty_documents} empty")
        if self.bad_records:
            top = ", ".join(f"{r} ({n})" for r, n in sorted(self.bad_reasons.items()))
            parts.append(f"{self.bad_records} bad records: {top}")
        if self.unreadable:
            parts.append(
                f"{len(self.unreadable)} unreadable: " + ", ".join(f"{p} ({w})" for p, w in self.unreadable[:3])
            )
        return "; ".join(parts)


def _display(path: str) -> str:
    """A path as reports show it: relative to the working directory when inside it."""
    p = os.path.abspath(path)
    try:
        rel = os.path.relpath(p)
    except ValueError:
        return p.replace(os.sep, "/")
    return (p if rel.startswith("..") else rel).replace(os.sep, "/")


def _is_saved_dataset(folder: str) -> bool:
    try:
        names = set(os.listdir(folder))
    except OSError:  # an unreadable folder is reported when its files fail to open
        return False
    return "dataset_dict.json" in names or ("state.json" in names and "dataset_info.json" in names)


def corpus_signature(paths: Sequence[str]) -> list[list[str]]:
    """Identity of a corpus for the analysis cache: each input's name (locators quote it)
    and the content hash of its files; a corpus that cannot be listed gives its names only,
    so the scan runs and reports the problem."""
    from auditor.cache import hash_files

    out: list[list[str]] = []
    for path in expand_paths(paths):
        p = Path(path)
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        try:
            out.append([path, hash_files(files)])
        except OSError:
            out.append([path, "unreadable"])
    return out


def expand_paths(paths: Sequence[str], report: ReadReport | None = None) -> list[str]:
    """Files and dataset folders named by `paths` (files, folders, globs), in a stable order.

    Folders are walked recursively in sorted order, hidden entries left out; a folder
    written by `save_to_disk` is one input. A path that matches nothing is recorded as
    unreadable in `report`.
    """
    out: list[str] = []
    seen: set[str] = set()

    def unlisted(exc: OSError) -> None:
        if report is not None:
            report.unreadable.append((str(exc.filename), exc.strerror or "cannot list the folder"))

    def add(p: str) -> None:
        key = os.path.abspath(p)
        if key not in seen:
            seen.add(key)
            out.append(p)

    for raw in paths:
        raw = os.fspath(raw)
        if os.path.isdir(raw):
            if _is_saved_dataset(raw):
                add(raw)
                continue
            for root, dirs, files in os.walk(raw, onerror=unlisted):
                dirs.sort()
                for d in list(dirs):
                    full = os.path.join(root, d)
                    if d.startswith("."):
                        dirs.remove(d)
                    elif _is_saved_dataset(full):
                        add(full)  # one input, not walked into
                        dirs.remove(d)
                for name in sorted(files):
                    if not name.startswith("."):
                        add(os.path.join(root, name))
        elif os.path.exists(raw):
            add(raw)
        elif glob.has_magic(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches and report is not None:
                report.unreadable.append((raw, "no file matches this pattern"))
            for m in matches:
                for p in expand_paths([m], report) if os.path.isdir(m) else [m]:
                    add(p)
        elif report is not None:
            report.unreadable.append((raw, "no such file or directory"))
    return out


def _open_binary(path: str) -> IO[bytes]:
    """The file's content, decompressed when it starts with a gzip/bzip2/zstd signature."""
    fh = open(path, "rb")
    head = fh.read(4)
    fh.seek(0)
    if head.startswith(_GZIP):
        import gzip

        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    if head.startswith(_BZIP2):
        import bz2

        return bz2.BZ2File(fh, "rb")
    if head.startswith(_ZSTD):
        try:
            import zstandard
        except ImportError:
            fh.close()
            raise MissingExtraError(f"{path}: zstd-compressed input", "zstandard", "corpus") from None
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(fh, closefd=True))
    return fh


def _kind(path: str, head: bytes) -> str:
    """'jsonl', 'json', 'parquet' or 'text', from the extension and the first bytes."""
    name = path.lower()
    for ext in _COMPRESSED_EXT:
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    if head.startswith(b"PAR1") or name.endswith(".parquet"):
        return "parquet"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if name.endswith(_JSON_EXT):
        return "json" if stripped.startswith(b"[") else "jsonl"
    return "text"


def _utf8(data: bytes) -> tuple[str | None, str | None]:
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte 0x{data[exc.start]:02x})"


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _Emitter:
    """Counts and filters what a format reader produces; stops at max_documents."""

    def __init__(self, report: ReadReport, max_documents: int | None) -> None:
        self.report = report
        self.max_documents = max_documents

    def full(self) -> bool:
        return self.max_documents is not None and self.report.documents >= self.max_documents

    def text_of(self, record: Any, text_field: str, locator: str) -> str | None:
        """The text of a JSON/Arrow record, or None after counting why it is bad."""
        if not isinstance(record, dict):
            self.report.bad("record is not an object", locator)
            return None
        if text_field not in record:
            self.report.bad(f"no {text_field!r} field", locator)
            return None
        value = record[text_field]
        if not isinstance(value, str):
            self.report.bad(f"{text_field!r} is not a string", locator)
            return None
        if _has_surrogate(value):  # JSON "\udcff" escapes: not text a tokenizer can take
            self.report.bad("lone surrogate escape (not Unicode text)", locator)
            return None
        return value

    def emit(self, doc: Document) -> Document | None:
        if not doc.text:
            self.report.empty_documents += 1
            return None
        self.report.documents += 1
        return doc


def _jsonl(path: str, shown: str, fh: IO[bytes], text_field: str, em: _Emitter) -> Iterator[Document]:
    for lineno, raw in enumerate(fh, 1):
        if em.full():
            return
        if not raw.strip():
            continue
        loc = f"{shown}:line {lineno}"
        line, why = _utf8(raw)
        if line is None:
            em.report.bad(why or "not UTF-8", loc)
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            em.report.bad("invalid JSON", loc)
            continue
        text = em.text_of(record, text_field, loc)
        if text is not None:
            doc = em.emit(Document(shown, lineno, text, "line"))
            if doc is not None:
                yield doc


def _json_array(path: str, shown: str, fh: IO[bytes], text_field: str, em: _Emitter) -> Iterator[Document]:
    data, why = _utf8(fh.read())
    if data is None:
        em.report.unreadable.append((shown, why or "not UTF-8"))
        return
    try:
        records = json.loads(data)
    except (json.JSONDecodeError, RecursionError) as exc:
        em.report.unreadable.append((shown, f"invalid JSON ({getattr(exc, 'msg', 'too deep')})"))
        return
    if not isinstance(records, list):
        em.report.unreadable.append((shown, "JSON is not a list of records"))
        return
    del data
    for k, record in enumerate(records):
        if em.full():
            return
        text = em.text_of(record, text_field, f"{shown}:record {k}")
        if text is not None:
            doc = em.emit(Document(shown, k, text, "record"))
            if doc is not None:
                yield doc


def _text(path: str, shown: str, fh: IO[bytes], doc_per_line: bool, em: _Emitter) -> Iterator[Document]:
    if not doc_per_line:
        text, why = _utf8(fh.read())
        if text is None:
            em.report.bad(why or "not UTF-8", shown)
            return
        doc = em.emit(Document(shown, 0, text, "file"))
        if doc is not None:
            yield doc
        return
    for lineno, raw in enumerate(fh, 1):
        if em.full():
            return
        loc = f"{shown}:line {lineno}"
        line, why = _utf8(raw)
        if line is None:
            em.report.bad(why or "not UTF-8", loc)
            continue
        line = line.rstrip("\n")  # the line ending separates documents; a "\r" stays (it is data)
        doc = em.emit(Document(shown, lineno, line, "line"))
        if doc is not None:
            yield doc


def _arrow_batches(batches: Any, shown: str, text_field: str, em: _Emitter, start: int = 0) -> Iterator[Document]:
    """Documents from Arrow record batches holding `text_field` (record indices from `start`)."""
    k = start
    for batch in batches:
        values = batch.column(batch.schema.get_field_index(text_field)).to_pylist()
        for value in values:
            if em.full():
                return
            loc = f"{shown}:record {k}"
            if value is None:
                em.report.bad(f"{text_field!r} is null", loc)
            elif not isinstance(value, str):
                em.report.bad(f"{text_field!r} is not a string", loc)
            else:
                doc = em.emit(Document(shown, k, value, "record"))
                if doc is not None:
                    yield doc
            k += 1


def _parquet(path: str, shown: str, text_field: str, em: _Emitter) -> Iterator[Document]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingExtraError("Parquet corpora", "datasets", "corpus") from None
    pf = pq.ParquetFile(path)
    if text_field not in pf.schema_arrow.names:
        em.report.unreadable.append((shown, f"no {text_field!r} column (columns: {', '.join(pf.schema_arrow.names)})"))
        return
    yield from _arrow_batches(pf.iter_batches(batch_size=_ARROW_BATCH, columns=[text_field]), shown, text_field, em)


def _saved_dataset(path: str, shown: str, text_field: str, em: _Emitter) -> Iterator[Document]:
    try:
        import datasets
    except ImportError:
        raise MissingExtraError("datasets saved with save_to_disk", "datasets", "corpus") from None
    loaded = datasets.load_from_disk(path)
    splits = (
        [(name, loaded[name]) for name in sorted(loaded)]
        if isinstance(loaded, datasets.DatasetDict)
        else [("", loaded)]
    )
    for split, ds in splits:
        where = f"{shown}[{split}]" if split else shown
        if text_field not in ds.column_names:
            em.report.unreadable.append((where, f"no {text_field!r} column (columns: {', '.join(ds.column_names)})"))
            continue
        table = ds.select_columns([text_field]).with_format("arrow")  # memory-mapped, sliced lazily
        batches = (rb for k in range(0, len(table), _ARROW_BATCH) for rb in table[k : k + _ARROW_BATCH].to_batches())
        yield from _arrow_batches(batches, where, text_field, em)
        if em.full():
            return


def iter_documents(
    paths: Sequence[str],
    *,
    text_field: str = "text",
    doc_per_line: bool = False,
    max_documents: int | None = None,
    report: ReadReport | None = None,
) -> Iterator[Document]:
    """Stream the non-empty documents of `paths` (files, folders, globs) in a stable order.

    `max_documents` stops after that many documents: the sample is the first N in path
    order, so it is the same on every run. Bad records and unreadable files go to
    `report` (a fresh one when None) and never raise; a missing optional package does.
    """
    report = report if report is not None else ReadReport()
    em = _Emitter(report, max_documents)
    for path in expand_paths(paths, report):
        if em.full():
            report.truncated = True
            return
        shown = _display(path)
        try:
            if os.path.isdir(path):
                report.files += 1
                yield from _saved_dataset(path, shown, text_field, em)
                continue
            with _open_binary(path) as fh:
                kind = _kind(path, fh.read(64))
            report.files += 1
            if kind == "parquet":
                yield from _parquet(path, shown, text_field, em)
                continue
            with _open_binary(path) as fh:
                if kind == "jsonl":
                    yield from _jsonl(path, shown, fh, text_field, em)
                elif kind == "json":
                    yield from _json_array(path, shown, fh, text_field, em)
                else:
                    yield from _text(path, shown, fh, doc_per_line, em)
        except (UserError, GeneratorExit):
            raise
        except Exception as exc:
            reason = getattr(exc, "strerror", None) or first_line(exc)
            report.unreadable.append((shown, f"{type(exc).__name__}: {reason}"))
    if em.full():
        report.truncated = True


def check_usable(report: ReadReport, paths: Sequence[str], what: str = "corpus") -> None:
    """Raise a UserError when reading `paths` gave no usable document (exit code 2)."""
    if report.documents:
        return
    shown = ", ".join(os.fspath(p) for p in paths)
    if report.unreadable and not report.files:
        p, why = report.unreadable[0]
        raise UserError(f"{what} {shown}: nothing could be read ({p}: {why})")
    detail = report.summary()
    raise UserError(f"{what} {shown}: no usable document ({detail})")
