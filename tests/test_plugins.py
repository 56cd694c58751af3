"""Third-party rules through the `tokaudit.rules` entry-point group, installed for real: a
package and its dist-info on a temporary path, found by importlib.metadata in a fresh
interpreter (nothing in the registry is patched)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from auditor.fixtures import byte_level_bpe

REPO = Path(__file__).resolve().parent.parent

PLUGIN = textwrap.dedent(
    '''
    """A third-party rule: flags tokens that hold the letter q."""

    from auditor.core import Severity
    from auditor.rulebase import Rule


    class QToken(Rule):
        """Token holding the letter q.

        ## What it does
        Flags every token whose text contains a q (a plugin test).
        """

        code = "X950"
        name = "q-token"
        severity = Severity.WARNING
        uses = ("vocabulary",)

        def check(self, ctx):
            for token_id, data in enumerate(ctx.view.token_bytes):
                if data is not None and b"q" in data:
                    yield ctx.finding("holds a q", token_id)
    '''
)


def _install(site: Path) -> None:
    (site / "qplugin.py").write_text(PLUGIN, encoding="utf-8")
    dist = site / "qplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: qplugin\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[tokaudit.rules]\nq = qplugin:QToken\n", encoding="utf-8")


def _tokaudit(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def test_an_installed_plugin_is_listed_explained_and_run(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install(site)
    tokenizer = tmp_path / "tokenizer.json"
    tokenizer.write_text(json.dumps(byte_level_bpe(["quiz", "hello"])), encoding="utf-8")

    listed = _tokaudit(["rules"], site, tmp_path)
    assert listed.returncode == 0 and "X950  q-token" in listed.stdout
    explained = _tokaudit(["explain", "q-token"], site, tmp_path)
    assert explained.returncode == 0 and "Token holding the letter q." in explained.stdout

    linted = _tokaudit(["lint", str(tokenizer), "--select", "X950", "--format", "json", "--no-cache"], site, tmp_path)
    assert linted.returncode == 0, linted.stderr
    findings = json.loads(linted.stdout)["findings"]
    assert findings and {f["code"] for f in findings} == {"X950"}
    assert all("q" in f["token"] and f["message"] == "holds a q" for f in findings)


def test_without_the_dist_info_the_plugin_is_unknown(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "qplugin.py").write_text(PLUGIN, encoding="utf-8")  # importable, but not registered
    listed = _tokaudit(["rules"], site, tmp_path)
    assert listed.returncode == 0 and "X950" not in listed.stdout
