"""`tokaudit audit` end to end on tiny embedding-only models: outputs, determinism, bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.fixtures import byte_level_bpe
from auditor.loaders import load_tokenizer
from auditor.model.fixtures import (
    ids_of_texts,
    write_embedding_model,
    write_safetensors,
)

WORDS = [" hello", " world", " token", " audit", " model", " train", " data", " text"]
RESERVED = "<|reserved_special_token_0|>"


@pytest.fixture
def model_dir(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    spec = byte_level_bpe(WORDS, added=[{"content": RESERVED, "special": True}])
    (folder / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    view = load_tokenizer(folder / "tokenizer.json")
    write_embedding_model(folder, view, {"untrained": (" audit", " data"), "zero": (RESERVED,), "extra_rows": 6})
    return folder


def _run(*args):
    return CliRunner().invoke(app, ["audit", *map(str, args), "--no-progress", "--no-cache"])


def test_text_summary_and_findings(model_dir):
    res = _run(model_dir)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "tied embeddings, 299 x 32" in out
    assert "indicator: cosine-pc on the shared matrix" in out
    assert "never-utf8-byte 13" in out and "padding-row 6" in out
    assert "M102 padding-embedding-rows" in out and "M103 zero-embedding-row" in out
    assert '" audit"' in out and '" data"' in out
    assert "skipped M105: needs generation" in out


def test_json_report_has_the_model_section_and_token_list(model_dir, tmp_path):
    res = _run(model_dir, "--format", "json", "--candidates-count", "3")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    m = report["model"]
    for key in ("path", "architecture", "tied", "embedding_shape", "reference_ids", "indicator", "threshold"):
        assert key in m
    assert m["tied"] is True and m["embedding_shape"] == [299, 32] and m["indicator"] == "cosine-pc"
    tokens = report["tokens"]
    assert len(tokens) == 299 and [t["token_id"] for t in tokens] == list(range(299))
    for t in tokens:
        assert set(t) >= {"token_id", "token", "category", "indicator", "candidate", "max_prob", "verdict"}
    view = load_tokenizer(model_dir / "tokenizer.json")
    planted = set(ids_of_texts(view, [" audit", " data", RESERVED]))
    assert {t["token_id"] for t in tokens if t["candidate"]} == planted
    assert tokens[-1]["category"] == "PADDING_ROW" and tokens[-1]["token"] is None
    assert all(t["max_prob"] is None for t in tokens)
    assert {f["code"] for f in report["findings"]} == {"M102", "M103", "M104"}


def test_outputs_are_deterministic_files(model_dir, tmp_path):
    outs = []
    for k in range(2):
        d = tmp_path / f"run{k}"
        d.mkdir()
        res = _run(model_dir, "--format", "json", "-o", d / "r.json", "--markdown", d / "r.md", "--plots", d / "plots")
        assert res.exit_code == 0, res.output
        outs.append(d)
    for name in ("r.json", "r.md", "plots/indicator_by_token.png"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert (outs[0] / "plots/indicator_by_token.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (outs[0] / "r.md").read_text()
    assert "# Under-trained token audit" in md and "## Candidates (not verified)" in md
    assert "`<\\|reserved_special_token_0\\|>`" in md  # pipes escaped inside the table


def test_untied_model_and_indicator_choice(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "tokenizer.json").write_text(json.dumps(byte_level_bpe(WORDS)))
    view = load_tokenizer(folder / "tokenizer.json")
    write_embedding_model(folder, view, {"untrained": (" text",), "tied": False})
    res = _run(folder, "--format", "json", "--candidates-count", "1")
    report = json.loads(res.output)
    assert report["model"]["tied"] is False and report["model"]["indicator"] == "input-norm"
    assert [t["token"] for t in report["tokens"] if t["candidate"]] == [" text"]
    res = _run(folder, "--format", "json", "--indicator", "cosine", "--candidates-count", "1")
    assert json.loads(res.output)["model"]["indicator_matrix"] == "output"


def test_tokenizer_that_does_not_match_the_model_fails(model_dir, tmp_path):
    bigger = tmp_path / "bigger.json"
    extra = [{"content": f"<|x{k}|>", "special": True} for k in range(10)]
    bigger.write_text(json.dumps(byte_level_bpe(WORDS, added=[{"content": RESERVED, "special": True}, *extra])))
    # 277 + 10 = 287 ids against 292 rows fits; shrink the model instead:
    small = tmp_path / "small"
    small.mkdir()
    view = load_tokenizer(bigger)
    import numpy as np

    write_safetensors(
        small / "model.safetensors", {"model.embed_tokens.weight": np.ones((view.vocab_size - 4, 8), dtype=np.float32)}
    )
    res = _run(small, "--tokenizer", bigger, "--select", "M101")
    assert res.exit_code == 1, res.output
    assert "M101 token-id-beyond-embedding [error] 4 findings" in res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "no such file or directory"),
        (["{empty}"], "holds no tokenizer"),
        (["{empty}", "--tokenizer", "{tok}"], "no model weights found"),
        (["{model}", "--candidates-count", "3", "--threshold", "0.1"], "both choose the candidates"),
        (["{model}", "--reference-ids", "1,x"], "--reference-ids"),
        (["{model}", "--reference-ids", "99999"], "not an embedding row"),
        (["{weights}"], "carries no tokenizer"),
        (["{model}", "--markdown", "{missing}/r.md"], "cannot write the report"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(model_dir, tmp_path, args, message):
    empty = tmp_path / "empty"
    empty.mkdir()
    paths = {
        "missing": tmp_path / "nope",
        "empty": empty,
        "tok": model_dir / "tokenizer.json",
        "model": model_dir,
        "weights": model_dir / "model.safetensors",
    }
    res = _run(*[a.format(**paths) for a in args])
    assert res.exit_code == 2, res.output
    err = res.stderr if hasattr(res, "stderr") else res.output
    assert message in err
    assert "Traceback" not in res.output


def test_too_big_for_memory_is_refused_before_loading(model_dir, monkeypatch):
    monkeypatch.setenv("TOKAUDIT_MEMORY_LIMIT", "1000")
    res = _run(model_dir, "--verify")
    assert res.exit_code == 2
    assert "only 0.0 GiB is free" in res.output and "drop --verify" in res.output


def test_lint_of_a_tokenizer_skips_the_model_rules(model_dir):
    res = CliRunner().invoke(app, ["lint", str(model_dir / "tokenizer.json"), "--no-progress"])
    assert "skipped M101, M102, M103, M104: needs model" in res.output


def test_architecture_transformers_cannot_run_keeps_the_indicators(model_dir, tmp_path):
    pytest.importorskip("transformers")
    config = json.loads((model_dir / "config.json").read_text())
    config.update({"architectures": ["NoSuchModelForCausalLM"], "model_type": "no-such-model"})
    (model_dir / "config.json").write_text(json.dumps(config))
    out = tmp_path / "r.json"
    res = _run(model_dir, "--verify", "--format", "json", "-o", out)
    assert res.exit_code == 2
    assert "verification did not run" in res.output and "cannot" in res.output
    report = json.loads(out.read_text())
    assert report["model"]["candidates"] > 0  # the indicators are there
    assert report["model"]["verification"]["ran"] is False
    assert report["model"]["verification"]["skipped"]


def test_zero_output_rows_of_untied_models(tmp_path):
    import numpy as np

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "tokenizer.json").write_text(json.dumps(byte_level_bpe(WORDS)))
    view = load_tokenizer(folder / "tokenizer.json")
    from auditor.model.fixtures import embedding_matrices

    e_in, e_out = embedding_matrices(view, {"tied": False})
    (hello,) = ids_of_texts(view, [" hello"])
    e_out[hello] = 0.0
    write_safetensors(folder / "model.safetensors", {"model.embed_tokens.weight": e_in, "lm_head.weight": e_out})
    (folder / "config.json").write_text(json.dumps({"tie_word_embeddings": False}))
    res = _run(folder, "--select", "M103", "--format", "json")
    findings = json.loads(res.output)["findings"]
    assert [(f["token_id"], f["details"]["matrix"]) for f in findings] == [(hello, "output")]
    assert np.isfinite(e_in).all()


def test_a_much_smaller_tokenizer_is_questioned(tmp_path):
    import numpy as np

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "tokenizer.json").write_text(json.dumps(byte_level_bpe(WORDS)))
    view = load_tokenizer(folder / "tokenizer.json")
    rows = view.vocab_size + 2000
    e = np.random.default_rng(0).standard_normal((rows, 8)).astype(np.float32)
    write_safetensors(folder / "model.safetensors", {"model.embed_tokens.weight": e})
    res = _run(folder, "--select", "M102")
    assert "2000 embedding rows" in res.output and "is this the model's own tokenizer?" in res.output


def test_verify_with_no_candidates_loads_nothing(model_dir, monkeypatch):
    import auditor.model.verify as verify

    def boom(*_a, **_k):  # pragma: no cover - must not be called
        raise AssertionError("the model was loaded for no candidate")

    monkeypatch.setattr(verify, "Verifier", boom)
    res = _run(model_dir, "--verify", "--candidates-count", "0", "--format", "json")
    assert res.exit_code == 0, res.output
    ver = json.loads(res.output)["model"]["verification"]
    assert ver["ran"] is True and ver["verified"] == 0


@pytest.mark.parametrize(
    "fmt, marker", [("sarif", '"version": "2.1.0"'), ("junit", "<testsuites"), ("github", "::"), ("markdown", "#")]
)
def test_audit_findings_in_every_lint_format(model_dir, fmt, marker):
    """`--format` means the same for audit as for lint: the findings in that format."""
    res = _run(model_dir, "--format", fmt)
    assert res.exit_code == 0, res.output
    assert marker in res.output and "M103" in res.output
    assert "tied embeddings, 299 x 32" not in res.output  # not the text summary


def test_checkpoint_missing_weights_is_not_verified(model_dir, tmp_path):
    """An embeddings-only checkpoint of a real architecture: transformers would fill the
    missing layers with random values; verification must refuse, not judge noise."""
    pytest.importorskip("transformers")
    out = tmp_path / "r.json"
    res = _run(model_dir, "--verify", "--format", "json", "-o", out)
    assert res.exit_code == 2
    assert "verification did not run" in res.output and "lacks" in res.output and "weight tensor" in res.output
    report = json.loads(out.read_text())
    assert report["model"]["verification"]["ran"] is False
    assert all(t["max_prob"] is None for t in report["tokens"])
