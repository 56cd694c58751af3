"""One harness for every rule's VALID/INVALID examples (the examples are the rule's spec)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.core import ModelOptions, RunInputs
from auditor.engine import run_lint
from auditor.registry import all_rules

REPO = Path(__file__).resolve().parent.parent

CASES = [
    pytest.param(cls, ex, id=f"{cls.code}-{kind}-{n}")
    for cls in all_rules(plugins=False)
    for kind, examples in (("valid", cls.valid), ("invalid", cls.invalid))
    for n, ex in enumerate(examples)
]


def _write_documents(path, documents):
    with open(path, "w", encoding="utf-8") as fh:
        for doc in documents:
            fh.write(json.dumps({"text": doc}, ensure_ascii=False) + "\n")
    return str(path)


def _model_inputs(example, tokenizer_path, tmp_path):
    """(model path, model_options, tokenizer path) for a model example, or Nones."""
    if example.model is None:
        return None, ModelOptions(), tokenizer_path
    spec = {"path": example.model} if isinstance(example.model, str) else dict(example.model)
    options = dict(spec.pop("options", {}))
    if "path" in spec:
        folder = REPO / spec["path"]
        if not folder.exists():
            pytest.skip(f"example model {spec['path']} is not present")
        return str(folder), ModelOptions.from_mapping(options), tokenizer_path or folder
    from auditor.loaders import load_tokenizer
    from auditor.model.fixtures import write_embedding_model

    folder = write_embedding_model(tmp_path / "model", load_tokenizer(tokenizer_path), spec)
    return str(folder), ModelOptions.from_mapping(options), tokenizer_path


@pytest.mark.parametrize(("rule_cls", "example"), CASES)
def test_rule_example(rule_cls, example, write_tokenizer, tmp_path):
    path = write_tokenizer(example.tokenizer) if example.tokenizer is not None else None
    if path is not None:  # never beside a committed model's own tokenizer
        for name, content in example.files.items():  # neighbours: tokenizer_config.json, chat template
            if isinstance(content, bytes):
                (path.parent / name).write_bytes(content)
                continue
            text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
            (path.parent / name).write_text(text, encoding="utf-8")
    model, model_options, path = _model_inputs(example, path, tmp_path)
    corpus = (_write_documents(tmp_path / "corpus.jsonl", example.corpus),) if example.corpus else ()
    model_corpus = (
        (_write_documents(tmp_path / "model_corpus.jsonl", example.model_corpus),) if example.model_corpus else ()
    )
    inputs = RunInputs(
        corpus=corpus,
        model_corpus=model_corpus,
        model=model,
        generation=example.generation,
        model_options=model_options,
    )
    assert rule_cls.requires <= inputs.available(), f"{rule_cls.code}: the example lacks an input the rule requires"
    result = run_lint([path], [rule_cls(example.options)], inputs=inputs)
    flagged = sorted(f.token or "" for f in result.findings)
    assert all(f.code == rule_cls.code for f in result.findings)
    assert flagged == sorted(example.flagged), example.description


def test_every_rule_has_examples_and_docs():
    for cls in all_rules(plugins=False):
        assert cls.valid, f"{cls.code} has no VALID example"
        doc = cls.doc()
        for section in ("## What it does", "## Why it matters", "## How to fix"):
            assert section in doc, f"{cls.code} docstring lacks {section!r}"
        if cls.options:
            assert "## Options" in doc, f"{cls.code} has options but documents none"
