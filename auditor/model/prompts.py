"""The verification prompts of `docs/method.md` §3: templates, placeholder, id-level prompts.

A prompt is written once with a placeholder token's text, encoded once (with the
tokenizer's default BOS), and every occurrence of the placeholder id is then replaced
by the candidate id, so a candidate never passes through the tokenizer (it may be a
token the tokenizer could never produce from text). All candidates of one template
share one id sequence and the placeholder positions: their prompts have equal
length and batch without padding.

Only tokenizer calls here (through the `TokenizerView`); no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.core import TokenizerView, TokenKind, UserError


@dataclass(frozen=True)
class PromptTemplate:
    """One of the paper's templates: (name, n_repeats, preamble, input_phrase, completion)."""

    name: str
    n_repeats: int
    preamble: str
    input_phrase: str
    completion: str

    def text(self, token_text: str) -> str:
        """preamble + (input + completion) * n + input + completion up to its '{'."""
        stem = self.completion[: self.completion.index("{")]
        body = (self.input_phrase + self.completion) * self.n_repeats + self.input_phrase + stem
        return self.preamble + body.replace("{token}", token_text)

    @property
    def slots(self) -> int:
        """How many times the token appears in the prompt text."""
        return (self.n_repeats + 1) * self.input_phrase.count("{token}") + self.n_repeats * self.completion.count(
            "{token}"
        )


# Verbatim from docs/method.md §3 (the paper's reference): do not edit, results depend on it.
TEMPLATES: tuple[PromptTemplate, ...] = (
    PromptTemplate(
        "input_output",
        20,
        "This device repeats its input exactly, as shown in these 100 identical trials.",
        "\nInput: «{token}»\nOutput:",
        " «{token}»",
    ),
    PromptTemplate(
        "assistant_explain",
        0,
        "This helpful assistant explains what a phrase means, replying with identical responses to identical questions for reliability.",
        "\nUser: What does 'edslfkj' mean?\nAssistant: 'edslfkj' has no specific meaning I am aware of.\nUser: what does '{token}' mean?\nAssistant:",
        " '{token}'",
    ),
    PromptTemplate(
        "repeats",
        50,
        "Below is the output, as you can see it's just giving the same phrase repeated indefinitely:\n",
        "{token}",
        "{token}",
    ),
)
TEMPLATE_NAMES: tuple[str, ...] = tuple(t.name for t in TEMPLATES)


@dataclass(frozen=True)
class EncodedPrompt:
    """A template encoded with the placeholder: the ids and where the candidate goes."""

    template: PromptTemplate
    ids: tuple[int, ...]
    positions: tuple[int, ...]  # indices of the placeholder id in `ids`, ascending

    def with_token(self, token_id: int) -> list[int]:
        """The prompt of one candidate (the reference's id-level substitution)."""
        ids = list(self.ids)
        for pos in self.positions:
            ids[pos] = token_id
        return ids


@dataclass(frozen=True)
class PromptSet:
    """The placeholder and the three encoded prompts, with the special ids put in front."""

    placeholder_id: int
    placeholder_text: str
    prefix_ids: tuple[int, ...]  # the tokenizer's default BOS (or nothing)
    prompts: tuple[EncodedPrompt, ...]

    def by_name(self, name: str) -> EncodedPrompt:
        for p in self.prompts:
            if p.template.name == name:
                return p
        raise KeyError(name)


def default_prefix_ids(view: TokenizerView) -> tuple[int, ...]:
    """The ids the tokenizer puts in front of a text by default (its BOS), as HF/llama.cpp do.

    tokenizer.json: what its post-processor adds; transformers folders: what the tokenizer
    adds; GGUF: `tokenizer.ggml.add_bos_token` (llama.cpp's default when absent: BOS for
    SentencePiece vocabularies, none for BPE); SentencePiece .model: BOS when the model
    has one (as the HF Llama tokenizers do); tiktoken: nothing.
    """
    backend = view.backend
    inner = getattr(backend, "_tok", None)
    if view.format == "gguf":
        info = view.facts.gguf or {}
        add = info.get("add_bos_token")
        if add is None:
            add = info.get("model") == "llama"
        bos = info.get("bos_token_id")
        return (int(bos),) if add and bos is not None and 0 <= bos < view.vocab_size else ()
    if inner is not None and hasattr(inner, "encode") and hasattr(inner, "post_processor"):  # tokenizers
        with_special = inner.encode("a", add_special_tokens=True).ids
        plain = inner.encode("a", add_special_tokens=False).ids
        return _leading(with_special, plain)
    if inner is not None and callable(inner):  # transformers tokenizer
        with_special = inner("a", add_special_tokens=True)["input_ids"]
        plain = inner("a", add_special_tokens=False)["input_ids"]
        return _leading(with_special, plain)
    sp = getattr(backend, "_sp", None)
    if sp is not None:
        bos = sp.bos_id()
        return (int(bos),) if bos is not None and bos >= 0 else ()
    return ()


def _leading(with_special: Sequence[int], plain: Sequence[int]) -> tuple[int, ...]:
    """The ids before `plain` inside `with_special` (none when plain is not found there)."""
    n = len(plain)
    for start in range(len(with_special) - n + 1):
        if list(with_special[start : start + n]) == list(plain):
            return tuple(int(i) for i in with_special[:start])
    return ()


def placeholder_candidates(view: TokenizerView) -> list[int]:
    """Long alphabetic tokens, longest first (ties: lowest id): the placeholder is picked
    from these. A leading space is allowed (`Ġword`, `▁word`), nothing else."""
    scored: list[tuple[int, int]] = []
    for i, raw in enumerate(view.token_bytes):
        if raw is None or view.kinds[i] != TokenKind.NORMAL:
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        word = text[1:] if text.startswith(" ") else text
        if len(word) >= 2 and word.isascii() and word.isalpha():
            scored.append((-len(word), i))
    scored.sort()
    return [i for _, i in scored]


def build_prompts(
    view: TokenizerView,
    *,
    prefix_ids: Sequence[int] | None = None,
    placeholder_id: int | None = None,
    max_tries: int = 500,
) -> PromptSet:
    """Pick the placeholder and encode the three prompts.

    The placeholder `p` is the longest alphabetic token that is OK (`encode(decode([p]))
    == [p]`, not special) with `encode(decode([p, p])) == [p, p]` — docs/method.md §3 — and,
    checked here too, that appears in each encoded prompt exactly as often as the
    template holds the token (so that no candidate slot is lost to a merge with its
    neighbours). `placeholder_id` forces one; it must pass the same checks.
    """
    prefix = tuple(default_prefix_ids(view) if prefix_ids is None else prefix_ids)
    if placeholder_id is not None:
        if not 0 <= placeholder_id < view.vocab_size or view.pieces[placeholder_id] is None:
            raise UserError(f"placeholder token {placeholder_id} cannot be used: the tokenizer has no such id")
        order = [placeholder_id]
    else:
        order = placeholder_candidates(view)[:max_tries]
    # Tokenizers that prepend a space (SentencePiece's dummy prefix) turn "word" alone into
    # "▁word": as in the vocabulary analysis (docs/method.md §1), the round trips are then
    # checked after a sentinel, and the token's own text goes into the prompts.
    sentinel = _space_sentinel(view)
    reasons: list[str] = []
    chunk = 32
    for start in range(0, len(order), chunk):
        ids = order[start : start + chunk]
        if sentinel is None:
            singles = view.decode_batch([[i] for i in ids])
            doubles = view.decode_batch([[i, i] for i in ids])
        else:
            singles = [(view.token_bytes[i] or b"").decode("utf-8", "replace") for i in ids]
            doubles = [t + t for t in singles]
        enc_single = _encode_after(view, singles, sentinel)
        enc_double = _encode_after(view, doubles, sentinel)
        for k, p in enumerate(ids):
            if view.is_special(p):
                reasons.append(f"{p}: special")
                continue
            if enc_single[k] != [p] or enc_double[k] != [p, p]:
                reasons.append(f"{p}: does not round-trip alone and doubled")
                continue
            prompts = _encode_all(view, p, singles[k], prefix)
            if prompts is None:
                reasons.append(f"{p}: merges with its neighbours in a prompt")
                continue
            return PromptSet(placeholder_id=p, placeholder_text=singles[k], prefix_ids=prefix, prompts=prompts)
    if placeholder_id is not None:
        raise UserError(
            f"placeholder token {placeholder_id} cannot be used: {reasons[-1] if reasons else 'no such token'}"
        )
    raise UserError(
        "no placeholder token for the verification prompts: the tokenizer has no long alphabetic token that "
        "round-trips alone, doubled and inside the three prompts"
    )


def _space_sentinel(view: TokenizerView) -> str | None:
    """« when the tokenizer prepends a space marker to a text (dummy prefix), else None."""
    ids = view.encode("test")
    if not ids:
        return None
    piece = view.pieces[ids[0]] or ""
    return "«" if piece[:1] in ("▁", " ") else None


def _encode_after(view: TokenizerView, texts: list[str], sentinel: str | None) -> list[list[int] | None]:
    """encode(text) for each text; after `sentinel` (then dropped) when one is needed."""
    if sentinel is None:
        return [list(ids) for ids in view.encode_batch(texts)]
    base = list(view.encode(sentinel))
    out: list[list[int] | None] = []
    for ids in view.encode_batch([sentinel + t for t in texts]):
        ids = list(ids)
        out.append(ids[len(base) :] if ids[: len(base)] == base else None)
    return out


def _encode_all(
    view: TokenizerView, placeholder: int, text: str, prefix: tuple[int, ...]
) -> tuple[EncodedPrompt, ...] | None:
    texts = [t.text(text) for t in TEMPLATES]
    encoded = view.encode_batch(texts)
    out = []
    for template, ids in zip(TEMPLATES, encoded):
        full = tuple(prefix) + tuple(int(i) for i in ids)
        positions = tuple(k for k, i in enumerate(full) if i == placeholder)
        if len(positions) != template.slots or (positions and positions[0] < len(prefix)):
            return None
        out.append(EncodedPrompt(template=template, ids=full, positions=positions))
    return tuple(out)
