from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity, TokenKind
from auditor.fixtures import byte_level_bpe
from auditor.rulebase import Example, Option, Rule, RuleContext


class DuplicateTokenBytes(Rule):
    """Two token ids that stand for the same bytes.

    ## What it does
    Groups tokens by the exact bytes they represent and flags, in each group, every id
    other than the one that encoding the text produces (the dead copies). Control tokens (no bytes) are ignored. Byte-fallback pieces
    (`<0x41>`) duplicate the normal piece of the same character by design, so they
    are ignored unless `include-byte-fallback` is set. WordPiece continuation pieces
    (`##ing`) are compared only with other continuation pieces.

    ## Why it matters
    Only one id of a group is produced by encoding; the others are unreachable and
    their embedding rows stay untrained. Duplicates usually come from added tokens
    that repeat a vocabulary entry, or from a merge of vocabularies.

    ## Example
    GPT-NeoX-20B adds "  " (two spaces) as a token although "ĠĠ" is already in the
    vocabulary.

    ## How to fix
    Drop the added token, or remove the vocabulary entry and its merges.

    ## Options
    - `include-byte-fallback` (default false): also report byte-fallback pieces that
      duplicate a normal piece.
    """

    code = "V103"
    name = "duplicate-token-bytes"
    severity = Severity.WARNING
    uses = ("vocabulary",)
    options = (Option("include-byte-fallback", False, "also report <0xNN> pieces duplicating a normal piece"),)
    valid = (Example("distinct tokens", byte_level_bpe([" hello", "hello"])),)
    invalid = (
        Example(
            "an added token repeats a vocabulary entry",
            byte_level_bpe([" hello", " hi"], added=[{"content": " hi", "special": False}]),
            flagged=(" hi",),
            message="same bytes as token 262 (user_defined), which is the one encoding produces",
            details={"duplicate_of": 262, "group": [261, 262]},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        view = ctx.view
        include_bytes = ctx.options["include-byte-fallback"]
        prefix = view.continuation_prefix
        first_of: dict[tuple[bytes, bool], int] = {}
        groups: dict[tuple[bytes, bool], list[int]] = {}
        for tid, token_bytes in enumerate(view.token_bytes):
            if token_bytes is None:
                continue
            key = (token_bytes, bool(prefix and (view.pieces[tid] or "").startswith(prefix)))
            first = first_of.setdefault(key, tid)
            if first != tid:
                groups.setdefault(key, [first]).append(tid)
        vocab = ctx.analysis("vocabulary")
        for ids in sorted(groups.values()):
            kinds = [view.kinds[i] for i in ids]
            if not include_bytes and TokenKind.BYTE in kinds:
                # a byte piece next to one normal piece is by design: keep the non-byte ones
                ids = [i for i, kind in zip(ids, kinds) if kind != TokenKind.BYTE]
                if len(ids) < 2:
                    continue
            # The id that encoding produces is the live one; the others are the dead copies.
            produced = [i for i in ids if vocab.categories[i] is not None and vocab.categories[i].reachable]
            live = produced[0] if produced else ids[0]
            for tid in ids:
                if tid == live:
                    continue
                yield ctx.finding(
                    f"same bytes as token {live} ({view.kinds[live].value}), which is the one encoding produces"
                    if produced
                    else f"same bytes as token {live} ({view.kinds[live].value}); encoding produces neither",
                    token_id=tid,
                    duplicate_of=live,
                    group=list(ids),
                )
