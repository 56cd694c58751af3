"""Probe strings, configuration facts, behaviour lock, diff, implementation equivalence."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from auditor.analyses.preprocessing import (
    analyze_normalizer,
    first_difference,
    run_probes,
)
from auditor.cli import app
from auditor.core import Document, RunInputs
from auditor.engine import run_lint
from auditor.fixtures import byte_level_bpe, sentencepiece_bpe
from auditor.loaders import load_tokenizer
from auditor.preprocessing.diff import diff_tokenizers, diff_vocabularies
from auditor.preprocessing.equivalence import Implementation, compare
from auditor.preprocessing.lock import LOCK_NAME, lock_location
from auditor.probes import PROBE_STRINGS, PROBE_STRINGS_VERSION
from auditor.registry import select_rules

runner = CliRunner()

LLAMA3_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
WORDS = [" hello", " world", "333", "3333", "777", "+", " =", "Hello"]


def with_regex(spec: dict, regex: str) -> dict:
    """The same vocabulary behind a Split(Regex) + ByteLevel pre-tokenizer."""
    spec = json.loads(json.dumps(spec))
    spec["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ],
    }
    return spec


def write(folder: Path, name: str, content) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(
            content if isinstance(content, str) else json.dumps(content, ensure_ascii=False), encoding="utf-8"
        )
    return path


def lint(paths, select: str, **inputs):
    rules = [cls() for cls in select_rules([select]).rules]
    return run_lint([str(p) for p in paths], rules, inputs=RunInputs(**inputs))


# --- probe strings ------------------------------------------------------------------


def test_probe_strings_are_named_unique_and_cover_the_issue_list():
    names = [n for n, _ in PROBE_STRINGS]
    assert len(names) == len(set(names)) and PROBE_STRINGS_VERSION >= 1
    text = "".join(t for _, t in PROBE_STRINGS)
    for needle in (
        "  ",
        "\t",
        "\r\n",
        "\n\n",
        "\u00a0",
        "\u200b",
        "\u200f",
        "\u0301",
        "\u200d",
        "\u6211",
        "\u0645",
        "<|endoftext|>",
    ):
        assert needle in text, repr(needle)


def test_probe_run_round_trip_of_a_byte_level_bpe(write_tokenizer):
    view = load_tokenizer(write_tokenizer(byte_level_bpe(WORDS)))
    run = run_probes(view)
    assert run.losses() == []
    assert run.by_name()["plain"] == tuple(view.encode("Hello world"))


def test_first_difference():
    assert first_difference("abcdef", "abXdef")[0] == 2
    assert first_difference("abc", "abcd")[0] == 3


def test_normalizer_effect_counts_entries_and_probes(write_tokenizer):
    spec = byte_level_bpe([" hello", "\ufb01", " caf\u00e9"], normalizer={"type": "NFKC"})
    effect = analyze_normalizer(load_tokenizer(write_tokenizer(spec)))
    assert effect.description == "NFKC"
    assert [t for _i, t, _n in effect.changed_entries] == ["\ufb01"]
    assert "nfkc-compat" in [n for n, _t, _o in effect.probe_changes]


def test_metaspace_markers_are_not_a_lossy_normalizer(write_tokenizer):
    view = load_tokenizer(write_tokenizer(sentencepiece_bpe(["hello", "  x"])))
    assert analyze_normalizer(view).description is None


# --- neighbours -------------------------------------------------------------------------


def test_loader_reads_neighbour_files_once(tmp_path):
    path = write(tmp_path, "tokenizer.json", byte_level_bpe(WORDS))
    write(tmp_path, "tokenizer_config.json", {"add_bos_token": True})
    write(tmp_path, "chat_template.jinja", "{{ bos_token }}")
    write(tmp_path, "special_tokens_map.json", "{not json")
    view = load_tokenizer(path)
    files = view.facts.files
    assert files["tokenizer_config.json"] == {"add_bos_token": True}
    assert files["chat_template.jinja"] == "{{ bos_token }}"
    assert "special_tokens_map.json" not in files
    assert any("special_tokens_map.json" in n for n in view.notes)
    assert load_tokenizer(tmp_path).facts.files == files  # the folder sees the same files


# --- lock -------------------------------------------------------------------------------


def test_lock_then_lint_catches_a_changed_pre_tokenizer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "tok", "tokenizer.json", with_regex(byte_level_bpe(WORDS), LLAMA3_REGEX))
    res = runner.invoke(app, ["lock", str(path)])
    assert res.exit_code == 0, res.output
    lock = tmp_path / "tok" / LOCK_NAME
    first = lock.read_bytes()
    assert runner.invoke(app, ["lock", str(path)]).exit_code == 0
    assert lock.read_bytes() == first, "locking twice must give the same bytes"
    data = json.loads(first)
    assert set(data["artifacts"]) == {"tokenizer.json"}
    assert len(first) < 20_000

    ok = runner.invoke(app, ["lint", str(path), "--select", "P111", "--no-progress"])
    assert ok.exit_code == 0 and "no findings" in ok.output

    # the "fix" of the regex: digits now in one run instead of groups of three
    write(tmp_path / "tok", "tokenizer.json", with_regex(byte_level_bpe(WORDS), GPT2_REGEX))
    bad = runner.invoke(app, ["lint", str(path), "--select", "P111", "--no-progress", "--format", "json"])
    assert bad.exit_code == 1
    finding = json.loads(bad.output)["findings"][0]
    assert finding["code"] == "P111"
    assert "numbers" in finding["details"]["changed_probes"]
    assert finding["details"]["config_changed"] and not finding["details"]["vocab_changed"]

    assert runner.invoke(app, ["lock", str(path)]).exit_code == 0  # accepted on purpose
    assert runner.invoke(app, ["lint", str(path), "--select", "P111", "--no-progress"]).exit_code == 0


def test_lock_file_option_and_folder_key(tmp_path):
    folder = tmp_path / "tok"
    write(folder, "tokenizer.json", byte_level_bpe(WORDS))
    lock = tmp_path / "locks" / "my.lock"
    lock.parent.mkdir()
    assert lock_location(folder, lock) == (lock.resolve(), "../tok")
    assert lock_location(folder) == ((folder / LOCK_NAME).resolve(), ".")
    assert runner.invoke(app, ["lock", str(folder), "--lock", str(lock)]).exit_code == 0
    assert "../tok" in json.loads(lock.read_text())["artifacts"]
    res = lint([folder], "P111", lock=str(lock))
    assert res.findings == []
    missing = runner.invoke(app, ["lint", str(folder), "--select", "P111", "--lock", str(tmp_path / "nope.lock")])
    assert missing.exit_code == 2 and "lock file not found" in missing.output


def test_broken_lock_is_one_line_exit_2(tmp_path):
    path = write(tmp_path, "tokenizer.json", byte_level_bpe(WORDS))
    write(tmp_path, LOCK_NAME, "{broken")
    res = runner.invoke(app, ["lint", str(path), "--select", "P111", "--no-progress"])
    assert res.exit_code == 2 and "not valid JSON" in res.output


def test_vocabulary_change_is_reported_by_the_lock(tmp_path):
    path = write(tmp_path, "tokenizer.json", byte_level_bpe(WORDS))
    assert runner.invoke(app, ["lock", str(path)]).exit_code == 0
    write(tmp_path, "tokenizer.json", byte_level_bpe(WORDS + [" unused"]))
    [finding] = lint([path], "P111").findings
    assert finding.details["vocab_changed"]


# --- diff ---------------------------------------------------------------------------------


def test_diff_vocabulary_and_probe_tokenization(tmp_path):
    a = write(tmp_path / "a", "tokenizer.json", byte_level_bpe(WORDS))
    b_spec = byte_level_bpe(WORDS + [" new"])
    b_spec["model"]["vocab"] = {("!!" if k == "!" else k): v for k, v in b_spec["model"]["vocab"].items()}
    b = write(tmp_path / "b", "tokenizer.json", b_spec)
    va, vb = load_tokenizer(a), load_tokenizer(b)
    vd = diff_vocabularies(va, vb)
    assert [t for _i, t in vd.added] == ["n", " n", " ne", " new"][-len(vd.added) :]
    assert vd.removed == () and [(c[1], c[3]) for c in vd.changed] == [("!", "!!")]
    d = diff_tokenizers(va, vb, sample=[Document("s.jsonl", 0, "hi! there"), "plain text"])
    assert not d.identical
    assert d.sample is not None and d.sample.compared == 2 and d.sample.diverging_labels == ("s.jsonl:record 0",)
    res = runner.invoke(app, ["diff", str(a), str(b), "--format", "json"])
    assert res.exit_code == 1
    data = json.loads(res.output)
    assert data["vocabulary"]["changed"] == 1 and data["probes"]["diverging"] >= 1
    same = runner.invoke(app, ["diff", str(a), str(a)])
    assert same.exit_code == 0 and same.output.rstrip().endswith("identical")


def test_diff_of_missing_file_is_exit_2(tmp_path):
    res = runner.invoke(app, ["diff", str(tmp_path / "nope.json"), str(tmp_path / "nope2.json")])
    assert res.exit_code == 2


def test_diff_sees_a_different_pre_tokenizer_regex(tmp_path):
    a = load_tokenizer(write(tmp_path / "a", "tokenizer.json", with_regex(byte_level_bpe(WORDS), LLAMA3_REGEX)))
    b = load_tokenizer(write(tmp_path / "b", "tokenizer.json", with_regex(byte_level_bpe(WORDS), GPT2_REGEX)))
    d = diff_tokenizers(a, b, sample=["3333+777"])
    assert d.vocabulary.identical and not d.identical
    [div] = d.sample.examples
    assert div.tokens_a[:2] == ("333", "3") and div.tokens_b[:2] == ("33", "33")


# --- equivalence in memory ---------------------------------------------------------------


def test_compare_documents_in_memory_counts_and_examples():
    def upper(texts):
        return [[ord(c) for c in t] for t in texts]

    def lower(texts):
        return [[ord(c) for c in t.lower()] for t in texts]

    a = Implementation("a", upper, chr, 0x110000)
    b = Implementation("b", lower, chr, 0x110000)
    docs = [Document("c.txt", k, f"doc {k}" if k % 3 else f"Doc {k}", unit="line") for k in range(1, 1001)]
    eq = compare(a, b, docs, batch_size=64, max_examples=2)
    assert eq.compared == 1000 and eq.diverging == 333
    assert [d.label for d in eq.examples] == ["c.txt:line 3", "c.txt:line 6"]
    assert eq.examples[0].position == 0 and eq.examples[0].tokens_a[0] == "D"
    assert compare(a, a, docs).equivalent


def test_equivalent_implementations_on_a_corpus_sample(tmp_path):
    view = load_tokenizer(write(tmp_path, "tokenizer.json", byte_level_bpe(WORDS)))
    same = Implementation.of_view(load_tokenizer(tmp_path / "tokenizer.json"))
    docs = [f"hello world {k} 3333+777 \u6211 \U0001f44d\n\tend" for k in range(300)]
    assert compare(Implementation.of_view(view), same, docs).equivalent


def test_lock_of_a_folder_is_found_by_lint(tmp_path):
    folder = tmp_path / "tok"
    write(folder, "tokenizer.json", byte_level_bpe(WORDS))
    res = runner.invoke(app, ["lock", str(folder)])
    assert res.exit_code == 0 and "'.'" in res.output
    assert json.loads((folder / LOCK_NAME).read_text())["artifacts"].keys() == {"."}
    assert lint([folder], "P111").findings == []
    write(folder, "tokenizer_config.json", {"add_bos_token": True})  # configuration only
    [finding] = lint([folder], "P111").findings
    assert finding.details["config_changed"] and finding.details["changed_probes"] == []


def test_lock_of_a_missing_path_is_exit_2(tmp_path):
    res = runner.invoke(app, ["lock", str(tmp_path / "nope.json")])
    assert res.exit_code == 2 and "no such file" in res.output
    assert not (tmp_path / LOCK_NAME).exists()


def test_lock_keeps_other_artifacts(tmp_path):
    a = write(tmp_path, "tokenizer.json", byte_level_bpe(WORDS))
    b = write(tmp_path, "tokenizer.model", sentencepiece_bpe(["hello"]))
    assert runner.invoke(app, ["lock", str(a)]).exit_code == 0
    assert runner.invoke(app, ["lock", str(b)]).exit_code == 0
    assert set(json.loads((tmp_path / LOCK_NAME).read_text())["artifacts"]) == {"tokenizer.json", "tokenizer.model"}


def test_lock_entry_without_probes_is_exit_2(tmp_path):
    path = write(tmp_path, "tokenizer.json", byte_level_bpe(WORDS))
    write(tmp_path, LOCK_NAME, {"tokaudit_lock": 1, "artifacts": {"tokenizer.json": {"probes": [1, 2]}}})
    res = runner.invoke(app, ["lint", str(path), "--select", "P111", "--no-progress"])
    assert res.exit_code == 2 and "no probe encodings" in res.output


def test_diff_output_file_is_written_whole(tmp_path):
    a = write(tmp_path / "a", "tokenizer.json", byte_level_bpe(WORDS))
    out = tmp_path / "diff.json"
    res = runner.invoke(app, ["diff", str(a), str(a), "--format", "json", "-o", str(out)])
    assert res.exit_code == 0 and res.output == ""
    data = json.loads(out.read_text())
    assert data["identical"] and data["probes"]["compared"] == len(PROBE_STRINGS)
    assert out.read_text() == runner.invoke(app, ["diff", str(a), str(a), "--format", "json"]).output
