"""Errors a user can cause. The CLI prints them as one line and exits with code 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input: bad path, bad file, bad option, missing extra.

    The message is shown as is, on one line, so it must name the file and the problem.
    """

    exit_code = 2


class InputError(UserError):
    """A file that exists but cannot be read as what it claims to be."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class MissingExtraError(UserError):
    """An optional dependency is needed for this input or command."""

    def __init__(self, what: str, package: str, extra: str) -> None:
        super().__init__(f"{what} needs the '{package}' package: pip install 'tokaudit[{extra}]'")


def is_error_or_panic(exc: BaseException) -> bool:
    """Exceptions, and the Rust panics of tokenizers/tiktoken (pyo3's PanicException
    derives from BaseException): both are failures to report, not to propagate."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (library errors often span many)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
