"""JUnit XML for CI test reports: one test suite per artifact, one test case per rule.

A rule fails its test case when it has findings at the --fail-on level that are not
in the baseline; other findings go to the case's system-out; rules that could not run
are skipped cases. No timestamps or durations: the same result gives the same bytes.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

from auditor.core import Finding, LintResult
from auditor.reporters.base import Reporter, register

# XML 1.0 cannot hold most control characters even as references: made visible instead.
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _BAD_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _attr(text: str) -> str:
    return quoteattr(_clean(text))


def _line(f: Finding) -> str:
    mark = " (baselined)" if f.baselined else ""
    if f.token_id is None:
        return f"{f.severity.value}: {f.message}{mark}"
    return f'{f.severity.value}: {f.token_id} "{f.token}": {f.message}{mark}'


def render_junit(result: LintResult, *, fail_on: str = "error") -> str:
    suites = []
    total_tests = total_failures = total_skipped = 0
    for art in result.artifacts:
        path = art.description["path"]
        mine = [f for f in result.findings if f.artifact == path]
        cases = []
        failures = 0
        for code in art.rules_run or result.rules_run:
            cls = result.rules.get(code)
            name = f"{code} {cls.name}" if cls is not None else code
            items = [f for f in mine if f.code == code]
            failing = [f for f in items if f.fails(fail_on)]
            body = "\n".join(_line(f) for f in items)
            case = f"    <testcase classname={_attr(path)} name={_attr(name)}>"
            if failing:
                failures += 1
                msg = f"{len(failing)} failing finding(s) (--fail-on {fail_on})"
                case += f"\n      <failure type={_attr(failing[0].severity.value)} message={_attr(msg)}>"
                case += escape(_clean(body)) + "</failure>\n    </testcase>"
            elif items:
                case += f"\n      <system-out>{escape(_clean(body))}</system-out>\n    </testcase>"
            else:
                case = case[:-1] + " />"
            cases.append(case)
        skipped_here = art.rules_skipped if art.rules_run else result.rules_skipped
        for code, why in sorted(skipped_here.items()):
            cls = result.rules.get(code)
            name = f"{code} {cls.name}" if cls is not None else code
            cases.append(
                f"    <testcase classname={_attr(path)} name={_attr(name)}>\n"
                f"      <skipped message={_attr(why)} />\n    </testcase>"
            )
        tests = len(cases)
        skipped = len(skipped_here)
        total_tests += tests
        total_failures += failures
        total_skipped += skipped
        warned = "".join(f"warning: {w}\n" for w in art.loader_warnings)
        suites.append(
            f'  <testsuite name={_attr(path)} tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}">\n'
            + "\n".join(cases)
            + (f"\n    <system-err>{escape(_clean(warned))}</system-err>" if warned else "")
            + "\n  </testsuite>"
        )
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="tokaudit" tests="{total_tests}" failures="{total_failures}" errors="0" '
        f'skipped="{total_skipped}">'
    )
    return "\n".join([head, *suites, "</testsuites>"]) + "\n"


@register
class JunitReporter(Reporter):
    """JUnit XML: one test case per rule and artifact, for CI test-report views."""

    format = "junit"

    def lint(self, result: LintResult) -> str:
        return render_junit(result, fail_on=self.options.fail_on)
