"""Fail policy, colour and progress flags of `tokaudit lint`."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.fixtures import byte_level_bpe
from auditor.session import color_wanted as _color_wanted
from auditor.session import progress_wanted as _progress_wanted

runner = CliRunner()


@pytest.fixture
def warn_only(write_tokenizer):
    """Only a warning (V103) and info findings once V101 is ignored."""
    spec = byte_level_bpe([" hello", "  "], added=[{"content": "  ", "special": False}])
    return write_tokenizer(spec)


@pytest.mark.parametrize("fail_on, code", [("error", 0), ("warning", 1), ("info", 1), ("never", 0)])
def test_fail_on_levels(warn_only, fail_on, code):
    res = runner.invoke(app, ["lint", str(warn_only), "--ignore", "V101", "--fail-on", fail_on])
    assert res.exit_code == code, res.output


def test_exit_zero_and_usage_error(warn_only):
    assert runner.invoke(app, ["lint", str(warn_only), "--exit-zero", "--fail-on", "info"]).exit_code == 0
    res = runner.invoke(app, ["lint", str(warn_only), "--fail-on", "sometimes"])
    assert res.exit_code == 2


@pytest.mark.parametrize(
    "env, choice, tty, expected",
    [
        ({}, "auto", True, True),
        ({}, "auto", False, False),
        ({"NO_COLOR": "1"}, "auto", True, False),
        ({"FORCE_COLOR": "1"}, "auto", False, True),
        ({"NO_COLOR": "1"}, "always", False, True),
        ({"FORCE_COLOR": "1"}, "never", True, False),
    ],
)
def test_colour_choice(monkeypatch, env, choice, tty, expected):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert _color_wanted(choice, to_terminal=tty) is expected


def test_colour_flags_reach_the_text_report(warn_only, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[" in runner.invoke(app, ["lint", str(warn_only), "--color", "always"]).stdout
    assert "\x1b[" not in runner.invoke(app, ["lint", str(warn_only)]).stdout  # not a terminal
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in runner.invoke(app, ["lint", str(warn_only)]).stdout
    assert "\x1b[" not in runner.invoke(app, ["lint", str(warn_only), "--format", "json"]).stdout


def test_progress_only_on_a_terminal_and_never_under_pre_commit(monkeypatch):
    monkeypatch.delenv("PRE_COMMIT", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert _progress_wanted(False, False) is True
    assert _progress_wanted(True, False) is False and _progress_wanted(False, True) is False
    monkeypatch.setenv("PRE_COMMIT", "1")
    assert _progress_wanted(False, False) is False
    monkeypatch.delenv("PRE_COMMIT")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert _progress_wanted(False, False) is False
