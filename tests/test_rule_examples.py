"""One harness for every rule's VALID/INVALID examples (the examples are the rule's spec)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from auditor.core import Finding, ModelOptions, RunInputs, Severity
from auditor.engine import run_lint
from auditor.registry import all_rules
from auditor.rulebase import Example

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


def _holds(details, expected) -> bool:
    """Whether a finding's details hold every expected pair (a callable value is a predicate)."""
    for key, want in expected.items():
        if key not in details:
            return False
        have = details[key]
        if not (want(have) if callable(want) else have == want):
            return False
    return True


def _matches(candidates, wanted, used=frozenset()) -> bool:
    """Whether each expected mapping in `wanted` is held by a different finding (small: backtracking)."""
    if not wanted:
        return True
    for i, details in enumerate(candidates):
        if i not in used and _holds(details, wanted[0]) and _matches(candidates, wanted[1:], used | {i}):
            return True
    return False


def _expected_details(example) -> tuple:
    """The example's `details` as a tuple of non-empty mappings (one mapping: one finding)."""
    wanted = (example.details,) if isinstance(example.details, Mapping) else tuple(example.details)
    return tuple(w for w in wanted if w)


def unmet_expectations(example, findings) -> list[str]:
    """What `findings` fail of the example's `message` and `details` (see `Example`)."""
    problems = []
    if example.message:
        problems += [
            f"message of the finding for {f.token!r} lacks {example.message!r}: {f.message!r}"
            for f in findings
            if example.message not in f.message
        ]
    wanted = _expected_details(example)
    if wanted and not _matches([f.details for f in findings], wanted):
        shown = "; ".join(f"{f.token!r}: {dict(f.details)!r}" for f in findings) or "no findings"
        problems.append(
            f"no {'finding holds' if len(wanted) == 1 else 'distinct findings hold'} the details {list(wanted)!r}"
            f" (found {shown})"
        )
    return problems


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
    problems = unmet_expectations(example, result.findings)
    assert not problems, f"{example.description}: " + "\n".join(problems)


def test_every_rule_has_examples_and_docs():
    for cls in all_rules(plugins=False):
        assert cls.valid, f"{cls.code} has no VALID example"
        doc = cls.doc()
        for section in ("## What it does", "## Why it matters", "## How to fix"):
            assert section in doc, f"{cls.code} docstring lacks {section!r}"
        if cls.options:
            assert "## Options" in doc, f"{cls.code} has options but documents none"


def test_every_invalid_example_says_what_its_findings_say():
    """An INVALID example that only counts flagged tokens does not show the rule flags them for the right reason."""
    silent, stray, empty = [], [], []
    for cls in all_rules(plugins=False):
        for n, ex in enumerate(cls.invalid):
            if not ex.flagged:
                empty.append(f"{cls.code}-invalid-{n}")
            if not ex.message and not _expected_details(ex):
                silent.append(f"{cls.code}-invalid-{n} ({ex.description})")
        for n, ex in enumerate(cls.valid):
            if ex.flagged or ex.message or _expected_details(ex):
                stray.append(f"{cls.code}-valid-{n} ({ex.description})")
    assert not silent, "INVALID examples without `message` or `details`: " + "; ".join(silent)
    assert not empty, "INVALID examples that flag nothing: " + ", ".join(empty)
    assert not stray, "VALID examples must flag nothing and state no message or details: " + "; ".join(stray)


def _finding(token, message, **details):
    return Finding("X101", "x", Severity.INFO, message, "a", None, token, details)


def test_expectations_are_checked():
    findings = [
        _finding("a", "unreachable: no merge", cause="no-merge", ids=[1]),
        _finding("b", "unreachable: shadowed", cause="shadow"),
    ]
    ok = Example("d", None, flagged=("a", "b"), message="unreachable: ", details={"cause": "shadow"})
    assert unmet_expectations(ok, findings) == []
    both = Example("d", None, details=({"cause": "shadow"}, {"cause": "no-merge", "ids": [1]}))
    assert unmet_expectations(both, findings) == []
    predicate = Example("d", None, details={"ids": lambda ids: len(ids) == 1})
    assert unmet_expectations(predicate, findings) == []
    # every finding must carry the message; one finding must hold all the pairs of a mapping
    assert len(unmet_expectations(Example("d", None, message="no merge"), findings)) == 1
    assert unmet_expectations(Example("d", None, details={"cause": "shadow", "ids": [1]}), findings)
    assert unmet_expectations(Example("d", None, details={"missing": None}), findings)
    # a tuple needs a different finding for each mapping
    assert unmet_expectations(Example("d", None, details=({"cause": "shadow"}, {"cause": "shadow"})), findings)
    assert unmet_expectations(Example("d", None, details={"cause": "x"}), [])
