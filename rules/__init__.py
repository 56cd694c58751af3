"""Built-in rules, one module per rule, grouped by family (vocabulary/, ...).

Codes are stable and never reused: V = vocabulary (tokenizer only), C = corpus.
"""

from __future__ import annotations

from rules.corpus.lossy_round_trip import LossyRoundTrip
from rules.corpus.scaffold import ScaffoldToken
from rules.corpus.single_document import SingleDocumentMerge
from rules.corpus.unknown_rate import UnknownTokenRate
from rules.corpus.unseen import UnseenToken
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
    SingleDocumentMerge,
    ScaffoldToken,
    UnseenToken,
    LossyRoundTrip,
    UnknownTokenRate,
)
