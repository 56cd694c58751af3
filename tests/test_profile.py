"""The character-level preprocessing profile of document streams (input to the corpus-vs-corpus rules)."""

from __future__ import annotations

from auditor.analyses.profile import (
    SIGNAL_NAMES,
    PreprocessingProfile,
    profile_documents,
    text_signals,
    token_signals,
)
from auditor.core import Document

TOKENIZER_CORPUS = [
    Document("tok.jsonl", 0, "\ufeffint main() {\r\n\treturn 0;\r\n}\r\n"),
    Document("tok.jsonl", 1, "progress 10%\rprogress 20%\rdone"),
    Document("tok.jsonl", 2, "caf\u00e9 100\u00a0km \ufb01ne  two  spaces \u200b zw \u200f rtl e\u0301"),
    Document("tok.jsonl", 3, "Plain Text with Capitals.\n"),
]
# The same text after a typical model-data pipeline: \r\n -> \n, NFKC, whitespace collapsed, lowercased.
MODEL_CORPUS = [
    Document("model.jsonl", 0, "int main() {\n return 0;\n}\n"),
    Document("model.jsonl", 1, "progress 10%\nprogress 20%\ndone"),
    Document("model.jsonl", 2, "caf\u00e9 100 km fine two spaces zw rtl \u00e9"),
    Document("model.jsonl", 3, "plain text with capitals.\n"),
]


def test_text_signals_of_one_text():
    sig = text_signals("a\r\nb\rc\n\td  e \u00a0\u200b\u202e\x07\ufb01E\u0301\ufffd")
    assert sig["crlf"] == 1 and sig["lone_cr"] == 1 and sig["lf"] == 1
    assert sig["tab"] == 1 and sig["space_run"] == 1
    assert sig["nbsp"] == 1 and sig["zero_width"] == 1 and sig["bidi"] == 1 and sig["control"] == 1
    assert sig["nfkc_unstable"] == 2  # the ligature and the NBSP
    assert sig["combining"] == 1 and sig["replacement"] == 1 and sig["uppercase"] == 1
    assert "bom" not in sig and "trailing_space" not in sig
    assert text_signals("\ufeffx ") == {"bom": 1, "trailing_space": 1, "lowercase": 1}
    assert text_signals("") == {}


def test_profile_counts_occurrences_documents_and_first_seen():
    p = profile_documents(TOKENIZER_CORPUS)
    assert p.documents == 4 and p.characters == sum(len(d.text) for d in TOKENIZER_CORPUS)
    assert p.occurrences["crlf"] == 3 and p.in_documents["crlf"] == 1
    assert p.occurrences["lone_cr"] == 2 and p.first_seen["lone_cr"] == "tok.jsonl:record 1"
    assert p.occurrences["bom"] == 1 and "zero_width" in p.occurrences  # the inner U+200B, not the BOM
    assert p.occurrences["zero_width"] == 1
    assert p.in_documents["uppercase"] == 1


def test_what_the_model_pipeline_removed():
    tok, model = profile_documents(TOKENIZER_CORPUS), profile_documents(MODEL_CORPUS)
    removed = tok.absent_in(model)
    for signal in (
        "crlf",
        "lone_cr",
        "tab",
        "space_run",
        "nbsp",
        "zero_width",
        "bidi",
        "nfkc_unstable",
        "combining",
        "bom",
        "uppercase",
    ):
        assert signal in removed, signal
    assert "lf" not in removed and "lowercase" not in removed
    assert model.absent_in(tok) == []


def test_merge_equals_profile_of_the_concatenation():
    whole = profile_documents(TOKENIZER_CORPUS + MODEL_CORPUS)
    merged = profile_documents(TOKENIZER_CORPUS).merge(profile_documents(MODEL_CORPUS))
    assert merged == whole
    assert PreprocessingProfile().merge(whole) == whole


def test_report_section_is_complete_and_deterministic():
    p = profile_documents(["plain\r\n", "x\ty"])
    section = p.report_section()
    assert list(section["signals"]) == list(SIGNAL_NAMES)
    assert section["signals"]["crlf"]["first_seen"] == "text 0"
    assert section["signals"]["tab"]["per_million_chars"] == round(1e6 / 10, 3)
    assert section == profile_documents(["plain\r\n", "x\ty"]).report_section()


def test_token_signals_group_tokens_by_cause():
    assert token_signals("\r") == {"lone_cr"}
    assert token_signals(");\r\n") == {"crlf"}
    assert token_signals("    ") >= {"space_run"}
    assert token_signals("hello") == {"lowercase"}
