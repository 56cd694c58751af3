"""Preprocessing facts of one tokenizer: probe round trips, normaliser effects, config parts.

These feed the P rules (configuration lints, probe round trip, behaviour lock). Every
fact is computed from the view: the probe strings go through the backend's batch
encode/decode once, the normaliser runs on the vocabulary only when there is one, so
the whole costs a fraction of a second even on a 256k vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.core import TokenizerView, TokenKind
from auditor.probes import PROBE_STRINGS, PROBE_STRINGS_VERSION


def components(node: Any) -> list[dict[str, Any]]:
    """A normalizer/pre-tokenizer/decoder/post-processor node as a flat list (Sequence expanded)."""
    if not isinstance(node, dict):
        return []
    if node.get("type") == "Sequence":
        out: list[dict[str, Any]] = []
        for key in ("normalizers", "pretokenizers", "pre_tokenizers", "decoders", "processors"):
            for child in node.get(key) or []:
                out.extend(components(child))
        return out
    return [node]


def describe_component(node: dict[str, Any]) -> str:
    """`NFKC`, `Lowercase`, `Replace("\\n" -> " ")`: short, for messages."""
    from auditor.escape import escape_text

    kind = str(node.get("type"))
    if kind == "Replace":
        pattern = node.get("pattern") or {}
        pat = pattern.get("String", pattern.get("Regex", "?")) if isinstance(pattern, dict) else pattern
        return f'Replace("{escape_text(str(pat))}" -> "{escape_text(str(node.get("content", "")))}")'
    if kind == "BertNormalizer":
        flags = [k for k in ("clean_text", "lowercase", "strip_accents", "handle_chinese_chars") if node.get(k)]
        return f"BertNormalizer({', '.join(flags)})"
    return kind


def first_difference(expected: str, got: str, context: int = 12) -> tuple[int, str, str]:
    """(position, expected excerpt, got excerpt) around the first character that differs."""
    n = min(len(expected), len(got))
    pos = next((k for k in range(n) if expected[k] != got[k]), n)
    start = max(0, pos - 4)
    return pos, expected[start : pos + context], got[start : pos + context]


def show_loss(expected: str, got: str) -> str:
    """One readable line: where a text and its round trip part ways."""
    from auditor.escape import escape_text

    pos, a, b = first_difference(expected, got)
    return f'at character {pos}: "{escape_text(a)}" became "{escape_text(b)}"'


# --- probe strings ------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeRun:
    """The probe strings encoded (no BOS/EOS) and decoded again by one tokenizer."""

    version: int
    names: tuple[str, ...]
    texts: tuple[str, ...]
    encodings: tuple[tuple[int, ...], ...]
    decoded: tuple[str, ...]

    def losses(self) -> list[tuple[str, str, str]]:
        """(name, text, decoded) for every probe that does not survive decode(encode(s))."""
        return [(n, t, d) for n, t, d in zip(self.names, self.texts, self.decoded) if t != d]

    def by_name(self) -> dict[str, tuple[int, ...]]:
        return dict(zip(self.names, self.encodings))


def run_probes(view: TokenizerView, probes: Sequence[tuple[str, str]] = PROBE_STRINGS) -> ProbeRun:
    names = tuple(n for n, _ in probes)
    texts = tuple(t for _, t in probes)
    encodings = tuple(tuple(int(i) for i in e) for e in view.encode_batch(list(texts)))
    decoded = tuple(view.decode_batch([list(e) for e in encodings]))
    return ProbeRun(PROBE_STRINGS_VERSION, names, texts, encodings, decoded)


# --- the normaliser ---------------------------------------------------------------------


@dataclass(frozen=True)
class NormalizerEffect:
    """What the tokenizer's normaliser does to probe strings and to its own vocabulary."""

    description: str | None  # None: no normaliser (or the backend cannot run it alone)
    probe_changes: tuple[tuple[str, str, str], ...]  # (name, text, normalised)
    changed_entries: tuple[tuple[int, str, str], ...]  # (id, text, normalised), by id
    entries_checked: int


def _same_text(view: TokenizerView, text: str, normalized: str) -> bool:
    """Equal, once Metaspace-style markers (▁ for spaces, a prepended ▁) are read as spaces."""
    if normalized == text:
        return True
    if view.facts.metaspace:
        marked = normalized.replace("\u2581", " ")
        return marked == text or (marked.startswith(" ") and marked[1:] == text)
    return False


def normalizer_description(view: TokenizerView) -> str | None:
    """A short description of the normaliser, None when the tokenizer has none that acts."""
    norm = view.facts.normalizer
    if view.format == "sentencepiece" or (isinstance(norm, dict) and "remove_extra_whitespaces" in norm):
        if not isinstance(norm, dict):
            return None
        parts = []
        if norm.get("name") not in (None, "identity"):
            parts.append(f"SentencePiece normaliser {norm.get('name')}")
        if norm.get("remove_extra_whitespaces"):
            parts.append("remove_extra_whitespaces")
        return " + ".join(parts) or None
    parts = [describe_component(c) for c in components(norm)]
    # Metaspace markers only (Prepend("▁"), Replace(" " -> "▁")) do not change text.
    acting = [
        p
        for p, c in zip(parts, components(norm))
        if not (c.get("type") == "Prepend" or (c.get("type") == "Replace" and "\u2581" in str(c.get("content", ""))))
    ]
    return " + ".join(parts) if acting else None


def analyze_normalizer(view: TokenizerView, probes: Sequence[tuple[str, str]] = PROBE_STRINGS) -> NormalizerEffect:
    description = normalizer_description(view)
    if description is None or view.normalize("a") is None:
        return NormalizerEffect(None, (), (), 0)
    probe_changes = []
    for name, text in probes:
        out = view.normalize(text)
        if out is not None and not _same_text(view, text, out):
            probe_changes.append((name, text, out))
    candidates = []
    checked = 0
    normal = TokenKind.NORMAL
    prefix = view.continuation_prefix
    for tid, (kind, tb) in enumerate(zip(view.kinds, view.token_bytes)):
        if kind is not normal or tb is None or (prefix and (view.pieces[tid] or "").startswith(prefix)):
            continue
        try:
            text = tb.decode("utf-8")
        except UnicodeDecodeError:
            continue
        checked += 1
        out = view.normalize(text)
        if out is None or _same_text(view, text, out):
            continue
        # In running text: a lone " " that a whitespace normaliser strips at the ends of a
        # text is kept between words, so only entries changed in context count.
        inner = view.normalize("a" + text + "a")
        if inner is not None and not _same_text(view, "a" + text + "a", inner):
            candidates.append((tid, text, out))
    changed = _unreachable(view, candidates)
    return NormalizerEffect(description, tuple(probe_changes), tuple(changed), checked)


def _unreachable(view: TokenizerView, candidates: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """The candidates that encoding their own text does not give back: a normaliser that
    changes text (BERT pads CJK characters with spaces) can still leave an entry reachable
    when the pre-tokenizer undoes the change."""
    if not candidates:
        return []
    texts = [text for _tid, text, _out in candidates]
    encs = view.encode_batch(texts)
    spaced = [k for k, (tid, text, _o) in enumerate(candidates) if encs[k] != [tid] and text.startswith(" ")]
    # tokenizers that prepend a space themselves (dummy prefix) produce " x" from "x"
    again = dict(zip(spaced, view.encode_batch([texts[k][1:] for k in spaced]))) if spaced else {}
    return [c for k, c in enumerate(candidates) if encs[k] != [c[0]] and again.get(k) != [c[0]]]


# --- configuration facts --------------------------------------------------------------


def config_file(view: TokenizerView, name: str) -> dict[str, Any]:
    """A neighbour JSON file (tokenizer_config.json...) as read by the loader, or {}."""
    files = view.facts.files
    value = files.get(name)
    return value if isinstance(value, dict) else {}


def pipeline_parts(view: TokenizerView, key: str) -> list[dict[str, Any]]:
    """The flattened components of view.facts.<key> (normalizer, pre_tokenizer, decoder, post_processor)."""
    return components(getattr(view.facts, key))


def has_type(parts: Iterable[dict[str, Any]], *types: str) -> bool:
    return any(p.get("type") in types for p in parts)
