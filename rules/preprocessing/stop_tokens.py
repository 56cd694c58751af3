from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from auditor.analyses.preprocessing import config_file
from auditor.core import Finding, Severity, TokenizerView, TokenKind, token_content
from auditor.escape import escape_text
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext

# Jinja names of the tokenizer's own special tokens, as chat templates write them.
_TEMPLATE_VARIABLES = ("eos_token", "bos_token")
# How far after a message's content the template writes the turn's closing token.
_AFTER_CONTENT = 80


def _ids(value: Any) -> list[int] | None:
    """An `eos_token_id` value (an int or a list of ints), or None when absent or malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(value)
    return None


def _model_config_ids(data: dict[str, Any]) -> list[int] | None:
    """config.json's eos_token_id, also where multimodal configs nest it (text_config)."""
    found = _ids(data.get("eos_token_id"))
    if found is None and isinstance(data.get("text_config"), dict):
        found = _ids(data["text_config"].get("eos_token_id"))
    return found


def _specials(view: TokenizerView) -> dict[str, int]:
    """Text -> id of the tokens a template can write literally: control and added tokens."""
    out: dict[str, int] = {}
    for at in view.added_tokens:
        out.setdefault(at.content, at.id)
    for tid, kind in enumerate(view.kinds):
        piece = view.pieces[tid]
        if piece and kind in (TokenKind.CONTROL, TokenKind.USER_DEFINED):
            out.setdefault(piece, tid)
    return out


def _token_id(view: TokenizerView, text: str | None) -> int | None:
    if not text:
        return None
    found = _specials(view).get(text)
    if found is not None:
        return found
    return next((i for i, p in enumerate(view.pieces) if p == text), None)


def stop_sources(view: TokenizerView) -> dict[str, list[int]]:
    """Every place that names the end-of-sequence / stop ids, with the ids it names."""
    out: dict[str, list[int]] = {}
    generation = _ids(config_file(view, "generation_config.json").get("eos_token_id"))
    if generation is not None:
        out["generation_config.json eos_token_id"] = generation
    model = _model_config_ids(config_file(view, "config.json"))
    if model is not None:
        out["config.json eos_token_id"] = model
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        text = token_content(config_file(view, name).get("eos_token"))
        tid = _token_id(view, text)
        if text and tid is not None:
            out[f"{name} eos_token"] = [tid]
    info = view.facts.gguf if isinstance(view.facts.gguf, dict) else {}
    gguf = [info[k] for k in ("eos_token_id", "eot_token_id", "eom_token_id") if isinstance(info.get(k), int)]
    if gguf:
        out["GGUF tokenizer.ggml.eos/eot/eom_token_id"] = sorted(set(gguf))
    return out


def template_turn_end(view: TokenizerView, template: str) -> tuple[int, str] | None:
    """The token the chat template writes right after a message's content: the end of a turn.

    The most frequent special token (or `eos_token` variable) in the text that follows
    each `content` expression; None when the template writes none there.
    """
    specials = _specials(view)
    names = sorted((t for t in specials if len(t) > 1 and t in template), key=len, reverse=True)
    variables = {}
    for var in _TEMPLATE_VARIABLES:
        tid = _token_id(view, token_content(config_file(view, "tokenizer_config.json").get(var)))
        if tid is not None:
            variables[var] = tid
    if not names and not variables:
        return None
    pattern = re.compile("|".join([re.escape(n) for n in names] + [rf"\b{v}\b" for v in variables]))
    seen: Counter[tuple[int, str]] = Counter()
    for m in re.finditer(r"content", template):
        after = template[m.end() : m.end() + _AFTER_CONTENT]
        hit = pattern.search(after)
        if hit is None:
            continue
        text = hit.group()
        if text in variables:
            seen[(variables[text], text)] += 1
        elif text != "bos_token":
            seen[(specials[text], text)] += 1
    if not seen:
        return None
    return min(seen, key=lambda k: (-seen[k], k[0]))


def _spec_with(*tokens: str) -> dict:
    return byte_level_bpe([" hello"], added=[{"content": t, "special": True} for t in tokens])


def _id_of(spec: dict, content: str) -> int:
    return next(t["id"] for t in spec["added_tokens"] if t["content"] == content)


CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_QWEN = _spec_with("<|endoftext|>", "<|im_start|>", "<|im_end|>")
_EOT, _IM_END = _id_of(_QWEN, "<|endoftext|>"), _id_of(_QWEN, "<|im_end|>")


class StopTokenMismatch(Rule):
    """The end-of-turn token of the chat template is not a stop token, or the stop ids disagree.

    ## What it does
    Collects the ids that say "stop here": `eos_token_id` of generation_config.json
    and of config.json, `eos_token` of tokenizer_config.json and special_tokens_map.json,
    a GGUF's `tokenizer.ggml.eos_token_id` / `eot_token_id` / `eom_token_id`, and the
    token the chat template writes right after each message's content (the end of a turn).
    Flags a turn-end token that the generation stop ids (generation_config.json, else
    config.json, else the GGUF ids) do not hold, and a config.json and a
    generation_config.json whose ids have nothing in common. A stop id that is no token
    of the vocabulary is flagged too.

    ## Why it matters
    Generation stops on the stop ids only. When the template ends assistant turns with
    `<|im_end|>` but generation stops on `<|endoftext|>`, the model writes the end of its
    turn and goes on talking, inventing the user's next message (Qwen3 issue 927 and
    many fine-tunes). Fine-tuning with the wrong EOS teaches the model never to stop.

    ## Example
    A ChatML template (`... {{ m['content'] }}<|im_end|>`) with
    generation_config.json `eos_token_id` set to `<|endoftext|>` only.

    ## How to fix
    Put the template's end-of-turn id in generation_config.json `eos_token_id` (a list
    may hold several: `[<|im_end|>, <|endoftext|>]`) and make config.json agree.

    ## References
    docs/defects.md (stop tokens); Qwen3 issue 927; transformers GenerationConfig `eos_token_id`.
    """

    code = "P113"
    name = "stop-token-mismatch"
    severity = Severity.WARNING
    valid = (
        Example(
            "the template's <|im_end|> is a generation stop id",
            _QWEN,
            files={
                "tokenizer_config.json": {"eos_token": "<|im_end|>", "chat_template": CHATML},
                "generation_config.json": {"eos_token_id": [_IM_END, _EOT]},
                "config.json": {"eos_token_id": _IM_END},
            },
        ),
        Example("no stop ids anywhere", _QWEN, files={"tokenizer_config.json": {"chat_template": CHATML}}),
    )
    invalid = (
        Example(
            "generation stops on <|endoftext|>, the template ends turns with <|im_end|>",
            _QWEN,
            files={
                "tokenizer_config.json": {"eos_token": "<|endoftext|>", "chat_template": CHATML},
                "generation_config.json": {"eos_token_id": _EOT},
            },
            flagged=("<|im_end|>",),
            message="ends each turn with",
            details={"turn_end": _IM_END, "stop_ids": [_EOT], "stop_source": "generation_config.json eos_token_id"},
        ),
        Example(
            "config.json and generation_config.json name different ids",
            _QWEN,
            files={"generation_config.json": {"eos_token_id": _IM_END}, "config.json": {"eos_token_id": _EOT}},
            flagged=("",),
            message="have no id in common",
            details={"generation": [_IM_END], "config": [_EOT]},
        ),
        Example(
            "a stop id beyond the vocabulary",
            _QWEN,
            files={"generation_config.json": {"eos_token_id": [_IM_END, 99999]}},
            flagged=("",),
            message="is not a token",
            details={"id": 99999},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        view = ctx.view
        sources = stop_sources(view)
        for source, ids in sources.items():
            for tid in ids:
                if not 0 <= tid < view.vocab_size or view.pieces[tid] is None:
                    yield ctx.finding(
                        f"{source} names id {tid}, which is not a token of this {view.vocab_size}-id vocabulary",
                        source=source,
                        id=tid,
                    )
        generation = sources.get("generation_config.json eos_token_id")
        model = sources.get("config.json eos_token_id")
        if generation is not None and model is not None and not set(generation) & set(model):
            yield ctx.finding(
                f"config.json eos_token_id {model} and generation_config.json eos_token_id {generation} have no id"
                " in common: generate() stops on the latter, other runtimes read the former",
                generation=generation,
                config=model,
            )
        stop_source = next(
            (s for s in sources if s.startswith(("generation_config", "config.json", "GGUF"))),
            None,
        )
        template = view.facts.chat_template() or (view.facts.gguf or {}).get("chat_template")
        if stop_source is None or not isinstance(template, str):
            return
        end = template_turn_end(view, template)
        if end is None:
            return
        tid, text = end
        stops = sources[stop_source]
        if tid not in stops:
            shown = ", ".join(f'{i} "{escape_text(view.pieces[i] or "?")}"' for i in stops if 0 <= i < view.vocab_size)
            yield ctx.finding(
                f'the chat template ends each turn with "{escape_text(view.pieces[tid] or text)}" (id {tid}), '
                f"but generation stops on {stop_source} = {shown or stops}: the model talks past its turn",
                token_id=tid,
                turn_end=tid,
                stop_ids=stops,
                stop_source=stop_source,
            )
