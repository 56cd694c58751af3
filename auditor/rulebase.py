"""What a rule is: metadata, options, documentation, examples, and the `check` it runs.

A rule is small and declarative. Its class attributes give the code, the kebab-case
name, the default severity, what inputs it requires and which analyses it uses; its
docstring is its documentation (`tokaudit explain`); its VALID/INVALID examples are
run as tests by one harness. `check` reads analyses from the context and yields
findings: no I/O, nothing loaded.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

from auditor.core import Finding, RuleInfo, Severity, TokenizerView, UserError
from auditor.escape import escape_bytes, escape_text

CODE_RE = re.compile(r"^[A-Z][0-9]{3}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
REQUIREMENTS = frozenset({"tokenizer", "corpus", "model_corpus", "model", "generation"})


@dataclass(frozen=True)
class Option:
    """A rule option with a default, a type and bounds; values from config are validated."""

    name: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None

    def validate(self, rule: str, value: Any) -> Any:
        expected = type(self.default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise UserError(f"option {rule}.{self.name}: expected {expected.__name__}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise UserError(f"option {rule}.{self.name}: {value!r} is below the minimum {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise UserError(f"option {rule}.{self.name}: {value!r} is above the maximum {self.maximum}")
        if self.choices is not None and value not in self.choices:
            raise UserError(f"option {rule}.{self.name}: {value!r} is not one of {list(self.choices)}")
        return value


# A tokenizer for an example: a tokenizer.json spec (dict) or the bytes of a file.
ExampleTokenizer = Union[Mapping[str, Any], bytes]


@dataclass(frozen=True)
class Example:
    """A tokenizer on which the rule must flag exactly `flagged` (decoded token texts).

    VALID examples have `flagged=()`. The harness in tests/test_rule_examples.py builds
    the tokenizer, writes `corpus` / `model_corpus` (documents) as JSONL files when the
    rule needs them and `files` beside the tokenizer, runs only this rule, and compares the flagged texts.

    `model` gives model rules a model: a mapping is a tiny embedding-only model the
    harness writes for the tokenizer (see auditor/model/fixtures.py; its "options" are
    the run's model options); a string, or a mapping with "path", is a model folder
    relative to the repository, whose own tokenizer is used when `tokenizer` is None.
    `generation` asks for verification by prompting (a real model only).

    What the findings say, so that an INVALID example proves the rule found the right
    thing for the right reason (every INVALID example states `message`, `details`, or both;
    VALID examples state neither):

    - `message`: a fragment that the message of *every* finding contains (the cause,
      the counted characters, the document locator...).
    - `details`: a mapping of key/value pairs that the `details` of *at least one*
      finding all hold; or a tuple of such mappings, each held by a *different* finding
      (for examples whose findings differ, such as one per cause). A value is compared
      with `==`, unless it is callable: then it is a predicate on the detail's value
      (`{"max_prob": lambda p: p < 0.01}`).
    """

    description: str
    tokenizer: ExampleTokenizer | None
    flagged: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    corpus: tuple[str, ...] = ()
    model_corpus: tuple[str, ...] = ()
    # Files written beside the tokenizer (tokenizer_config.json: dict as JSON, str as text, bytes as is).
    files: Mapping[str, Any] = field(default_factory=dict)
    model: Mapping[str, Any] | str | None = None
    generation: bool = False
    message: str = ""
    details: Mapping[str, Any] | tuple[Mapping[str, Any], ...] = field(default_factory=dict)


@dataclass
class RuleContext:
    """What a rule sees: one artifact, its analyses, and the rule's validated options."""

    view: TokenizerView
    artifact: str
    options: Mapping[str, Any]
    _store: Any
    _rule: Rule

    def analysis(self, name: str) -> Any:
        if name not in self._rule.uses:
            raise RuntimeError(f"rule {self._rule.code} reads analysis {name!r} without declaring it in `uses`")
        return self._store.get(name)

    def token_text(self, token_id: int) -> str:
        """Escaped, readable text of a token (its bytes, or its piece for control tokens)."""
        tb = self.view.token_bytes[token_id]
        if tb is not None:
            return escape_bytes(tb)
        return escape_text(self.view.pieces[token_id] or "")

    def token_key_bytes(self, token_id: int) -> bytes:
        """The token's exact bytes, or its piece's UTF-8 for control tokens (no bytes)."""
        tb = self.view.token_bytes[token_id]
        return tb if tb is not None else (self.view.pieces[token_id] or "").encode("utf-8", "surrogatepass")

    def finding(self, message: str, token_id: int | None = None, **details: Any) -> Finding:
        return Finding(
            code=self._rule.code,
            name=self._rule.name,
            severity=self._rule.severity,
            message=message,
            artifact=self.artifact,
            token_id=token_id,
            token=None if token_id is None else self.token_text(token_id),
            details=details,
            token_bytes=None if token_id is None else self.token_key_bytes(token_id),
        )


class Rule:
    """Base class. Subclasses set the class attributes and implement `check`."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    requires: ClassVar[frozenset[str]] = frozenset({"tokenizer"})
    uses: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[tuple[Option, ...]] = ()
    valid: ClassVar[tuple[Example, ...]] = ()
    invalid: ClassVar[tuple[Example, ...]] = ()

    def __init__(self, options: Mapping[str, Any] | None = None, severity: Severity | None = None) -> None:
        known = {o.name: o for o in self.options}
        values = {o.name: o.default for o in self.options}
        for key, value in (options or {}).items():
            if key not in known:
                valid = ", ".join(sorted(known)) or "none"
                raise UserError(f"rule {self.code} ({self.name}) has no option {key!r}; valid options: {valid}")
            values[key] = known[key].validate(self.code, value)
        self.option_values: dict[str, Any] = values
        if severity is not None:
            self.severity = severity  # type: ignore[misc]

    def check(self, ctx: RuleContext) -> Iterator[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- documentation, derived from the class so it cannot drift ---

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        return cls.doc().split("\n", 1)[0].strip()

    @classmethod
    def info(cls) -> RuleInfo:
        return RuleInfo(
            code=cls.code,
            name=cls.name,
            severity=cls.severity,
            summary=cls.summary(),
            doc=cls.doc(),
            requires=tuple(sorted(cls.requires)),
        )

    @classmethod
    def validate_class(cls) -> None:
        """Raise when the metadata is malformed (used by the registry and a test)."""
        if not CODE_RE.match(getattr(cls, "code", "")):
            raise ValueError(f"{cls.__name__}: code must look like V101")
        if not NAME_RE.match(getattr(cls, "name", "")):
            raise ValueError(f"{cls.__name__}: name must be kebab-case")
        if not isinstance(getattr(cls, "severity", None), Severity):
            raise ValueError(f"{cls.__name__}: severity must be a Severity")
        if not cls.requires <= REQUIREMENTS:
            raise ValueError(f"{cls.__name__}: unknown requirement in {sorted(cls.requires)}")
        if not cls.__doc__:
            raise ValueError(f"{cls.__name__}: the docstring is the rule's documentation")
