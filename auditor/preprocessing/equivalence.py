"""Implementation equivalence: do two tokenizers encode the same texts to the same ids?

One tokenizer often ships in several implementations (tokenizer.json for `tokenizers`,
tokenizer.model for SentencePiece, a tiktoken rank file, a GGUF vocabulary for
llama.cpp, vocab.json + merges.txt for transformers' slow classes). They drift: a GGUF
with the wrong pre-tokenizer regex, a fast conversion that segments differently, a
leading space after special tokens in one of them (docs/defects.md #1, #5, #6, #14). This
module encodes the same texts with two implementations, batch by batch, with both
encoders running at once, and keeps the first divergences with examples.

Texts are probe strings or corpus documents (any iterable of `Document` or str): the
comparison itself is testable in memory. `corpus_texts` turns corpus files into such
texts through the corpus reader (the same reader, options and locators as the corpus
rules), and `corpus_sample` takes the deterministic sample the `implementations`
analysis (rule P112) compares when the run has a `--corpus`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.core import CorpusOptions, Document, TokenizerView, UserError
from auditor.escape import escape_bytes, escape_text

Encoder = Callable[[list[str]], list[list[int]]]

# The corpus sample P112 compares: the first documents in path order (the reader's order,
# so the same on every run), each cut to its first piece of at most CHUNK_CHARS
# characters. 1,000 documents of up to 64k characters take seconds with a fast
# implementation and stay tolerable with transformers' pure-Python slow classes;
# --max-documents lowers it. `tokaudit diff --corpus` has no such cap.
SAMPLE_DOCUMENTS = 1000


@dataclass(frozen=True)
class Implementation:
    """Something that encodes: a name for reports, a batch encoder, and the text of an id."""

    name: str
    encode_batch: Encoder
    token_text: Callable[[int], str]  # escaped, for messages
    vocab_size: int
    token_bytes: Callable[[int], bytes | None] = lambda _i: None

    @classmethod
    def of_view(cls, view: TokenizerView, label: str | None = None) -> Implementation:
        def text(i: int) -> str:
            if not 0 <= i < view.vocab_size:
                return f"<id {i}>"
            tb = view.token_bytes[i]
            return escape_bytes(tb) if tb is not None else escape_text(view.pieces[i] or "")

        def raw(i: int) -> bytes | None:
            return view.token_bytes[i] if 0 <= i < view.vocab_size else None

        name = f"{label or Path(view.path).name} ({view.implementation})"
        return cls(name, lambda texts: view.encode_batch(texts), text, view.vocab_size, raw)


@dataclass(frozen=True)
class Divergence:
    """One text the two implementations encode differently."""

    label: str  # probe name or document locator
    text: str  # an excerpt around the first difference
    position: int  # index of the first differing token
    ids_a: tuple[int, ...]  # a few ids from `position` on
    ids_b: tuple[int, ...]
    tokens_a: tuple[str, ...]
    tokens_b: tuple[str, ...]

    def describe(self) -> str:
        a = " + ".join(f'"{t}"' for t in self.tokens_a) or "(end)"
        b = " + ".join(f'"{t}"' for t in self.tokens_b) or "(end)"
        return f'{self.label} "{escape_text(self.text)}": token {self.position}: {a} vs {b}'


@dataclass(frozen=True)
class Equivalence:
    """The comparison of implementation `a` with `b` on `compared` texts."""

    a: str
    b: str
    compared: int
    diverging: int
    examples: tuple[Divergence, ...]
    diverging_labels: tuple[str, ...] = ()  # the first labels (up to 100), for reports

    @property
    def equivalent(self) -> bool:
        return self.diverging == 0

    def report_section(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "compared": self.compared,
            "diverging": self.diverging,
            "examples": [d.describe() for d in self.examples],
        }


def _divergence(
    a: Implementation, b: Implementation, label: str, text: str, ea: Sequence[int], eb: Sequence[int]
) -> Divergence:
    k = next((i for i, (x, y) in enumerate(zip(ea, eb)) if x != y), min(len(ea), len(eb)))
    # Where in the text: the bytes of the common prefix, when the ids stand for bytes.
    prefix = [a.token_bytes(i) for i in ea[:k]]
    if all(p is not None for p in prefix):
        offset = len(b"".join(p for p in prefix if p is not None).decode("utf-8", "ignore"))
    else:
        offset = 0
    start = max(0, offset - 10)
    return Divergence(
        label=label,
        text=text[start : start + 40],
        position=k,
        ids_a=tuple(ea[k : k + 6]),
        ids_b=tuple(eb[k : k + 6]),
        tokens_a=tuple(a.token_text(i) for i in ea[k : k + 6]),
        tokens_b=tuple(b.token_text(i) for i in eb[k : k + 6]),
    )


def _labelled(texts: Iterable[Document | str | tuple[str, str]]) -> Iterator[tuple[str, str]]:
    for n, item in enumerate(texts):
        if isinstance(item, Document):
            yield item.locator, item.text
        elif isinstance(item, tuple):
            yield item[0], item[1]
        else:
            yield f"text {n}", item


def _batches(items: Iterator[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    batch: list[tuple[str, str]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def compare(
    a: Implementation,
    b: Implementation,
    texts: Iterable[Document | str | tuple[str, str]],
    *,
    batch_size: int = 512,
    max_examples: int = 5,
    parallel: bool = True,
) -> Equivalence:
    """Encode every text with `a` and `b` (no BOS/EOS) and compare the ids.

    Each batch is encoded by both implementations at the same time (the libraries
    release the GIL), and the next batch is read while they work.
    """
    compared = diverging = 0
    examples: list[Divergence] = []
    labels: list[str] = []
    with ThreadPoolExecutor(max_workers=2 if parallel else 1) as pool:
        for batch in _batches(_labelled(texts), batch_size):
            strings = [t for _l, t in batch]
            if parallel:
                fa = pool.submit(a.encode_batch, strings)
                fb = pool.submit(b.encode_batch, strings)
                enc_a, enc_b = fa.result(), fb.result()
            else:
                enc_a, enc_b = a.encode_batch(strings), b.encode_batch(strings)
            compared += len(batch)
            for (label, text), ea, eb in zip(batch, enc_a, enc_b):
                if ea == eb:
                    continue
                diverging += 1
                if len(labels) < 100:
                    labels.append(label)
                if len(examples) < max_examples:
                    examples.append(_divergence(a, b, label, text, ea, eb))
    return Equivalence(a.name, b.name, compared, diverging, tuple(examples), tuple(labels))


def corpus_texts(
    paths: Sequence[str], options: CorpusOptions | None = None, *, report: Any = None
) -> Iterator[tuple[str, str]]:
    """(label, text) of every document of a corpus, read by the corpus reader with its
    options (text_field, doc_per_line, max_documents). A document longer than the
    scan's CHUNK_CHARS comes in pieces cut after a newline or space, labelled
    `locator piece N`, so that no enormous document is encoded at once."""
    from auditor.corpus.chunking import iter_pieces
    from auditor.corpus.reader import ReadReport, iter_documents

    opts = options or CorpusOptions()
    read = report if report is not None else ReadReport()
    for doc in iter_documents(
        list(paths),
        report=read,
        text_field=opts.text_field,
        doc_per_line=opts.doc_per_line,
        max_documents=opts.max_documents,
    ):
        pieces = iter_pieces(doc.text)
        first = next(pieces)
        if len(first) == len(doc.text):
            yield doc.locator, first
            continue
        yield f"{doc.locator} piece 0", first
        for k, piece in enumerate(pieces, 1):
            yield f"{doc.locator} piece {k}", piece


def corpus_sample(paths: Sequence[str], options: CorpusOptions | None = None) -> list[tuple[str, str]]:
    """The deterministic sample of a corpus that rule P112 compares: its first
    SAMPLE_DOCUMENTS documents (fewer with --max-documents), each cut to its first
    piece. UserError when the corpus holds no usable document."""
    from auditor.corpus.chunking import iter_pieces
    from auditor.corpus.reader import ReadReport, check_usable, iter_documents

    opts = options or CorpusOptions()
    limit = min(opts.max_documents or SAMPLE_DOCUMENTS, SAMPLE_DOCUMENTS)
    read = ReadReport()
    documents = iter_documents(
        list(paths), report=read, text_field=opts.text_field, doc_per_line=opts.doc_per_line, max_documents=limit
    )
    out = [(doc.locator, next(iter_pieces(doc.text))) for doc in documents]
    check_usable(read, paths, "corpus")
    return out


# --- sibling implementations in one folder (analysis "implementations") -------------------

_SLOW_SETS = (("vocab.json", "merges.txt"), ("vocab.txt",), ("spiece.model",), ("sentencepiece.bpe.model",))


def _canonical(path: Path) -> bool:
    return path.name in ("tokenizer.json", "tokenizer.model") or path.suffix in (".tiktoken", ".gguf")


def sibling_files(artifact: Path) -> tuple[Path | None, list[Path], bool]:
    """(primary file, other implementation files, slow transformers files present).

    Only for HF-style folders (or a canonically named file in one): a tokenizer.json,
    tokenizer.model, *.tiktoken and *.gguf beside each other are one tokenizer.
    """
    folder = artifact if artifact.is_dir() else artifact.parent
    if artifact.is_file() and not _canonical(artifact):
        return artifact, [], False
    found = [p for p in (folder / "tokenizer.json", folder / "tokenizer.model") if p.is_file()]
    for pattern in ("*.tiktoken", "*.gguf"):
        found += sorted(p for p in folder.glob(pattern) if p.is_file())
    slow = any(all((folder / n).is_file() for n in names) for names in _SLOW_SETS)
    if artifact.is_file():
        primary: Path | None = artifact
    else:
        primary = found[0] if found else None
    others = [p for p in found if primary is None or p.resolve() != primary.resolve()]
    return primary, others, slow


def slow_implementation(folder: Path) -> Implementation:
    """transformers' slow (pure Python) tokenizer class for the folder's vocabulary files."""
    try:
        import transformers
        from transformers import AutoTokenizer
    except ImportError:
        raise UserError("the slow tokenizer needs the 'transformers' package: pip install 'tokaudit[model]'") from None
    try:
        tok = AutoTokenizer.from_pretrained(str(folder), use_fast=False, local_files_only=True, trust_remote_code=False)
    except Exception as exc:
        raise UserError(" ".join(str(exc).split())[:200] or type(exc).__name__) from None
    if getattr(tok, "is_fast", False):
        raise UserError("transformers has no slow class for this tokenizer")

    def encode(texts: list[str]) -> list[list[int]]:
        return [tok.encode(t, add_special_tokens=False) for t in texts] if texts else []

    def text(i: int) -> str:
        piece = tok.convert_ids_to_tokens(i)
        return escape_text(piece if isinstance(piece, str) else f"<id {i}>")

    name = f"slow files ({type(tok).__name__}, transformers {transformers.__version__})"
    return Implementation(name, encode, text, len(tok))


@dataclass(frozen=True)
class ImplementationsResult:
    """The artifact compared with every other implementation found beside it."""

    primary: str
    comparisons: tuple[tuple[str, Equivalence], ...]  # (file, result on the probe strings)
    skipped: tuple[tuple[str, str], ...]  # (file, why it could not be loaded)
    sample_comparisons: tuple[tuple[str, Equivalence], ...] = ()  # (file, result on the sample)

    def report_section(self) -> dict[str, Any]:
        return {
            "primary": self.primary,
            "comparisons": {f: e.report_section() for f, e in self.comparisons},
            "sample_comparisons": {f: e.report_section() for f, e in self.sample_comparisons},
            "skipped": {f: why for f, why in self.skipped},
        }


def compare_siblings(
    store: Any,
    *,
    sample: Sequence[Document | str | tuple[str, str]] | Callable[[], Sequence[Any]] | None = None,
    max_examples: int = 5,
) -> ImplementationsResult:
    """Compare the artifact with the other implementations in its folder on the probe
    strings, and on `sample` (documents of a corpus) when given. A callable sample is
    called only when there is another implementation to compare with."""
    from auditor.loaders import load_tokenizer
    from auditor.probes import PROBE_STRINGS

    view: TokenizerView = store.view
    artifact = Path(view.path)
    primary, others, slow = sibling_files(artifact) if artifact.exists() else (None, [], False)
    folder = artifact if artifact.is_dir() else artifact.parent
    mine = Implementation.of_view(view, primary.name if primary else None)
    comparisons: list[tuple[str, Equivalence]] = []
    skipped: list[tuple[str, str]] = []
    impls: list[tuple[str, Implementation]] = []
    for path in others:
        try:
            impls.append((path.name, Implementation.of_view(load_tokenizer(path), path.name)))
        except UserError as exc:
            skipped.append((path.name, str(exc)))
    if slow:
        try:
            impls.append(("slow", slow_implementation(folder)))
        except UserError as exc:
            skipped.append(("slow", str(exc)))
    on_sample: list[tuple[str, Equivalence]] = []
    if callable(sample):
        sample = sample() if impls else None
    for name, impl in impls:
        store.progress(f"{view.path}: comparing with {name}")
        comparisons.append((name, compare(mine, impl, PROBE_STRINGS, max_examples=max_examples)))
        if sample is not None:
            on_sample.append((name, compare(mine, impl, sample, max_examples=max_examples)))
    return ImplementationsResult(mine.name, tuple(comparisons), tuple(skipped), tuple(on_sample))
