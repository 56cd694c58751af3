from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor.analyses.preprocessing import config_file, pipeline_parts
from auditor.core import Finding, Severity, TokenizerView, token_content
from auditor.escape import escape_text
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Rule, RuleContext


def _gguf(view: TokenizerView) -> dict[str, Any]:
    info = view.facts.gguf
    return info if isinstance(info, dict) else {}


def _special_token(view: TokenizerView, role: str) -> str | None:
    """The BOS/EOS text named by tokenizer_config.json, special_tokens_map.json or the GGUF metadata."""
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        value = token_content(config_file(view, name).get(f"{role}_token"))
        if value:
            return value
    tid = _gguf(view).get(f"{role}_token_id")
    if isinstance(tid, int) and 0 <= tid < view.vocab_size:
        return view.pieces[tid]
    return None


def _template_items(node: dict[str, Any], key: str) -> list[Any]:
    items = node.get(key)
    return items if isinstance(items, list) else []


def _post_processor_adds(view: TokenizerView, role: str, token: str | None) -> str | None:
    """Why the tokenizer itself adds BOS (role 'bos', at the start) or EOS ('eos', at the end)."""
    flag = config_file(view, "tokenizer_config.json").get(f"add_{role}_token")
    if flag is True:
        return f"tokenizer_config.json add_{role}_token=true"
    if _gguf(view).get(f"add_{role}_token") is True:
        return f"GGUF tokenizer.ggml.add_{role}_token=true"
    for part in pipeline_parts(view, "post_processor"):
        kind = part.get("type")
        if kind == "TemplateProcessing":
            single = _template_items(part, "single")
            edge = single[0] if role == "bos" and single else (single[-1] if role == "eos" and single else None)
            special = edge.get("SpecialToken") if isinstance(edge, dict) else None
            if isinstance(special, dict) and (token is None or special.get("id") == token):
                return f'the post-processor adds "{escape_text(str(special.get("id")))}"'
        elif kind in ("BertProcessing", "RobertaProcessing"):
            pair = part.get("cls" if role == "bos" else "sep")
            if isinstance(pair, list) and pair and (token is None or pair[0] == token):
                return f'the post-processor {kind} adds "{escape_text(str(pair[0]))}"'
    return None


def _template_adds(template: str, role: str, token: str | None) -> str | None:
    if re.search(rf"\b{role}_token\b", template):
        return f"the chat template writes {role}_token"
    if token and token in template:
        return f'the chat template writes "{escape_text(token)}"'
    return None


LLAMA3_LIKE = {
    "type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
    "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [256], "tokens": ["<|begin_of_text|>"]}},
}
TEMPLATE = "{{ bos_token }}{% for m in messages %}<|start|>{{ m['content'] }}<|end|>{% endfor %}"


def _with_post_processor() -> dict:
    spec = byte_level_bpe([" hello"], added=[{"content": "<|begin_of_text|>", "special": True}])
    spec["post_processor"] = LLAMA3_LIKE
    return spec


class DuplicateBosEos(Rule):
    """BOS (or EOS) added both by the tokenizer and by the chat template.

    ## What it does
    Reads the chat template (tokenizer_config.json `chat_template`,
    chat_template.json, chat_template.jinja, or a GGUF's `tokenizer.chat_template`) and
    the tokenizer's own special-token insertion (`add_bos_token`/`add_eos_token`, the
    tokenizer.json post-processor, GGUF `tokenizer.ggml.add_bos_token`).
    Flags BOS when both put it at the start of a prompt, and EOS when both append it.

    ## Why it matters
    Text rendered by the template already starts with BOS; encoding it with the
    default `add_special_tokens=True` (as most serving and fine-tuning code does) adds
    another. The model was trained with one: two BOS degrade generation quietly, and
    fine-tuning on such data teaches the wrong format (docs/defects.md #10).

    ## Example
    A Llama 3-style tokenizer: the post-processor prepends `<|begin_of_text|>` and
    the chat template starts with `{{ bos_token }}`.

    ## How to fix
    Keep BOS in one place: drop `bos_token` from the template or the post-processor,
    or always encode rendered templates with `add_special_tokens=False`.

    ## References
    docs/defects.md #10 (transformers issue 30947; llama-cpp-python issue 1501).
    """

    code = "P106"
    name = "duplicate-bos-eos"
    severity = Severity.WARNING
    valid = (
        Example(
            "the template adds BOS, the tokenizer does not",
            byte_level_bpe([" hello"], added=[{"content": "<|begin_of_text|>", "special": True}]),
            files={"tokenizer_config.json": {"bos_token": "<|begin_of_text|>", "chat_template": TEMPLATE}},
        ),
    )
    invalid = (
        Example(
            "post-processor and template both add BOS",
            _with_post_processor(),
            files={"tokenizer_config.json": {"bos_token": "<|begin_of_text|>", "chat_template": TEMPLATE}},
            flagged=("",),
            message="BOS added twice at the start of a chat prompt",
            details={
                "role": "bos",
                "tokenizer": 'the post-processor adds "<|begin_of_text|>"',
                "template": "the chat template writes bos_token",
            },
        ),
        Example(
            "add_bos_token and a template in chat_template.jinja",
            byte_level_bpe([" hello"], added=[{"content": "<s>", "special": True}]),
            files={
                "tokenizer_config.json": {"bos_token": "<s>", "add_bos_token": True},
                "chat_template.jinja": "<s>{% for m in messages %}{{ m['content'] }}{% endfor %}",
            },
            flagged=("",),
            message="BOS added twice at the start of a chat prompt",
            details={
                "role": "bos",
                "tokenizer": "tokenizer_config.json add_bos_token=true",
                "template": 'the chat template writes "<s>"',
            },
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        template = ctx.view.facts.chat_template() or _gguf(ctx.view).get("chat_template")
        if not template:
            return
        for role in ("bos", "eos"):
            token = _special_token(ctx.view, role)
            by_tokenizer = _post_processor_adds(ctx.view, role, token)
            by_template = _template_adds(template, role, token)
            if by_tokenizer and by_template:
                where = "start" if role == "bos" else "end"
                yield ctx.finding(
                    f"{role.upper()} added twice at the {where} of a chat prompt: {by_tokenizer}, and {by_template};"
                    " encoding the rendered template with special tokens gives two",
                    role=role,
                    token=token,
                    tokenizer=by_tokenizer,
                    template=by_template,
                )
