"""Each class of docs/defects.md reproduced with a small tokenizer, and the rule that catches it.

Classes 16 (model data preprocessed differently: corpus profiles, tests/test_profile.py
has the signals), 20 (embedding rows beyond the vocabulary: model rules) and 21
(merges from a single source: corpus rules) need inputs that other issues build.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.core import RunInputs
from auditor.engine import run_lint
from auditor.fixtures import byte_level_bpe, sentencepiece_bpe
from auditor.loaders import load_tokenizer
from auditor.loaders.protobuf import SentencePieceModel, write_sentencepiece_model
from auditor.preprocessing.diff import diff_tokenizers
from auditor.registry import select_rules
from tests.conftest import real_file
from tests.test_preprocessing import GPT2_REGEX, LLAMA3_REGEX, WORDS, with_regex, write


def findings(path, select: str):
    rules = [cls() for cls in select_rules(select.split(",")).rules]
    return run_lint([str(path)], rules, inputs=RunInputs()).findings


def codes(path, select: str = "P") -> list[str]:
    return sorted({f.code for f in findings(path, select)})


# --- 1, 2: pre-tokenizer mismatch between implementations ------------------------------


def _gguf(path: Path, spec: dict, pre: str, extra: dict | None = None) -> Path:
    gguf = pytest.importorskip("gguf")
    vocab = spec["model"]["vocab"]
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    w = gguf.GGUFWriter(str(path), arch="llama")
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", pre)
    w.add_array("tokenizer.ggml.tokens", tokens)
    w.add_array("tokenizer.ggml.token_type", [1] * len(tokens))
    w.add_array("tokenizer.ggml.merges", [f"{a} {b}" for a, b in spec["model"]["merges"]])
    for key, value in (extra or {}).items():
        if isinstance(value, bool):
            w.add_bool(key, value)
        elif isinstance(value, int):
            w.add_uint32(key, value)
        else:
            w.add_string(key, value)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    return path


def test_1_gguf_with_the_gpt2_regex_for_a_llama3_tokenizer(tmp_path):
    spec = with_regex(byte_level_bpe(WORDS), LLAMA3_REGEX)
    folder = tmp_path / "model"
    write(folder, "tokenizer.json", spec)
    _gguf(folder / "model.gguf", spec, "gpt-2")
    [finding] = findings(folder, "P112")
    assert finding.details["other"] == "model.gguf"
    assert finding.details["diverging"] == ["numbers"]  # "3333+777": "333" + "3" vs "33" + "33"
    assert '"333" + "3"' in finding.message


def test_1_gguf_with_the_right_regex_is_equivalent(tmp_path):
    spec = with_regex(byte_level_bpe(WORDS), LLAMA3_REGEX)
    folder = tmp_path / "model"
    write(folder, "tokenizer.json", spec)
    _gguf(folder / "model.gguf", spec, "dbrx")  # llama3 regex, merges applied as usual
    assert findings(folder, "P112") == []


def test_2_sequence_pre_tokenizer_ignored_by_a_reimplementation(tmp_path):
    falcon = byte_level_bpe(WORDS)
    falcon["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Punctuation", "behavior": "Contiguous"},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            {"type": "Digits", "individual_digits": False},
        ],
    }
    a = load_tokenizer(write(tmp_path / "a", "tokenizer.json", falcon))
    b = load_tokenizer(write(tmp_path / "b", "tokenizer.json", byte_level_bpe(WORDS)))
    d = diff_tokenizers(a, b)
    assert d.vocabulary.identical and not d.probes.equivalent
    assert "numbers" in d.probes.diverging_labels


# --- 3, 4: configuration defects ----------------------------------------------------------


def test_3_split_pattern_given_as_string(tmp_path):
    spec = byte_level_bpe(WORDS)
    spec["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Split", "pattern": {"String": GPT2_REGEX}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ],
    }
    path = write(tmp_path, "tokenizer.json", spec)
    # the consequence: the whole text is one pre-token
    assert len(load_tokenizer(path).pre_tokenize("hello world.\n\nnext")) == 1
    assert codes(path, "P101") == ["P101"]


def test_4_a_changed_regex_is_caught_by_the_lock(tmp_path, monkeypatch):
    from auditor.analyses.preprocessing import run_probes
    from auditor.preprocessing.lock import LOCK_NAME, fingerprint, render_lock

    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "tokenizer.json", with_regex(byte_level_bpe(WORDS), LLAMA3_REGEX))
    view = load_tokenizer(path)
    (tmp_path / LOCK_NAME).write_text(
        render_lock({"tokaudit_lock": 1, "artifacts": {"tokenizer.json": fingerprint(view, run_probes(view))}})
    )
    assert findings(path, "P111") == []
    write(tmp_path, "tokenizer.json", with_regex(byte_level_bpe(WORDS), LLAMA3_REGEX.replace(r"\p{N}{1,3}", r"\p{N}+")))
    [finding] = findings(path, "P111")
    assert "numbers" in finding.details["changed_probes"]


# --- 5, 14: a SentencePiece model and its tokenizer.json conversion --------------------------


def _unigram_pair(byte_fallback_in_json: bool) -> tuple[bytes, dict]:
    words = ["\u2581hello", "\u2581world", "\u2581the", "\u2581a", "he", "llo", "\u2581"]
    chars = sorted(set("".join(words)) | set("abcdefghijklmnopqrstuvwxyzHW0123456789.,!?'"))
    pieces: list[tuple[str, float, int]] = [("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("</s>", 0.0, 3)]
    pieces += [(f"<0x{b:02X}>", 0.0, 6) for b in range(256)]
    pieces += [(w, -1.0 - k, 1) for k, w in enumerate(words)]
    pieces += [(c, -10.0 - k * 0.01, 1) for k, c in enumerate(chars) if c not in {p[0] for p in pieces}]
    model = SentencePieceModel(
        pieces=pieces,
        model_type="unigram",
        byte_fallback=True,
        normalizer_name="identity",
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
    )
    spec = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": i,
                "content": p,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for i, p in enumerate(["<unk>", "<s>", "</s>"])
        ],
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Prepend", "prepend": "\u2581"},
                {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
            ],
        },
        "pre_tokenizer": None,
        "post_processor": None,
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0},
            ],
        },
        "model": {
            "type": "Unigram",
            "unk_id": 0,
            "vocab": [[p, s] for p, s, _t in pieces],
            "byte_fallback": byte_fallback_in_json,
        },
    }
    return write_sentencepiece_model(model), spec


def test_14_conversion_that_lost_byte_fallback(tmp_path):
    model, spec = _unigram_pair(byte_fallback_in_json=False)
    write(tmp_path, "tokenizer.model", model)
    write(tmp_path, "tokenizer.json", spec)
    [finding] = findings(tmp_path, "P112")
    assert finding.details["other"] == "tokenizer.model"
    assert "cjk" in finding.details["diverging"] and "emoji" in finding.details["diverging"]
    assert "plain" not in finding.details["diverging"]


def test_14_faithful_conversion_differs_only_on_special_token_literals(tmp_path):
    """As in the real Llama conversion: tokenizers parses "<s>" in text, SentencePiece does not."""
    model, spec = _unigram_pair(byte_fallback_in_json=True)
    write(tmp_path, "tokenizer.model", model)
    write(tmp_path, "tokenizer.json", spec)
    [finding] = findings(tmp_path, "P112")
    assert finding.details["diverging"] == ["special-s", "special-brackets"]
    # linting the .model file itself compares it with the tokenizer.json beside it
    [other] = findings(tmp_path / "tokenizer.model", "P112")
    assert other.details["other"] == "tokenizer.json" and other.details["diverging"] == finding.details["diverging"]


@pytest.mark.slow
def test_5_slow_files_without_a_slow_class_are_skipped_not_fatal(tmp_path):
    """transformers 5 has no pure-Python GPT-2 class: the comparison says so and goes on."""
    pytest.importorskip("transformers")
    from auditor.store import AnalysisStore

    spec = byte_level_bpe(WORDS)
    write(tmp_path, "tokenizer.json", spec)
    write(tmp_path, "vocab.json", spec["model"]["vocab"])
    (tmp_path / "merges.txt").write_text(
        "#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in spec["model"]["merges"]) + "\n"
    )
    write(tmp_path, "tokenizer_config.json", {"tokenizer_class": "GPT2Tokenizer"})
    view = load_tokenizer(tmp_path)
    view.path = str(tmp_path)
    result = AnalysisStore(view).get("implementations")
    compared = {name for name, _eq in result.comparisons}
    skipped = {name for name, _why in result.skipped}
    assert compared | skipped == {"slow"}
    for _name, eq in result.comparisons:
        assert eq.equivalent


# --- 6: spaces around special tokens differ between implementations ------------------------


def test_6_special_token_stripping_in_one_implementation_only(tmp_path):
    plain = byte_level_bpe(WORDS, added=[{"content": "<s>", "special": True}])
    legacy = byte_level_bpe(WORDS, added=[{"content": "<s>", "special": True, "rstrip": True}])
    a = load_tokenizer(write(tmp_path / "a", "tokenizer.json", plain))
    b = load_tokenizer(write(tmp_path / "b", "tokenizer.json", legacy))
    d = diff_tokenizers(a, b)
    assert d.vocabulary.identical and d.probes.diverging_labels == ("special-s",)
    assert [f.token for f in findings(tmp_path / "b" / "tokenizer.json", "P105")] == ["<s>"]


# --- 7, 8, 9, 10: flags, clean-up, decoders, BOS ---------------------------------------------


def test_7_add_prefix_space_not_honoured(tmp_path):
    spec = byte_level_bpe(WORDS)
    spec["pre_tokenizer"]["add_prefix_space"] = True
    write(tmp_path, "tokenizer_config.json", {"add_prefix_space": False})
    [finding] = findings(write(tmp_path, "tokenizer.json", spec), "P107")
    assert "with a space" in finding.message


def test_8_clean_up_tokenization_spaces_on_byte_level(tmp_path):
    write(tmp_path, "tokenizer_config.json", {"clean_up_tokenization_spaces": True})
    [finding] = findings(write(tmp_path, "tokenizer.json", byte_level_bpe(WORDS)), "P104")
    assert "hello! what?" in finding.message or "ello! what?" in finding.message


def test_9_decoder_drops_space_before_question_mark(tmp_path):
    spec = byte_level_bpe(WORDS)
    spec["decoder"] = {
        "type": "Sequence",
        "decoders": [spec["decoder"], {"type": "Replace", "pattern": {"String": " ?"}, "content": "?"}],
    }
    [finding] = findings(write(tmp_path, "tokenizer.json", spec), "P110")
    assert finding.details["failing"] == ["space-before-punct"]


def test_10_bos_added_twice(tmp_path):
    spec = byte_level_bpe(WORDS, added=[{"content": "<|begin_of_text|>", "special": True}])
    spec["post_processor"] = {
        "type": "Sequence",
        "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {
                "type": "TemplateProcessing",
                "single": [
                    {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                ],
                "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {
                    "<|begin_of_text|>": {
                        "id": "<|begin_of_text|>",
                        "ids": [len(spec["model"]["vocab"])],
                        "tokens": ["<|begin_of_text|>"],
                    }
                },
            },
        ],
    }
    write(
        tmp_path,
        "tokenizer_config.json",
        {
            "bos_token": "<|begin_of_text|>",
            "chat_template": "{{- bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}",
        },
    )
    [finding] = findings(write(tmp_path, "tokenizer.json", spec), "P106")
    assert finding.details["role"] == "bos"
    # without the template nothing is duplicated
    write(tmp_path, "tokenizer_config.json", {"bos_token": "<|begin_of_text|>"})
    assert findings(tmp_path / "tokenizer.json", "P106") == []


def test_10_bos_added_twice_in_a_gguf(tmp_path):
    spec = byte_level_bpe(WORDS, added=[{"content": "<s>", "special": True}])
    bos = len(spec["model"]["vocab"])
    spec["model"]["vocab"]["<s>"] = bos  # GGUF tokens hold every id
    extra = {
        "tokenizer.ggml.bos_token_id": bos,
        "tokenizer.ggml.add_bos_token": True,
        "tokenizer.chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}",
    }
    path = _gguf(tmp_path / "chat.gguf", spec, "gpt-2", extra)
    [finding] = findings(path, "P106")
    assert "GGUF tokenizer.ggml.add_bos_token=true" in finding.message
    extra["tokenizer.ggml.add_bos_token"] = False
    assert findings(_gguf(tmp_path / "other.gguf", spec, "gpt-2", extra), "P106") == []


# --- 11, 12, 13: lossy normalisation -----------------------------------------------------------


def test_11_sentencepiece_whitespace_collapsing(tmp_path):
    path = write(
        tmp_path, "tokenizer.model", sentencepiece_bpe(["hello", "  return", "x  y"], remove_extra_whitespaces=True)
    )
    got = findings(path, "P102")
    assert len(got) == 1 and got[0].details["entries"] >= 2
    assert "double-space" in got[0].details["probes_changed"]
    unreachable = findings(path, "V101")
    assert unreachable and all(f.details["cause"] == "normalizer" for f in unreachable)
    assert "double-space" in findings(path, "P110")[0].details["failing"]


def test_12_newlines_tabs_and_space_runs_dropped(tmp_path):
    spec = byte_level_bpe(
        WORDS + ["\n", "\t", "  "], normalizer={"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "}
    )
    path = write(tmp_path, "tokenizer.json", spec)
    [finding] = findings(path, "P102")
    rewritten = {e["text"] for e in finding.details["examples"]}
    assert {"\\n", "\\t", "  "} <= rewritten and finding.details["entries"] == 6  # and the \r, \v, \f bytes
    lost = findings(path, "P110")[0].details["failing"]
    assert {"tab", "newline", "crlf", "double-space"} <= set(lost)


def test_13_nfkc_splits_letters_and_maps_presentation_forms(tmp_path):
    spec = byte_level_bpe(WORDS + ["\u0149", "\ufe30", "\u061c"], normalizer={"type": "NFKC"})
    [finding] = findings(write(tmp_path, "tokenizer.json", spec), "P102")
    changed = {e["text"]: e["normalized"] for e in finding.details["examples"]}
    assert changed == {"\u0149": "\u02bcn", "\ufe30": ".."}  # U+061C is left alone by NFKC


# --- 15: added tokens shadow vocabulary entries --------------------------------------------------


def test_15_added_space_tokens_shadow_entries(tmp_path):
    spec = byte_level_bpe(WORDS + ["  ", "   "], added=[{"content": "  ", "special": False}])
    got = [f for f in findings(write(tmp_path, "tokenizer.json", spec), "V101") if " " in (f.token or "")]
    assert len(got) == 2 and all(f.details["cause"] == "added-token-shadow" for f in got)


@pytest.mark.real
@pytest.mark.slow
def test_15_real_gpt_neox_added_space_shadowing():
    path = real_file("neox")
    got = findings(path, "V101")
    assert len(got) == 221
    assert all(f.details["cause"] == "added-token-shadow" for f in got)
    assert all(" " * 2 in (f.token or "") for f in got)


# --- 17, 18, 19: untrained reserved rows, partial UTF-8, special tokens in text (vocabulary rules) -----


def test_17_18_19_vocabulary_rules(tmp_path):
    spec = byte_level_bpe(
        WORDS + [b"\xe6\x88"],
        added=[{"content": "<|reserved_special_token_3|>", "special": True}, {"content": "<|end|>", "special": True}],
    )
    path = write(tmp_path, "tokenizer.json", spec)
    assert {"V102", "V104", "V106"} <= set(codes(path, "V"))


def test_probe_rules_are_quiet_on_a_healthy_tokenizer(tmp_path):
    path = write(tmp_path, "tokenizer.json", byte_level_bpe(WORDS))
    write(tmp_path, "tokenizer_config.json", {"add_prefix_space": False, "clean_up_tokenization_spaces": False})
    assert codes(path) == []


@pytest.mark.real
def test_preprocessing_rules_on_the_real_tokenizers():
    """No false alarms where the real files are fine."""
    neox = real_file("neox")
    [finding] = findings(neox, "P")  # NeoX's NFC normaliser composes "e" + U+0301: a real, small loss
    assert finding.code == "P110" and finding.details["failing"] == ["combining"]
    llama2 = real_file("llama2")
    assert "P102" not in codes(llama2)  # identity normaliser, no whitespace collapsing


def test_14_sibling_comparison_on_a_document_sample(tmp_path):
    """The corpus part of implementation equivalence, in memory (the lead wires --corpus to it)."""
    from auditor.core import Document
    from auditor.preprocessing.equivalence import compare_siblings
    from auditor.store import AnalysisStore

    model, spec = _unigram_pair(byte_fallback_in_json=False)
    write(tmp_path, "tokenizer.model", model)
    view = load_tokenizer(write(tmp_path, "tokenizer.json", spec))
    docs = [Document("c.jsonl", 0, "hello world"), Document("c.jsonl", 1, "hello \u4e16\u754c"), "the world"]
    result = compare_siblings(AnalysisStore(view), sample=docs)
    [(name, eq)] = result.sample_comparisons
    assert name == "tokenizer.model" and eq.compared == 3 and eq.diverging_labels == ("c.jsonl:record 1",)
    assert result.report_section()["sample_comparisons"]["tokenizer.model"]["diverging"] == 1
