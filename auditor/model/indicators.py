"""Under-trained token indicators, exactly as docs/method.md §2 describes, and the candidates.

Default (`auto`): untied models -> L2 norm of each input-embedding row; tied models ->
cosine distance of each row, after removing the first principal component, to the mean
of the reference rows (known-unused tokens). Low = suspicious. Variants: `input-norm`,
`cosine-pc` and `cosine` (the later reference code's plain cosine distance, no PC
removal); the cosine variants read the unembedding (output) matrix of untied models.

The reference set is built from the tokenizer analysis and the embeddings, never from
a per-model table: bytes that never occur in UTF-8, byte-fallback pieces duplicating an
ASCII piece, reserved/unused tokens, padding rows beyond the vocabulary, all-zero rows;
or given by the user. Every id carries the reason it was chosen.

Candidates: OK/OK_SPECIAL ids whose indicator is at or below the 2nd percentile of the
indicator over OK ids, most suspicious first (or the N lowest, or those under a value).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.analyses.vocabulary import is_reserved_name
from auditor.core import IndicatorOptions, TokenizerView, TokenKind, UserError

NEVER_UTF8 = frozenset([0xC0, 0xC1, *range(0xF5, 0x100)])
# A row is "zero" when its norm is below this fraction of the median row norm (Llama 3's
# reserved rows: ~1e-21 against ~1).
ZERO_RELATIVE = 1e-6


@dataclass(frozen=True)
class ReferenceSet:
    """Token ids (rows) known to be untrained, each with why."""

    ids: tuple[int, ...]
    reasons: Mapping[int, str] = field(default_factory=dict)
    source: str = "automatic"  # or "user"

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for i in self.ids:
            out[self.reasons[i]] = out.get(self.reasons[i], 0) + 1
        return dict(sorted(out.items()))


def row_norms(matrix: Any) -> Any:
    """L2 norm of every row, in float64 (one pass over the matrix)."""
    import numpy as np

    m = np.asarray(matrix, dtype=np.float32)
    return np.sqrt(np.einsum("ij,ij->i", m, m)).astype(np.float64)


def zero_rows(matrix: Any, norms: Any = None) -> Any:
    """Boolean mask of all-zero or near-zero rows (norm < 1e-6 x the median norm)."""
    import numpy as np

    norms = row_norms(matrix) if norms is None else norms
    finite = norms[np.isfinite(norms)]
    median = float(np.median(finite)) if len(finite) else 0.0
    return (norms == 0) | (norms < ZERO_RELATIVE * median)


@dataclass(frozen=True)
class SpecialRoles:
    """What the model uses its special tokens for (from its config, tokenizer config, GGUF)."""

    ids: tuple[int, ...] = ()
    texts: tuple[str, ...] = ()
    chat_template: str | None = None


def has_role(view: TokenizerView, tid: int, roles: SpecialRoles) -> bool:
    """Does the model give this token a job: a role id (BOS/EOS/PAD...), a role text, or a
    piece its chat template writes?"""
    piece = view.pieces[tid]
    if tid in roles.ids:
        return True
    if not piece:
        return False
    return piece in roles.texts or piece in (roles.chat_template or "")


def reference_set(
    view: TokenizerView,
    vocab: Any,
    e_in: Any,
    matrix: Any,
    roles: SpecialRoles | None = None,
    input_norms: Any = None,
) -> ReferenceSet:
    """The automatic reference set (docs/method.md §2), one reason per id.

    First the method's sources: never-UTF-8 bytes, byte-fallback duplicates of ASCII,
    reserved/unused tokens, padding rows (and id holes), zero rows. Tokenizers without
    any (SmolLM2: no unused bytes, no reserved tokens, no padding) fall back, in turn, to
    tokens encoding never produces (unreachable), then to control tokens the model gives
    no role (not BOS/EOS/PAD/UNK..., not in the chat template): leftovers of an older
    tokenizer that the model's data does not hold.
    """
    primary = _primary_reference(view, vocab, e_in, matrix, input_norms)
    if primary:
        ids = tuple(sorted(primary))
        return ReferenceSet(ids=ids, reasons={i: primary[i] for i in ids}, source="automatic")
    rows = int(matrix.shape[0])
    n = min(view.vocab_size, rows)
    unreachable = {
        tid: "unreachable"
        for tid in range(n)
        if vocab.categories[tid] is not None
        and vocab.categories[tid].unreachable
        and view.kinds[tid] not in (TokenKind.CONTROL, TokenKind.UNKNOWN)
    }
    if unreachable:
        ids = tuple(sorted(unreachable))
        return ReferenceSet(ids=ids, reasons=unreachable, source="automatic (fallback: unreachable tokens)")
    roles = roles or SpecialRoles()
    unassigned = {}
    for tid in range(n):
        if view.pieces[tid] is None or view.kinds[tid] != TokenKind.CONTROL:
            continue
        if tid == view.unk_id or has_role(view, tid, roles):
            continue
        unassigned[tid] = "unassigned-special"
    ids = tuple(sorted(unassigned))
    return ReferenceSet(ids=ids, reasons=unassigned, source="automatic (fallback: special tokens with no role)")


def _primary_reference(view: TokenizerView, vocab: Any, e_in: Any, matrix: Any, input_norms: Any) -> dict[int, str]:
    import numpy as np

    rows = int(matrix.shape[0])
    reasons: dict[int, str] = {}
    n = min(view.vocab_size, rows)
    pieces, kinds, token_bytes = view.pieces[:n], view.kinds[:n], view.token_bytes[:n]
    normal, byte, unused = TokenKind.NORMAL, TokenKind.BYTE, TokenKind.UNUSED
    # Cheap filters first (one comprehension each), then the per-id checks on the few left.
    if None in pieces:
        for tid in (i for i, p in enumerate(pieces) if p is None):
            reasons[tid] = "id-hole"  # no token has this id: the row is padding
    singles = [i for i, tb in enumerate(token_bytes) if tb is not None and len(tb) == 1]
    for tid in singles:
        b, kind = token_bytes[tid][0], kinds[tid]  # type: ignore[index]
        if b in NEVER_UTF8 and kind in (normal, byte):
            reasons.setdefault(tid, "never-utf8-byte")
        elif kind is byte and b < 128:
            cause = vocab.causes.get(tid)
            if cause is not None and cause.code == "byte-fallback-duplicate":
                reasons.setdefault(tid, "byte-fallback-duplicate")
    flagged = [i for i, k in enumerate(kinds) if k is unused]
    flagged += [i for i, p in enumerate(pieces) if is_reserved_name(p)]
    for tid in sorted(set(flagged)):
        reasons.setdefault(tid, "reserved-or-unused")
    for tid in (i for i, k in enumerate(kinds) if k is TokenKind.PADDING):
        reasons.setdefault(tid, "padding-filler")
    for tid in range(view.vocab_size, rows):
        reasons[tid] = "padding-row"
    norms = row_norms(e_in[:rows]) if input_norms is None else input_norms[:rows]
    for tid in np.flatnonzero(zero_rows(e_in[:rows], norms)).tolist():
        reasons.setdefault(int(tid), "zero-row")
    return reasons


def user_reference(ids: Sequence[int], rows: int) -> ReferenceSet:
    bad = [i for i in ids if not 0 <= i < rows]
    if bad:
        raise UserError(f"--reference-ids: id {bad[0]} is not an embedding row (0..{rows - 1})")
    uniq = tuple(sorted(set(int(i) for i in ids)))
    if not uniq:
        raise UserError("--reference-ids: give at least one id")
    return ReferenceSet(ids=uniq, reasons={i: "user" for i in uniq}, source="user")


# Above this many multiply-adds (rows x width^2) the covariance costs more than a block
# power iteration (SmolLM2, 49k x 576: 4.9 s against 1.3 s; 256k x 2048: 2 TFLOP, minutes
# on two cores); the iteration agrees with the exact component to ~1e-12.
EXACT_PCA_LIMIT = 1e9


def first_principal_component(matrix: Any) -> Any:
    """Unit vector c of the first principal component of the rows (centred, as PCA does).

    Exact (eigendecomposition of the covariance) for matrices up to EXACT_PCA_LIMIT;
    beyond, a deterministic block power iteration that needs only products with the
    matrix, and the exact way when it does not converge.
    """
    import numpy as np

    m = np.asarray(matrix, dtype=np.float32)
    mean = m.mean(axis=0, dtype=np.float64)
    n, d = m.shape
    c = None
    if float(n) * d * d > EXACT_PCA_LIMIT:
        c = _power_iteration(m, mean)
    if c is None:
        cov = (m.T @ m).astype(np.float64) - n * np.outer(mean, mean)
        _w, v = np.linalg.eigh(cov)
        c = v[:, -1]
    c = c / np.linalg.norm(c)
    # Fix the sign so the output is deterministic across LAPACK builds.
    k = int(np.argmax(np.abs(c)))
    return (c if c[k] >= 0 else -c).astype(np.float64)


def _power_iteration(m: Any, mean: Any, block: int = 8, max_iter: int = 25) -> Any | None:
    """Top eigenvector of the covariance by block power iteration with Rayleigh-Ritz (the
    leading Ritz vector converges like (lambda_9 / lambda_1)^k); None when it does not
    converge within `max_iter` products, which bounds the time lost before the exact way."""
    import numpy as np

    d = m.shape[1]
    rng = np.random.default_rng(0)
    q = np.linalg.qr(rng.standard_normal((d, min(block, d))))[0]
    mean32 = mean.astype(np.float32)
    previous = None
    for _ in range(max_iter):
        q32 = q.astype(np.float32)
        z = m @ q32 - (mean32 @ q32)[None, :]
        y = (m.T @ z).astype(np.float64) - np.outer(mean, z.sum(axis=0, dtype=np.float64))  # C q
        h = q.T @ y
        _w, v = np.linalg.eigh((h + h.T) / 2)
        v = v[:, ::-1]
        ritz = q @ v[:, 0]
        if previous is not None and abs(abs(float(ritz @ previous)) - 1) < 1e-12:
            return ritz
        previous = ritz
        q = np.linalg.qr(y @ v)[0]
    return None


def cosine_distance_to_reference(matrix: Any, ref_ids: Sequence[int], remove_pc: bool) -> Any:
    """1 - cos(row, mean of reference rows), optionally after removing the first PC."""
    import numpy as np

    m = np.asarray(matrix, dtype=np.float32)
    if remove_pc:
        c = first_principal_component(m).astype(np.float32)
        m = m - np.outer(m @ c, c)
    ref_mean = m[np.asarray(ref_ids, dtype=np.int64)].astype(np.float64).mean(axis=0)
    ref_norm = float(np.linalg.norm(ref_mean))
    norms = np.linalg.norm(m, axis=1).astype(np.float64)
    dots = (m @ ref_mean.astype(np.float32)).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = dots / (norms * ref_norm)
    dist = 1.0 - cos
    # A zero row has no direction: it is as untrained as a row can be, so it gets 0.
    dist[norms == 0] = 0.0
    if ref_norm == 0:
        dist[:] = np.nan
    return dist


@dataclass(frozen=True)
class Indicators:
    """Indicator per embedding row (low = suspicious) and the candidates for verification."""

    name: str  # input-norm, cosine-pc, cosine
    matrix: str  # which matrix it read: input, output, shared
    values: Any  # numpy float64 [rows]
    reference: ReferenceSet
    candidates: tuple[int, ...]  # most suspicious first
    cutoff: float | None  # the indicator value at or below which OK ids are candidates
    selection: str
    notes: tuple[str, ...] = ()


def compute_indicators(
    view: TokenizerView,
    vocab: Any,
    input_matrix: Any,
    output_matrix: Any | None,
    options: IndicatorOptions,
    roles: SpecialRoles | None = None,
) -> Indicators:
    """Indicator of every row and the candidates, per `options` (docs/method.md §2)."""
    import numpy as np

    tied = output_matrix is None
    name = options.indicator
    if name == "auto":
        name = "cosine-pc" if tied else "input-norm"
    if name == "input-norm":
        matrix, which = input_matrix, "input"
    else:
        matrix, which = (input_matrix, "shared") if tied else (output_matrix, "output")
    rows = int(matrix.shape[0])
    notes: list[str] = []
    input_norms = row_norms(input_matrix)
    if options.reference_ids is not None:
        ref = user_reference(options.reference_ids, rows)
    else:
        ref = reference_set(view, vocab, input_matrix, matrix, roles, input_norms)
    if name == "input-norm":
        values = input_norms
    else:
        usable = [i for i in ref.ids if i < rows]
        if not usable:
            raise UserError(
                f"the {name} indicator needs reference rows of unused tokens and none were found "
                "(no never-UTF-8 bytes, reserved tokens, padding or zero rows, unreachable or unassigned "
                "special tokens): give --reference-ids "
                "or use --indicator input-norm"
            )
        values = cosine_distance_to_reference(matrix, usable, remove_pc=(name == "cosine-pc"))
        if len(values) and bool(np.all(np.isnan(values))):
            raise UserError(
                f"the {name} indicator is undefined: the mean of the {len(usable)} reference rows is zero "
                "(all-zero rows have no direction); give other --reference-ids or use --indicator input-norm"
            )
    bad = ~np.isfinite(values)
    if bad.any():
        notes.append(f"{int(bad.sum())} rows have no finite indicator (NaN weights?): never candidates")
    cands, cutoff = select_candidates(vocab, values, options, view.vocab_size)
    return Indicators(
        name=name,
        matrix=which,
        values=values,
        reference=ref,
        candidates=cands,
        cutoff=cutoff,
        selection=options.selection(),
        notes=tuple(notes),
    )


def select_candidates(
    vocab: Any, values: Any, options: IndicatorOptions, vocab_size: int
) -> tuple[tuple[int, ...], float | None]:
    """OK/OK_SPECIAL ids at or below the cutoff, most suspicious first (ties: lower id first)."""
    import numpy as np

    from auditor.analyses.vocabulary import Category

    n = min(vocab_size, len(values))
    ok_, oks = Category.OK, Category.OK_SPECIAL
    ok = np.fromiter((c is ok_ or c is oks for c in vocab.categories[:n]), dtype=bool, count=n)
    ok &= np.isfinite(values[:n])
    ok_ids = np.flatnonzero(ok)
    if len(ok_ids) == 0:
        return (), None
    ok_values = values[ok_ids]
    order = np.lexsort((ok_ids, ok_values))
    if options.candidates_count is not None:
        picked = ok_ids[order[: options.candidates_count]]
        cutoff = float(ok_values[order[options.candidates_count - 1]]) if options.candidates_count else None
        return tuple(int(i) for i in picked), cutoff
    if options.threshold is not None:
        cutoff = float(options.threshold)
    else:
        cutoff = float(np.percentile(ok_values, options.candidates_percent))
    sorted_ids = ok_ids[order]
    sorted_values = ok_values[order]
    keep = sorted_values <= cutoff
    return tuple(int(i) for i in sorted_ids[keep]), cutoff
