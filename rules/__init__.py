"""Built-in rules, one module per rule, grouped by family (vocabulary/, ...).

Codes are stable and never reused: V = vocabulary (tokenizer only), M = model (embeddings,
verification).
"""

from __future__ import annotations

from rules.model.candidates import UnderTrainedCandidate
from rules.model.ids_beyond_rows import TokenIdBeyondEmbedding
from rules.model.padding_rows import PaddingEmbeddingRows
from rules.model.verified import VerifiedUnderTrained
from rules.model.zero_rows import ZeroEmbeddingRow
from rules.vocabulary.byte_coverage import MissingByteCoverage
from rules.vocabulary.duplicate_bytes import DuplicateTokenBytes
from rules.vocabulary.id_gaps import VocabularyIdGap
from rules.vocabulary.partial_utf8 import PartialUtf8Token
from rules.vocabulary.reserved import ReservedToken
from rules.vocabulary.special_in_text import SpecialTokenInText
from rules.vocabulary.unreachable import UnreachableToken

BUILTIN_RULES = (
    UnreachableToken,
    PartialUtf8Token,
    DuplicateTokenBytes,
    SpecialTokenInText,
    MissingByteCoverage,
    ReservedToken,
    VocabularyIdGap,
    TokenIdBeyondEmbedding,
    PaddingEmbeddingRows,
    ZeroEmbeddingRow,
    UnderTrainedCandidate,
    VerifiedUnderTrained,
)
