"""The backend-neutral tokenizer view every analysis and rule reads.

Loaders turn a file (tokenizer.json, SentencePiece .model, tiktoken ranks, GGUF, ...)
into a `TokenizerView`. Nothing downstream imports a tokenizer library: it asks the
view for pieces, bytes and kinds, and calls `encode_batch` / `decode_batch`, which the
loader's backend implements with the fastest batch API of its library.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


class TokenKind(str, enum.Enum):
    """What a vocabulary entry is, independent of the format it came from."""

    NORMAL = "normal"
    BYTE = "byte"  # byte-fallback piece <0xNN>
    CONTROL = "control"  # special / control token (<s>, <|endoftext|>)
    USER_DEFINED = "user_defined"  # added or user-defined token, matched in text
    UNUSED = "unused"  # declared unused / reserved by the format
    UNKNOWN = "unknown"  # the <unk> token
    PADDING = "padding"  # filler a converter added to reach the embedding size (GGUF "[PAD{id}]"): never trained


@dataclass(frozen=True)
class FlatEncodings:
    """Many encodings in two arrays: the ids of text k are ids[starts[k] : starts[k] + lengths[k]].

    The vocabulary analysis encodes one text per token (256k for a large vocabulary);
    a list of lists of that size costs more than the check it feeds.
    """

    ids: Any  # numpy int64 array
    lengths: Any  # numpy int64 array, one per text
    starts: Any  # numpy int64 array, one per text

    @classmethod
    def from_arrays(cls, ids: Any, lengths: Any) -> FlatEncodings:
        import numpy as np

        starts = np.zeros(len(lengths), dtype=np.int64)
        if len(lengths) > 1:
            np.cumsum(lengths[:-1], out=starts[1:])
        return cls(ids=ids, lengths=lengths, starts=starts)

    @classmethod
    def from_lists(cls, seqs: Sequence[Sequence[int]]) -> FlatEncodings:
        import numpy as np

        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        ids = np.fromiter((i for s in seqs for i in s), dtype=np.int64, count=int(lengths.sum()))
        return cls.from_arrays(ids, lengths)

    def __len__(self) -> int:
        return len(self.lengths)

    def get(self, k: int) -> list[int]:
        start = int(self.starts[k])
        return self.ids[start : start + int(self.lengths[k])].tolist()

    def is_exactly(self, expected: Any) -> Any:
        """Boolean array: text k encoded to the single id expected[k]."""
        import numpy as np

        expected = np.asarray(expected, dtype=np.int64)
        single = self.lengths == 1
        first = np.full(len(self.lengths), -1, dtype=np.int64)
        first[single] = self.ids[self.starts[single]]
        return single & (first == expected)


class Backend(Protocol):
    """What a loader must provide. Batch calls: the analysis never loops per token."""

    implementation: str

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Encode without adding BOS/EOS."""

    def decode_batch(self, seqs: Sequence[Sequence[int]]) -> list[str]:
        """Decode without skipping special tokens and without clean-up of spaces."""

    def normalize(self, text: str) -> str | None:
        """The normaliser's output, or None when the backend cannot tell."""

    def pre_tokenize(self, text: str) -> list[str] | None:
        """The pre-tokenizer's pieces of (normalised) text, or None when unknown."""


@dataclass(frozen=True)
class AddedToken:
    """A token matched in the raw text before the model runs (HF added tokens)."""

    id: int
    content: str
    special: bool
    normalized: bool = False
    lstrip: bool = False
    rstrip: bool = False
    single_word: bool = False


@dataclass(frozen=True)
class TokenizerFacts:
    """What the loader learned about a tokenizer's pipeline, for the rules and analyses.

    Each field is stated by the loaders of the formats that have it and stays at its
    default elsewhere. Pipeline parts (`normalizer`, `pre_tokenizer`, `decoder`,
    `post_processor`) are tokenizer.json's own JSON nodes; SentencePiece models state
    their normaliser as `{"name", "add_dummy_prefix", "remove_extra_whitespaces",
    "escape_whitespaces"}`. `files` holds the configuration files found beside the
    artifact (tokenizer_config.json, special_tokens_map.json, chat templates), read once
    by the loader so that rules never do I/O.
    """

    normalizer: Any = None
    pre_tokenizer: Any = None
    decoder: Any = None
    post_processor: Any = None
    byte_fallback: bool = False  # unknown bytes become <0xNN> pieces
    metaspace: bool = False  # spaces are written as "▁" in the pieces (SentencePiece style)
    split_digits: bool | None = None  # SentencePiece trainer flags
    treat_whitespace_as_suffix: bool | None = None
    files: Mapping[str, Any] = field(default_factory=dict)
    gguf: Mapping[str, Any] | None = None  # the tokenizer.ggml.* metadata of a GGUF file
    pre_tokenizer_fallback: bool = False  # GGUF: unknown tokenizer.ggml.pre, GPT-2 regex used
    tiktoken_preset: str | None = None  # tiktoken rank files: what the pattern came from
    tiktoken_pattern: str | None = None
    tiktoken_specials: Mapping[str, int] | None = None
    tokenizer_class: str | None = None  # transformers' class, for folders loaded through it
    # The fields the loader stated, in the names the configuration hash has always used.
    stated: tuple[str, ...] = field(default=(), compare=False)

    _HASH_NAMES: ClassVar[dict[str, str]] = {
        "tiktoken_preset": "preset",
        "tiktoken_pattern": "pattern",
        "tiktoken_specials": "specials",
    }

    @classmethod
    def of(cls, **values: Any) -> TokenizerFacts:
        """Facts with `values` recorded as stated (see `identity`)."""
        return cls(**values, stated=tuple(values))

    def with_facts(self, **values: Any) -> TokenizerFacts:
        """A copy with more facts stated."""
        import dataclasses

        stated = self.stated + tuple(k for k in values if k not in self.stated)
        return dataclasses.replace(self, **values, stated=stated)

    def chat_template(self) -> str | None:
        """The chat template text(s) joined, from whichever file holds them, or None."""
        found: list[str] = []
        for source in (self.files.get("tokenizer_config.json"), self.files.get("chat_template.json")):
            if isinstance(source, dict):
                value = source.get("chat_template")
                if isinstance(value, str):
                    found.append(value)
                elif isinstance(value, list):  # [{"name": ..., "template": ...}]
                    found += [
                        v["template"] for v in value if isinstance(v, dict) and isinstance(v.get("template"), str)
                    ]
        jinja = self.files.get("chat_template.jinja")
        if isinstance(jinja, str):
            found.append(jinja)
        return "\n".join(found) if found else None

    def identity(self) -> dict[str, Any]:
        """The stated facts as plain data: what the behaviour lock hashes as the configuration."""
        return {self._HASH_NAMES.get(k, k): getattr(self, k) for k in self.stated}


@dataclass
class TokenizerView:
    """One tokenizer, whatever its format.

    Per id: `pieces[id]` (raw vocabulary string, None for holes in the id space),
    `token_bytes[id]` (exact bytes the token stands for, None for control tokens and
    holes), `kinds[id]`. `merges` are (left_id, right_id, merged_id) triples in priority
    order when the format has BPE merges. `facts` is what the loader learned about the
    pipeline (normaliser, pre-tokenizer, decoder, flags, files beside the artifact).
    """

    path: str
    format: str
    backend: Backend
    pieces: list[str | None]
    token_bytes: list[bytes | None]
    kinds: list[TokenKind]
    byte_level: bool = False
    model_type: str = "unknown"  # bpe, unigram, wordpiece, wordlevel
    merges: list[tuple[int, int, int]] | None = None
    merges_factory: Callable[[], list[tuple[int, int, int]]] | None = None
    merge_pairs_factory: Callable[[], set[tuple[str, str]]] | None = None  # cheaper than the triples
    added_tokens: list[AddedToken] = field(default_factory=list)
    unk_id: int | None = None
    continuation_prefix: str | None = None  # WordPiece "##"
    facts: TokenizerFacts = field(default_factory=TokenizerFacts)
    notes: list[str] = field(default_factory=list)  # choices the loader made that change results
    # Guesses that make the results untrustworthy (an unknown GGUF pre-tokenizer): every
    # report format shows them, not only stderr.
    warnings: list[str] = field(default_factory=list)
    # The files the artifact was read from (set by load_tokenizer): its cache identity.
    source_files: tuple[str, ...] = ()

    _merge_pairs: set[tuple[str, str]] | None = field(default=None, init=False, repr=False)
    _products: set[int] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.pieces)
        if len(self.token_bytes) != n or len(self.kinds) != n:
            raise ValueError("pieces, token_bytes and kinds must have one entry per id")

    @property
    def implementation(self) -> str:
        return self.backend.implementation

    @property
    def vocab_size(self) -> int:
        """Number of ids, holes included (max id + 1)."""
        return len(self.pieces)

    @property
    def ids(self) -> list[int]:
        """The ids that exist (holes left out)."""
        if None not in self.pieces:
            return list(range(len(self.pieces)))
        return [i for i, p in enumerate(self.pieces) if p is not None]

    def is_merge_product(self, token_id: int) -> bool | None:
        """Whether some BPE merge produces this token (None when the format has no merges).

        The cause of an unreachable entry differs when nothing builds it. With the merge
        pairs as strings (tokenizer.json) this checks the splits of one piece instead of
        resolving every merge to ids.
        """
        if self.merge_pairs_factory is not None:
            if self._merge_pairs is None:
                self._merge_pairs = self.merge_pairs_factory()
            piece = self.pieces[token_id] or ""
            pairs = self._merge_pairs
            return any((piece[:k], piece[k:]) in pairs for k in range(1, len(piece)))
        if self._products is None:
            merges = self.bpe_merges()
            if merges is None:
                return None
            self._products = {m[2] for m in merges}
        return token_id in self._products

    def bpe_merges(self) -> list[tuple[int, int, int]] | None:
        """Merges in priority order; formats that only imply them (tiktoken) build them here, once."""
        if self.merges is None and self.merges_factory is not None:
            self.merges = self.merges_factory()
            self.merges_factory = None
        return self.merges

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self.backend.encode_batch(texts)

    def decode_batch(self, seqs: Sequence[Sequence[int]]) -> list[str]:
        return self.backend.decode_batch(seqs)

    def encode_flat(self, texts: Sequence[str]) -> FlatEncodings:
        """encode_batch in array form; backends with a faster path for many short texts use it."""
        fast = getattr(self.backend, "encode_flat", None)
        if fast is not None:
            return fast(texts)
        return FlatEncodings.from_lists(self.backend.encode_batch(texts))

    def decode_each(self, ids: Sequence[int]) -> list[str]:
        """decode([id]) for every id."""
        fast = getattr(self.backend, "decode_each", None)
        if fast is not None:
            return fast(ids)
        return self.backend.decode_batch([[i] for i in ids])

    def encode(self, text: str) -> list[int]:
        return self.backend.encode_batch([text])[0]

    def decode(self, ids: Sequence[int]) -> str:
        return self.backend.decode_batch([ids])[0]

    def normalize(self, text: str) -> str | None:
        return self.backend.normalize(text)

    def pre_tokenize(self, text: str) -> list[str] | None:
        return self.backend.pre_tokenize(text)

    def is_special(self, token_id: int) -> bool:
        """Special/control tokens of the tokenizer itself (its own flags, not a pattern)."""
        return self.kinds[token_id] in (TokenKind.CONTROL, TokenKind.UNKNOWN)

    def describe(self) -> dict[str, Any]:
        """The artifact entry of a report."""
        return {
            "path": self.path,
            "format": self.format,
            "vocab_size": self.vocab_size,
            "implementation": self.implementation,
            "model_type": self.model_type,
            "byte_level": self.byte_level,
        }


def token_content(value: Any) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or {"content": ...}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None
