from __future__ import annotations

from collections.abc import Iterator

from auditor.core import Finding, Severity, TokenKind
from auditor.escape import escape_text
from auditor.fixtures import byte_level_bpe, char_bpe
from auditor.probes import PROBE_CHARS, PROBE_VERSION
from auditor.rulebase import Example, Option, Rule, RuleContext

NEVER_IN_UTF8 = frozenset([0xC0, 0xC1, *range(0xF5, 0x100)])


class MissingByteCoverage(Rule):
    """Bytes or characters the tokenizer cannot represent: they become <unk> or vanish.

    ## What it does
    For byte-level BPE and byte-fallback tokenizers, checks that every byte value UTF-8
    text can contain has a token (0xC0, 0xC1 and 0xF5-0xFF never occur in UTF-8, so
    their absence is not reported). For every tokenizer, encodes a fixed set of probe characters
    (ASCII, whitespace, Latin, Greek, Cyrillic, Hebrew, Arabic, Devanagari, Thai,
    CJK, kana, Hangul, emoji, symbols) and reports those that become the unknown
    token or are dropped.

    ## Why it matters
    Text with such characters loses information before the model sees it; a byte-level
    tokenizer missing a byte cannot encode some inputs at all.

    ## Example
    A SentencePiece model trained without `byte_fallback` on English maps every
    Chinese character and emoji to <unk>.

    ## How to fix
    Train with `byte_fallback=True` (SentencePiece) or a byte-level alphabet; keep
    all 256 byte tokens.

    ## Options
    - `max-examples` (default 20): characters listed in the message.
    """

    code = "V105"
    name = "missing-byte-coverage"
    severity = Severity.WARNING
    uses = ()
    options = (Option("max-examples", 20, "characters listed in the message", minimum=1),)
    valid = (
        Example("a full byte-level alphabet", byte_level_bpe([" hello"])),
        Example(
            "only bytes UTF-8 never uses are missing", byte_level_bpe([" hello"], drop_bytes=[0xC0, 0xC1, 0xF5, 0xFF])
        ),
    )
    invalid = (
        Example(
            "a byte-level alphabet missing byte 0xE4: the byte, and the CJK probes that need it",
            byte_level_bpe([" hello"], drop_bytes=[0xE4]),
            flagged=("", ""),
            details=({"missing_bytes": [0xE4]}, {"groups": ["cjk"], "lost": lambda lost: "中" in lost}),
        ),
        Example(
            "missing control bytes, but not the bytes UTF-8 never uses",
            byte_level_bpe([" hello"], drop_bytes=[0x04, 0xC0, 0xFF]),
            flagged=("",),
            message="byte values that UTF-8 text can contain have no token: 0x04;",
            details={"missing_bytes": [0x04], "missing_never_in_utf8": [0xC0, 0xFF]},
        ),
        Example(
            "a character BPE with <unk>: characters outside its alphabet are lost",
            char_bpe("abcdefghijklmnopqrstuvwxyz", ["hello"]),
            flagged=("",),
            message="probe characters become <unk> or are dropped",
            details={"lost": lambda lost: "中" in lost and "A" in lost and "a" not in lost},
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        view = ctx.view
        limit = ctx.options["max-examples"]
        byte_based = view.byte_level or view.facts.byte_fallback
        if byte_based:
            have = {
                token_bytes[0]
                for tid, token_bytes in enumerate(view.token_bytes)
                if token_bytes is not None
                and len(token_bytes) == 1
                and (view.byte_level or view.kinds[tid] == TokenKind.BYTE)
            }
            # 0xC0, 0xC1 and 0xF5-0xFF never occur in UTF-8 text: their absence is harmless
            missing = [byte for byte in range(256) if byte not in have and byte not in NEVER_IN_UTF8]
            if missing:
                shown = " ".join(f"0x{byte:02X}" for byte in missing[:limit])
                more = f" and {len(missing) - limit} more" if len(missing) > limit else ""
                yield ctx.finding(
                    f"{len(missing)} byte values that UTF-8 text can contain have no token: {shown}{more}; "
                    "text holding them loses those bytes",
                    missing_bytes=missing,
                    missing_never_in_utf8=[byte for byte in sorted(NEVER_IN_UTF8) if byte not in have],
                )
        lost = self._lost_probes(ctx)
        if lost:
            shown = " ".join(f'"{escape_text(ch)}"' for _group, ch in lost[:limit])
            more = f" and {len(lost) - limit} more" if len(lost) > limit else ""
            groups = sorted({group for group, _ch in lost})
            yield ctx.finding(
                f"{len(lost)} of {len(PROBE_CHARS)} probe characters become <unk> or are dropped "
                f"({', '.join(groups)}): {shown}{more}",
                lost=[ch for _group, ch in lost],
                groups=groups,
                probe_version=PROBE_VERSION,
            )

    @staticmethod
    def _lost_probes(ctx: RuleContext) -> list[tuple[str, str]]:
        view = ctx.view
        chars = [ch for _group, ch in PROBE_CHARS]
        encoded = view.encode_batch(chars)
        decoded = view.decode_batch(encoded)
        lost = []
        for (group, ch), ids, text in zip(PROBE_CHARS, encoded, decoded):
            if view.unk_id is not None and view.unk_id in ids:
                lost.append((group, ch))
            elif not ch.isspace() and (not ids or not text.strip()):
                lost.append((group, ch))
            elif "\ufffd" in text:  # some of its bytes were dropped
                lost.append((group, ch))
        return lost
