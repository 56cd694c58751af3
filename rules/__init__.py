"""Built-in rules, one module per rule, grouped by family (vocabulary/, preprocessing/, ...).

Codes are stable and never reused: V = vocabulary (tokenizer only), P = preprocessing
and mismatch (configuration, probe strings, behaviour lock, implementations), C = corpus,
M = model (embeddings, verification).
"""

from __future__ import annotations

from rules.corpus.lossy_round_trip import LossyRoundTrip
from rules.corpus.scaffold import ScaffoldToken
from rules.corpus.single_document import SingleDocumentMerge
from rules.corpus.unknown_rate import UnknownTokenRate
from rules.corpus.unseen import UnseenToken
from rules.model.candidates import UnderTrainedCandidate
from rules.model.ids_beyond_rows import TokenIdBeyondEmbedding
from rules.model.padding_rows import PaddingEmbeddingRows
from rules.model.verified import VerifiedUnderTrained
from rules.model.zero_rows import ZeroEmbeddingRow
from rules.preprocessing.added_token_flags import AddedTokenFlagsAlterText
from rules.preprocessing.cleanup_spaces import CleanupSpacesOnLosslessTokenizer
from rules.preprocessing.corpus_mismatch import CorpusPreprocessingMismatch
from rules.preprocessing.decoder_inverse import DecoderNotInverse
from rules.preprocessing.double_bos import DuplicateBosEos
from rules.preprocessing.implementation_mismatch import ImplementationMismatch
from rules.preprocessing.lock_mismatch import LockMismatch
from rules.preprocessing.lossy_normalizer import LossyNormalizer
from rules.preprocessing.prefix_space import PrefixSpaceMismatch
from rules.preprocessing.pretokenizer_family import PreTokenizerFamily, PreTokenizerVocabularyMismatch
from rules.preprocessing.probe_roundtrip import ProbeRoundTrip
from rules.preprocessing.split_string import SplitPatternIsString
from rules.preprocessing.stop_tokens import StopTokenMismatch
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
    # preprocessing
    SplitPatternIsString,
    LossyNormalizer,
    DecoderNotInverse,
    CleanupSpacesOnLosslessTokenizer,
    AddedTokenFlagsAlterText,
    DuplicateBosEos,
    PrefixSpaceMismatch,
    ProbeRoundTrip,
    LockMismatch,
    ImplementationMismatch,
    StopTokenMismatch,
    PreTokenizerFamily,
    PreTokenizerVocabularyMismatch,
    CorpusPreprocessingMismatch,
    # corpus
    SingleDocumentMerge,
    ScaffoldToken,
    UnseenToken,
    LossyRoundTrip,
    UnknownTokenRate,
    # model
    TokenIdBeyondEmbedding,
    PaddingEmbeddingRows,
    ZeroEmbeddingRow,
    UnderTrainedCandidate,
    VerifiedUnderTrained,
)
