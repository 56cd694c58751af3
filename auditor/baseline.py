"""Baselines: adopt the linter on an existing tokenizer, fail only on new findings.

A baseline file records the findings of one run by fingerprint: rule code + artifact
identity (its path relative to the baseline file's folder, so the repository can be
checked out anywhere and linted from any folder) + the token's exact bytes (not its id,
which moves when the vocabulary is edited; findings about the whole tokenizer use
their message). The same fingerprint may occur several times (dead copies of one
byte string): the file keeps a count. A later run marks each finding `new` or
`baselined`; entries whose artifact and rule were checked but that no finding matched
any more are `stale` (fixed: delete them with --write-baseline).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from auditor.core import BaselineOutcome, Finding, UserError, fingerprint

FORMAT = 1


def artifact_id(artifact: str, base: Path) -> str:
    """The artifact's path relative to `base` (POSIX separators), absolute when elsewhere."""
    p = os.path.abspath(artifact)
    try:
        return os.path.relpath(p, os.path.abspath(base)).replace(os.sep, "/")
    except ValueError:  # another drive on Windows
        return p.replace(os.sep, "/")


def write_baseline(path: str | os.PathLike[str], findings: list[Finding]) -> None:
    from auditor.atomic import write_text_atomic

    base = Path(path).resolve().parent
    counts: Counter[tuple[str, str, str, str | None]] = Counter()
    for f in findings:
        aid = artifact_id(f.artifact, base)
        counts[(aid, f.code, fingerprint(f, aid), f.token if f.token_id is not None else f.message)] += 1
    entries = [
        {"artifact": aid, "code": code, "fingerprint": fp, "token_or_message": shown, "count": n}
        for (aid, code, fp, shown), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2]))
    ]
    doc = {"tokaudit_baseline": FORMAT, "findings": entries}
    try:
        write_text_atomic(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise UserError(f"{path}: cannot write the baseline ({exc.strerror})") from None


def read_baseline(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{p}: no such baseline file (create it with --write-baseline)") from None
    except OSError as exc:
        raise UserError(f"{p}: cannot read the baseline ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{p}: not a tokaudit baseline (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("tokaudit_baseline") != FORMAT or not isinstance(doc.get("findings"), list):
        raise UserError(f"{p}: not a tokaudit baseline (format {FORMAT} expected)")
    entries = doc["findings"]
    for e in entries:
        if not (
            isinstance(e, dict)
            and isinstance(e.get("artifact"), str)
            and isinstance(e.get("code"), str)
            and isinstance(e.get("fingerprint"), str)
            and isinstance(e.get("count", 1), int)
        ):
            raise UserError(f"{p}: malformed baseline entry {json.dumps(e)[:80]}")
    return entries


def apply_baseline(result: Any, path: str | os.PathLike[str]) -> None:
    """Mark `result.findings` new/baselined and record the outcome in `result.baseline`."""
    entries = read_baseline(path)
    base = Path(path).resolve().parent
    budget: Counter[str] = Counter()
    for e in entries:
        budget[e["fingerprint"]] += int(e.get("count", 1))
    marked = []
    used: Counter[str] = Counter()
    for f in result.findings:
        fp = fingerprint(f, artifact_id(f.artifact, base))
        known = used[fp] < budget[fp]
        if known:
            used[fp] += 1
        marked.append(dataclasses.replace(f, baselined=known))
    # an entry can only be stale when its artifact was linted with its rule
    checked = {
        (artifact_id(a.description["path"], base), code)
        for a in result.artifacts
        for code in (a.rules_run or result.rules_run)
    }
    stale = []
    for e in entries:
        left = int(e.get("count", 1)) - used[e["fingerprint"]]
        used[e["fingerprint"]] = max(0, used[e["fingerprint"]] - int(e.get("count", 1)))
        if left > 0 and (e["artifact"], e["code"]) in checked:
            stale.append(
                {k: e[k] for k in ("artifact", "code", "fingerprint", "token_or_message") if k in e} | {"count": left}
            )
    result.findings = marked
    new = sum(1 for f in marked if not f.baselined)
    result.baseline = BaselineOutcome(
        path=Path(path).as_posix(), new=new, baselined=len(marked) - new, stale=tuple(stale)
    )
