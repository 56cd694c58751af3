"""Token line numbers for SARIF regions: pretty tokenizer.json, rank files; nothing for the rest."""

from __future__ import annotations

import base64
import json

from typer.testing import CliRunner

from auditor.cli import app
from auditor.fixtures import byte_level_bpe
from auditor.reporters.locate import token_lines


def test_pretty_tokenizer_json_lines(tmp_path):
    spec = byte_level_bpe([" hello"], orphans=["zz"], added=[{"content": "<|x|>", "special": True}])
    path = tmp_path / "tokenizer.json"
    text = json.dumps(spec, indent=2, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    found = token_lines(path)
    zz = spec["model"]["vocab"]["zz"]
    assert lines[found[zz] - 1].strip().rstrip(",") == f'"zz": {zz}'
    added = spec["added_tokens"][0]["id"]
    assert lines[found[added] - 1].strip() == f'"id": {added},'
    assert len(found) == len(spec["model"]["vocab"]) + 1
    # one-line JSON: no lines
    path.write_text(json.dumps(spec), encoding="utf-8")
    assert token_lines(path) == {}


def test_rank_files_and_binaries(tmp_path):
    ranks = tmp_path / "x.tiktoken"
    ranks.write_bytes(b"".join(base64.b64encode(bytes([i])) + b" %d\n" % i for i in range(5)))
    assert token_lines(ranks) == {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}
    blob = tmp_path / "tokenizer.model"
    blob.write_bytes(b"\x0a\x05\x00\x01binary")
    assert token_lines(blob) == {}
    assert token_lines(tmp_path / "missing") == {}


def test_sarif_regions_point_at_the_token_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = byte_level_bpe([" hello"], orphans=["zz"])
    text = json.dumps(spec, indent=2)
    (tmp_path / "tokenizer.json").write_text(text, encoding="utf-8")
    res = CliRunner().invoke(app, ["lint", "tokenizer.json", "--format", "sarif", "--select", "V101"])
    result = json.loads(res.stdout)["runs"][0]["results"][0]
    line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert text.splitlines()[line - 1].strip().startswith('"zz":')
