"""In what order candidates are verified (the set verified by `--budget full` never changes).

The order matters for the adaptive budget only: it stops when recent candidates stop
yielding, so an order that puts the under-trained tokens first verifies fewer.

- `indicator` (default): the paper's indicator, lowest first (docs/method.md §2).
- `roles-last`: the same, with the special tokens the model gives a job (BOS/EOS/PAD
  ids, role texts, pieces its chat template writes) moved after the others. An instruct
  model is trained on its chat tokens, yet they sit low on the indicator (SmolLM2-135M-
  Instruct: `<|im_start|>` and `<|im_end|>` are candidates 25 and 27 of 977, both
  repeated with probability 0.21), so they cost verification at the head of the list.
  Not the default: in a *base* model shipped with an instruct chat template the chat
  tokens can be the untrained ones (Llama 3 base), and the adaptive budget might stop
  before it reaches them at the tail.

Measured with benchmarks/bench_budget.py (docs/benchmarks.md, "Adaptive budget"), where the other
orderings tried (input-row norm, and the mean rank of the two indicators) are compared
too: both found the same tokens later, so they are not offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor.core import ORDERINGS, UserError


def order_candidates(ids: Sequence[int], ordering: str, view: Any, roles: Any) -> list[int]:
    """`ids` (already in indicator order) in the verification order `ordering` names."""
    if ordering not in ORDERINGS:
        raise UserError(f"--order {ordering!r}: choose one of {', '.join(ORDERINGS)}")
    ids = [int(i) for i in ids]
    if ordering == "indicator":
        return ids
    from auditor.core import TokenKind
    from auditor.model.indicators import has_role

    special = (TokenKind.CONTROL, TokenKind.USER_DEFINED)
    with_role = [i for i in ids if i < view.vocab_size and view.kinds[i] in special and has_role(view, i, roles)]
    demoted = set(with_role)
    return [i for i in ids if i not in demoted] + with_role
