"""Verification throughput: the batched verifier against the reference's way, in one run.

    python benchmarks/bench_verify.py                                  # the tiny fixture model
    python benchmarks/bench_verify.py --model PATH/SmolLM2-135M-Instruct.Q4_1.gguf --count 48

The reference's way (docs/method.md §3) is one candidate, one prompt, one `generate` call
(greedy, 3 new tokens, raw logits) at a time. Measured on the same model, the same
candidates (the audit's indicator candidates: all of them, or `--count` spread evenly
over the list, so the mix of ordinary and under-trained tokens is the list's) and the
same device, each mode repeated `--repeat` times (minimum kept):

- reference: `generate` per candidate per prompt;
- batched exact: batches, KV cache, shared prefix, every step of every prompt;
- batched (default): the same with early rejection.

Verdicts must be identical to the reference's (the script exits 1 otherwise) and the
exact mode's max probabilities are compared with the reference's. The per-prompt
rejection rates printed at the end are what the default prompt order rests on.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TINY = REPO / "sample_corpora" / "tiny_model" / "model"


def candidates(model: str, view, count: int | None, which: str) -> list[int]:
    from auditor.core import RunInputs
    from auditor.store import AnalysisStore

    store = AnalysisStore(view, RunInputs(model=model))
    if which == "all":
        vocab = store.get("vocabulary")
        ids = [i for i, c in enumerate(vocab.categories) if c is not None and c.reachable]
    else:
        ids = list(store.get("indicators").candidates)
    if count is None or count >= len(ids):
        return ids
    if which == "head":
        return ids[:count]
    step = len(ids) / count
    return [ids[int(k * step)] for k in range(count)]


def timed(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(TINY), help="model folder or GGUF file (default: the tiny fixture)")
    ap.add_argument("--tokenizer", default=None, help="tokenizer (default: the model's)")
    ap.add_argument("--count", type=int, default=None, help="candidates to verify (default: all of the set)")
    ap.add_argument(
        "--set",
        dest="which",
        choices=["spread", "head", "all"],
        default="spread",
        help="spread: evenly over the candidate list; head: its first ones; all: every OK token",
    )
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    import torch

    from auditor.loaders import load_tokenizer
    from auditor.model.locate import tokenizer_path
    from auditor.model.verify import Verifier, VerifyOptions, reference_probs

    view = load_tokenizer(args.tokenizer or tokenizer_path(args.model, None))
    ids = candidates(args.model, view, args.count, args.which)
    t = time.perf_counter()
    fast = Verifier(args.model, view, VerifyOptions(device=args.device, batch_size=args.batch_size))
    load_s = time.perf_counter() - t
    exact = Verifier(
        args.model, view, VerifyOptions(device=args.device, batch_size=args.batch_size, exact=True), model=fast.model
    )
    print(
        f"model {args.model}: loaded in {load_s:.1f}s (not counted), device {fast.device}, dtype {fast.dtype}, "
        f"torch threads {torch.get_num_threads()}, placeholder {fast.prompts.placeholder_id} "
        f"{fast.prompts.placeholder_text!r}, {len(ids)} candidates ({args.which})"
    )
    thr = fast.options.threshold

    def reference():
        return {i: reference_probs(fast, i) for i in ids}

    def batched(v):
        return lambda: [r for batch in v.iter_batches(ids) for r in batch]

    ref_s, ref = timed(reference, args.repeat)
    exact_s, ex = timed(batched(exact), args.repeat)
    fast_s, fa = timed(batched(fast), args.repeat)

    ref_max = {i: max(max(v) for v in ref[i].values()) for i in ids}
    ref_verdict = {i: ("under-trained" if ref_max[i] < thr else "ok") for i in ids}
    n = len(ids)
    print(f"\n{'mode':<34}{'seconds':>9}{'cand/s':>9}{'vs reference':>14}")
    for name, sec in (
        ("reference (generate, one at a time)", ref_s),
        ("batched exact", exact_s),
        ("batched, early rejection", fast_s),
    ):
        print(f"{name:<34}{sec:>9.2f}{n / sec:>9.2f}{ref_s / sec:>13.2f}x")

    bad = 0
    for results, label in ((ex, "exact"), (fa, "early rejection")):
        diffs = [i for r, i in zip(results, ids) if r.verdict != ref_verdict[i]]
        if diffs:
            bad += 1
            print(f"VERDICTS DIFFER ({label}): {diffs}")
    max_diff = max(abs(r.max_prob - ref_max[i]) for r, i in zip(ex, ids))
    under = sum(v == "under-trained" for v in ref_verdict.values())
    print(
        f"\nverdicts identical to the reference: {'yes' if not bad else 'NO'}; "
        f"{under} of {n} under-trained; exact max_prob vs reference: max |diff| {max_diff:.2e}"
    )
    for name in fast.options.template_order:
        rejects = sum(max(ref[i][name]) >= thr for i in ids)
        alone = sum(max(ref[i][name]) >= thr and all(max(ref[i][o]) < thr for o in ref[i] if o != name) for i in ids)
        length = len(fast.prompts.by_name(name).ids)
        print(f"prompt {name:<18} {length:>4} ids: rejects {rejects}/{n - under} ordinary tokens ({alone} only it)")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
