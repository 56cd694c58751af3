"""A document of a corpus, as the corpus reader yields it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """One document of a corpus.

    `source` is the file (or dataset folder) it came from, `index` the record index or
    line number within it (0-based record, 1-based line: see `locator`), `text` the text.
    """

    source: str
    index: int
    text: str
    unit: str = "record"  # "record", "line" or "file"

    @property
    def locator(self) -> str:
        """How a user finds it again: `data/a.jsonl:record 17`, `notes.txt:line 3`, `doc.txt`."""
        if self.unit == "file":
            return self.source
        return f"{self.source}:{self.unit} {self.index}"
