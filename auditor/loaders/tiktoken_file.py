"""tiktoken rank files (`base64(token bytes) rank` per line): `.tiktoken`, Llama 3/4 `tokenizer.model`.

A rank file holds only the byte-level BPE ranks. The pre-tokenizer pattern, the special
tokens and the Unicode normalisation some models apply before encoding (Qwen: NFC) come
from a preset (see `PRESETS`), from `--pattern` / `--special` / `--normalize`, or are
guessed from the number of ranks.
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from auditor.core import (
    InputError,
    TokenizerFacts,
    TokenizerView,
    TokenKind,
    UserError,
    first_line,
    is_error_or_panic,
)
from auditor.loaders.bytelevel import bytes_to_piece
from auditor.loaders.view import check_id_space, worker_threads

# The patterns tiktoken itself uses (tiktoken_ext/openai_public.py); a test compares
# them with the installed tiktoken so they cannot drift.
_GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
_CL100K_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_LLAMA3_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
# Qwen's pattern is Llama 3's with single digits (Qwen's tokenization_qwen.py, transformers' Qwen2Tokenizer).
_QWEN_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
# Whisper keeps the GPT-2 release's pattern, not tiktoken's faster rewrite of it.
_WHISPER_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def _llama3_specials() -> dict[str, int]:
    names = [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>",
        "<|reserved_special_token_2|>",
        "<|reserved_special_token_3|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|reserved_special_token_4|>",
        "<|eot_id|>",
    ] + [f"<|reserved_special_token_{i}|>" for i in range(5, 256 - 5)]
    return {name: 128000 + i for i, name in enumerate(names)}


def _llama4_specials() -> dict[str, int]:
    """Llama 4's 2,048 special ids after the 200,000 ranks (llama-models' llama4/tokenizer.py):
    the named tokens in their order, then `<|reserved_special_token_N|>` up to 2,048."""

    def reserved(kind: str, count: int, start: int) -> list[str]:
        return [f"<|{kind}_reserved_special_token_{i}|>" for i in range(start, start + count)]

    names = [
        *("<|begin_of_text|>", "<|end_of_text|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"),
        *("<|header_start|>", "<|header_end|>", "<|eom|>", "<|eot|>", "<|step|>"),
        *reserved("text_post_train", 6, 0),
        *("<|python_start|>", "<|python_end|>", "<|finetune_right_pad|>"),
        *reserved("text_post_train", 61, 8),
        *("<|image_start|>", "<|image_end|>", *reserved("vision", 2, 0), "<|tile_x_separator|>"),
        *("<|tile_y_separator|>", *reserved("vision", 4, 2), "<|image|>", *reserved("vision", 1, 6), "<|patch|>"),
        *reserved("vision", 1041, 7),
        *reserved("reasoning", 8, 0),
        *("<|reasoning_thinking_start|>", "<|reasoning_thinking_end|>"),
    ]
    names += [f"<|reserved_special_token_{i}|>" for i in range(2048 - len(names))]
    return {name: 200000 + i for i, name in enumerate(names)}


# Whisper's language tokens, in its order (whisper/tokenizer.py LANGUAGES); large-v3 adds "yue".
_WHISPER_LANGUAGES = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt "
    "la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc "
    "ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su yue"
).split()


def _whisper_specials(n_languages: int) -> dict[str, int]:
    """Whisper's specials follow its 50,257 ranks: task and language tokens, then 1,501
    timestamps <|0.00|> .. <|30.00|> in steps of 0.02 s (whisper/tokenizer.py get_encoding)."""
    names = [
        "<|endoftext|>",
        "<|startoftranscript|>",
        *(f"<|{code}|>" for code in _WHISPER_LANGUAGES[:n_languages]),
        *("<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"),
        *(f"<|{i // 50}.{2 * (i % 50):02d}|>" for i in range(1501)),
    ]
    return {name: 50257 + i for i, name in enumerate(names)}


def _qwen_specials() -> dict[str, int]:
    """Qwen-1's 208 specials after the 151,643 ranks: <|endoftext|>, <|im_start|>, <|im_end|>,
    <|extra_0|> .. <|extra_204|>.

    A `qwen.tiktoken` file is read by Qwen-1's tokenization_qwen.py (and Qwen-Agent's copy of
    it), which defines exactly these; Qwen 1.5, 2 and 3 ship a tokenizer.json whose own added
    tokens (the first three of these, then version-specific ones) tokaudit reads from that file.
    """
    names = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *(f"<|extra_{i}|>" for i in range(205))]
    return {name: 151643 + i for i, name in enumerate(names)}


@dataclass(frozen=True)
class Preset:
    name: str
    pattern: str
    specials: dict[str, int]
    n_ranks: int | None  # how many ranks the official file has, to guess the preset; None: never guessed
    normalize: str | None = None  # Unicode form applied to text before encoding (NORMAL_FORMS)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset("r50k_base", _GPT2_PATTERN, {"<|endoftext|>": 50256}, 50256),
        Preset("p50k_base", _GPT2_PATTERN, {"<|endoftext|>": 50256}, 50280),
        Preset(
            "cl100k_base",
            _CL100K_PATTERN,
            {
                "<|endoftext|>": 100257,
                "<|fim_prefix|>": 100258,
                "<|fim_middle|>": 100259,
                "<|fim_suffix|>": 100260,
                "<|endofprompt|>": 100276,
            },
            100256,
        ),
        Preset("o200k_base", _O200K_PATTERN, {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}, 199998),
        Preset("llama3", _LLAMA3_PATTERN, _llama3_specials(), 128000),
        Preset("llama4", _O200K_PATTERN, _llama4_specials(), 200000),
        Preset("qwen", _QWEN_PATTERN, _qwen_specials(), 151643, normalize="nfc"),
        # multilingual.tiktoken: a byte-level BPE refitted for many languages; its rank 50256 is the empty token
        Preset("whisper", _WHISPER_PATTERN, _whisper_specials(99), 50257),
        Preset("whisper_large_v3", _WHISPER_PATTERN, _whisper_specials(100), None),
    ]
}

_Form = Literal["NFC", "NFD", "NFKC", "NFKD"]
# --normalize values: a unicodedata form, or "none" to turn a preset's normaliser off.
NORMAL_FORMS = ("nfc", "nfkc", "nfd", "nfkd")
NORMALIZE_CHOICES = ("none", *NORMAL_FORMS)


def looks_like_tiktoken(head: bytes) -> bool:
    """True when the first line is `base64 integer`."""
    line = head.split(b"\n", 1)[0].strip()
    parts = line.split()
    if len(parts) != 2 or not parts[1].isdigit():
        return False
    try:
        base64.b64decode(parts[0], validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def parse_ranks(path: Path, data: bytes) -> dict[bytes, int]:
    """Parse a rank file, naming the first bad line precisely."""
    ranks: dict[bytes, int] = {}
    line_of_rank: dict[int, int] = {}
    for lineno, raw in enumerate(data.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise InputError(path, f"line {lineno}: expected 'base64 rank', got {raw[:60]!r}")
        token = b64_token(parts[0])
        if token is None:
            raise InputError(path, f"line {lineno}: {parts[0][:40]!r} is not base64")
        rank = int(parts[1])
        if token in ranks:
            raise InputError(path, f"line {lineno}: token bytes {token!r} appear twice")
        if rank in line_of_rank:  # tiktoken would panic (a BaseException) on it
            raise InputError(path, f"line {lineno}: rank {rank} already given on line {line_of_rank[rank]}")
        ranks[token] = rank
        line_of_rank[rank] = lineno
    if not ranks:
        raise InputError(path, "empty tiktoken rank file")
    return ranks


def b64_token(text: bytes) -> bytes | None:
    """The bytes of a base64 token, None when it is not base64.

    Padding alone ("=") is the empty token: tiktoken's loader and Whisper decode it so,
    and Whisper's multilingual.tiktoken holds one (rank 50256)."""
    if text and text.strip(b"=") == b"":
        return b""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_special(spec: str) -> tuple[str, int]:
    """`--special "<|x|>=ID"` -> ("<|x|>", ID)."""
    text, sep, num = spec.rpartition("=")
    if not sep or not text or not num.strip().isdigit():
        raise UserError(f"--special {spec!r}: expected TOKEN=ID, for example '<|endoftext|>=50256'")
    return text, int(num)


class TiktokenBackend:
    """`encode_ordinary` (special tokens are never parsed from text), after the preset's
    Unicode normalisation when it has one."""

    def __init__(self, enc: Any, pattern: str, normalize: str | None = None) -> None:
        import regex
        import tiktoken

        self._enc = enc
        self._pattern = regex.compile(pattern)
        self._form = cast(_Form, normalize.upper()) if normalize else None
        self.implementation = f"tiktoken {tiktoken.__version__}"
        self._threads = worker_threads()

    # tiktoken's own *_batch helpers submit one thread-pool task per text, which costs
    # more than the encoding of a short string; a loop per chunk, one chunk per thread,
    # is 10-20x faster on vocabulary-sized batches.
    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        encode = self._enc.encode_ordinary
        form = self._form
        if form is None:
            return _chunked(lambda chunk: [encode(t) for t in chunk], list(texts), self._threads)
        norm = unicodedata.normalize
        return _chunked(lambda chunk: [encode(norm(form, t)) for t in chunk], list(texts), self._threads)

    def decode_batch(self, seqs: Sequence[Sequence[int]]) -> list[str]:
        decode = self._enc.decode_bytes
        return _chunked(
            lambda chunk: [decode(list(s)).decode("utf-8", "replace") for s in chunk], list(seqs), self._threads
        )

    def normalize(self, text: str) -> str | None:
        return unicodedata.normalize(self._form, text) if self._form else text

    def pre_tokenize(self, text: str) -> list[str] | None:
        return self._pattern.findall(text)


def _chunked(fn, items: list, threads: int) -> list:
    if threads <= 1 or len(items) < 4096:
        return fn(items)
    from concurrent.futures import ThreadPoolExecutor

    size = -(-len(items) // threads)
    chunks = [items[k : k + size] for k in range(0, len(items), size)]
    with ThreadPoolExecutor(threads) as pool:
        return [x for part in pool.map(fn, chunks) for x in part]


def load_tiktoken(
    path: Path,
    data: bytes,
    *,
    preset: str | None = None,
    pattern: str | None = None,
    specials: dict[str, int] | None = None,
    normalize: str | None = None,
    fmt: str = "tiktoken",
) -> TokenizerView:
    """`normalize` ("none" or a form of NORMAL_FORMS) overrides the preset's normaliser."""
    import tiktoken

    ranks = parse_ranks(path, data)
    chosen: Preset | None = None
    if preset is not None:
        if preset not in PRESETS:
            raise UserError(f"unknown --preset {preset!r}; choose one of {', '.join(PRESETS)}")
        chosen = PRESETS[preset]
    elif pattern is None:
        chosen = next((p for p in PRESETS.values() if p.n_ranks == len(ranks)), None)
        if chosen is None:
            raise UserError(
                f"{path}: tiktoken file with {len(ranks)} ranks matches no preset; "
                f"give --preset ({', '.join(PRESETS)}) or --pattern and --special"
            )
    pat = pattern if pattern is not None else chosen.pattern  # type: ignore[union-attr]
    form = _normal_form(normalize, chosen)
    given = dict(specials or {})
    clash = sorted({i for i in given.values() if list(given.values()).count(i) > 1})
    if clash:
        raise UserError(f"--special: id {clash[0]} is given to more than one special token")
    # --special adds to the preset's special tokens, or takes over one of their ids
    special = {t: i for t, i in (chosen.specials if chosen else {}).items() if i not in given.values()}
    special.update(given)
    try:
        import regex

        regex.compile(pat)
    except Exception as exc:
        raise UserError(f"--pattern is not a valid regular expression: {exc}") from None
    # tiktoken panics when it meets a byte without a rank; UTF-8 text never holds 0xC0,
    # 0xC1 or 0xF5-0xFF, so only the others make the file unusable
    never_in_utf8 = {0xC0, 0xC1, *range(0xF5, 0x100)}
    missing = [b for b in range(256) if bytes([b]) not in ranks and b not in never_in_utf8]
    if missing:
        shown = ", ".join(f"0x{b:02X}" for b in missing[:8]) + (", ..." if len(missing) > 8 else "")
        raise InputError(
            path,
            f"{len(missing)} single bytes that UTF-8 text can hold have no rank ({shown}); tiktoken cannot encode them",
        )
    size = max(max(ranks.values()), max(special.values(), default=-1)) + 1
    check_id_space(path, size, len(ranks) + len(special))
    try:
        enc = tiktoken.Encoding(
            name=chosen.name if chosen else path.stem, pat_str=pat, mergeable_ranks=ranks, special_tokens=special
        )
    except BaseException as exc:  # a Rust panic (pyo3 PanicException) is a BaseException
        if not is_error_or_panic(exc):
            raise
        first = first_line(exc)
        raise InputError(path, f"tiktoken rejects these ranks: {first}") from None

    pieces: list[str | None] = [None] * size
    token_bytes: list[bytes | None] = [None] * size
    kinds = [TokenKind.UNUSED] * size
    for tb, rank in ranks.items():
        pieces[rank] = bytes_to_piece(tb)
        token_bytes[rank] = tb
        kinds[rank] = TokenKind.NORMAL
    for text, idx in special.items():
        if pieces[idx] is not None and token_bytes[idx] is None:
            raise UserError(f"--special {text}={idx}: id {idx} is already the special {pieces[idx]}")
        if pieces[idx] is not None and token_bytes[idx] is not None:
            raise UserError(f"--special {text}={idx}: id {idx} is already a rank in {path}")
        pieces[idx] = text
        kinds[idx] = TokenKind.CONTROL
    return TokenizerView(
        path=str(path),
        format=fmt,
        backend=TiktokenBackend(enc, pat, form),
        pieces=pieces,
        token_bytes=token_bytes,
        kinds=kinds,
        byte_level=True,
        model_type="bpe",
        merges_factory=lambda: _merges_from_ranks(ranks),
        facts=TokenizerFacts.of(
            tiktoken_preset=chosen.name if chosen else None,
            tiktoken_pattern=pat,
            tiktoken_specials=special,
            **({"normalizer": {"type": form.upper()}} if form else {}),
        ),
        notes=_notes(chosen, len(ranks), guessed=preset is None and pattern is None, form=form, given=normalize),
    )


def _normal_form(normalize: str | None, chosen: Preset | None) -> str | None:
    """The unicodedata form to apply, lower case, or None: --normalize first, then the preset's."""
    if normalize is None:
        return chosen.normalize if chosen else None
    value = normalize.strip().lower()
    if value not in NORMALIZE_CHOICES:
        raise UserError(f"unknown --normalize {normalize!r}; choose one of {', '.join(NORMALIZE_CHOICES)}")
    return None if value == "none" else value


def _notes(chosen: Preset | None, n_ranks: int, *, guessed: bool, form: str | None, given: str | None) -> list[str]:
    notes = []
    if chosen is not None and guessed:
        notes.append(f"tiktoken preset {chosen.name} guessed from the {n_ranks} ranks (--preset to choose)")
    if form is not None and given is None:
        notes.append(f"preset {chosen.name if chosen else '?'}: text is {form.upper()}-normalised before encoding")
    return notes


def _merges_from_ranks(ranks: dict[bytes, int]) -> list[tuple[int, int, int]]:
    """Recover merges: the pair a token of rank r is made from is what tiktoken's own BPE
    leaves when it runs on the token's bytes with only the ranks below r (the two parts
    it cannot merge further). A token that does not end as two parts is made by no merge."""
    out = []
    for tb, rank in ranks.items():
        if len(tb) < 2:
            continue
        parts = _bpe_below(tb, ranks, rank)
        if len(parts) == 2:
            out.append((ranks[parts[0]], ranks[parts[1]], rank))
    out.sort(key=lambda t: t[2])
    return out


def _bpe_below(token: bytes, ranks: dict[bytes, int], limit: int) -> list[bytes]:
    """tiktoken's byte-pair merge of `token`, using only ranks below `limit`."""
    parts = [token[i : i + 1] for i in range(len(token))]
    while len(parts) > 1:
        best_rank, best_i = limit, -1
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and r < best_rank:
                best_rank, best_i = r, i
        if best_i < 0:
            break
        parts[best_i : best_i + 2] = [parts[best_i] + parts[best_i + 1]]
    return parts
