"""Benchmark: indicators from a model folder vs loading the full model.

    .venv/bin/python benchmarks/bench_indicators.py [--vocab 32000] [--hidden 768] [--layers 12] [--repeat 3]

1. Builds, deterministically (seeds 1234), a Llama-style causal LM folder in a temporary
   directory: random weights (untied embeddings, bfloat16 safetensors, as checkpoints
   ship), `config.json`, and a synthetic byte-level BPE tokenizer.json of the same size
   (benchmarks/synth_vocab.py).
2. The vocabulary analysis (the same for both ways) runs once, untimed.
3. Fresh processes, as a user runs them, best of --repeat: the wall time of a Python
   process that (a) reads the embeddings with `read_embeddings(folder)` and computes
   the default indicator (untied: input-embedding norms), against one that (b) loads
   the model with `AutoModelForCausalLM.from_pretrained(folder)`, takes
   `get_input_embeddings()` / `get_output_embeddings()` as float32 numpy and computes the
   same norms. (b) pays for importing torch and transformers, which is part of its way.
4. In this process, after both libraries are imported and the files are in the page
   cache (the baseline's best case), best of --repeat: (a) `read_embeddings` + the full
   `compute_indicators` (reference set, candidates) vs (b) the model load + the same
   `compute_indicators`. The indicator values and candidates of (a) and (b) must be
   identical.
5. The same as 4 on the real SmolLM2-135M-Instruct GGUF (Q4_1) when present: `read_embeddings`
   (dequantises one tensor) vs `AutoModelForCausalLM.from_pretrained(gguf_file=...)`
   (dequantises everything), once each; and the cosine-pc indicator on its matrix, with
   the default PCA (power iteration) and with the exact covariance.

Prints each time and the ratio; exit code 0 unless something crashed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
SMOLLM2 = Path(os.environ.get("TOKAUDIT_REAL_MATERIAL", REPO / ".real_material")) / (
    "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
)


def build_model(folder: Path, vocab: int, hidden: int, layers: int) -> None:
    import torch
    from synth_vocab import build_spec
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(1234)
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=hidden * 8 // 3 // 64 * 64,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 64),
        num_key_value_heads=max(1, hidden // 64),
        tie_word_embeddings=False,
        max_position_embeddings=512,
    )
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "tokenizer.json").write_text(json.dumps(build_spec(vocab, seed=1234)), encoding="utf-8")


OURS = """
import sys; sys.path.insert(0, {repo!r})
from auditor.model.embeddings import read_embeddings
from auditor.model.indicators import row_norms
e = read_embeddings({folder!r})
values = row_norms(e.input)
print(float(values.sum()))
"""
BASELINE = """
import sys; sys.path.insert(0, {repo!r})
from transformers import AutoModelForCausalLM
from auditor.model.indicators import row_norms
m = AutoModelForCausalLM.from_pretrained({folder!r}, local_files_only=True)
e_in = m.get_input_embeddings().weight.detach().float().numpy()
e_out = m.get_output_embeddings().weight.detach().float().numpy()
values = row_norms(e_in)
print(float(values.sum()))
"""


def fresh(code: str, repeat: int) -> tuple[float, str]:
    import subprocess

    times, out = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t0)
        out = proc.stdout.strip().splitlines()[-1]
    return min(times), out


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import numpy as np
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    from auditor.analyses.vocabulary import analyze_vocabulary
    from auditor.core import IndicatorOptions
    from auditor.loaders import load_tokenizer
    from auditor.model.embeddings import read_embeddings
    from auditor.model.indicators import compute_indicators

    print(
        f"python {sys.version.split()[0]}, torch {torch.__version__}, transformers {transformers.__version__}, "
        f"{os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        t0 = time.perf_counter()
        build_model(folder, args.vocab, args.hidden, args.layers)
        size = sum(f.stat().st_size for f in folder.glob("*.safetensors"))
        print(
            f"model: vocab {args.vocab}, hidden {args.hidden}, {args.layers} layers, untied, bf16, "
            f"{size / 1e6:.0f} MB of safetensors (built in {time.perf_counter() - t0:.1f} s)"
        )
        t_a, sum_a = fresh(OURS.format(repo=str(REPO), folder=str(folder)), args.repeat)
        t_b, sum_b = fresh(BASELINE.format(repo=str(REPO), folder=str(folder)), args.repeat)
        print(f"fresh process, (a) read_embeddings + norms:     {t_a * 1000:8.1f} ms (best of {args.repeat})")
        print(f"fresh process, (b) AutoModelForCausalLM + norms: {t_b * 1000:8.1f} ms (best of {args.repeat})")
        print(f"ratio (b)/(a): {t_b / t_a:.1f}x  (target >= 5x); same indicator sums: {sum_a == sum_b}")
        view = load_tokenizer(folder / "tokenizer.json")
        vocab = analyze_vocabulary(view)
        options = IndicatorOptions()

        def ours():
            emb = read_embeddings(folder)
            return compute_indicators(view, vocab, emb.input, emb.output, options)

        def baseline():
            model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True)
            e_in = model.get_input_embeddings().weight.detach().float().numpy()
            e_out = model.get_output_embeddings().weight.detach().float().numpy()
            return compute_indicators(view, vocab, e_in, e_out, options)

        baseline()  # warm the page cache and lazy imports for both
        t_ours, ind_a = best(ours, args.repeat)
        t_base, ind_b = best(baseline, args.repeat)
        same = np.array_equal(ind_a.values, ind_b.values) and ind_a.candidates == ind_b.candidates
        print(
            f"warm, in process, (a) read_embeddings + indicators:      {t_ours * 1000:8.1f} ms (best of {args.repeat})"
        )
        print(
            f"warm, in process, (b) AutoModelForCausalLM + indicators: {t_base * 1000:8.1f} ms (best of {args.repeat})"
        )
        print(f"ratio (b)/(a): {t_base / t_ours:.1f}x; identical indicators and candidates: {same}")
        opt = IndicatorOptions(indicator="cosine-pc")
        emb = read_embeddings(folder)
        t_ind, _ = best(lambda: compute_indicators(view, vocab, emb.input, emb.output, opt), args.repeat)
        print(f"    (the cosine-pc variant alone on the output matrix: {t_ind * 1000:.1f} ms)")

    if SMOLLM2.exists():
        print(f"SmolLM2-135M-Instruct Q4_1 GGUF ({SMOLLM2.stat().st_size / 1e6:.0f} MB), once each:")
        t0 = time.perf_counter()
        emb = read_embeddings(SMOLLM2)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        model = AutoModelForCausalLM.from_pretrained(str(SMOLLM2.parent), gguf_file=SMOLLM2.name, local_files_only=True)
        e_in = model.get_input_embeddings().weight.detach().float().numpy()
        t_base = time.perf_counter() - t0
        diff = float(np.abs(e_in - emb.input).max())
        print(f"(a) read_embeddings (GGUF):                {t_ours * 1000:8.1f} ms")
        print(f"(b) AutoModelForCausalLM(gguf_file=...):    {t_base * 1000:8.1f} ms")
        print(f"ratio (b)/(a): {t_base / t_ours:.1f}x; max |difference| of the embeddings: {diff:.2e}")
        import auditor.model.indicators as indicators

        ref = list(range(3, 17))  # its reference set: the special tokens it gives no role
        t_pc, fast = best(lambda: indicators.cosine_distance_to_reference(emb.input, ref, True), 1)
        limit, indicators.EXACT_PCA_LIMIT = indicators.EXACT_PCA_LIMIT, float("inf")
        t_exact, exact = best(lambda: indicators.cosine_distance_to_reference(emb.input, ref, True), 1)
        indicators.EXACT_PCA_LIMIT = limit
        print(
            f"cosine-pc on SmolLM2's matrix: {t_pc * 1000:.0f} ms (power iteration); {t_exact * 1000:.0f} ms "
            f"with the exact covariance; max |difference| {float(np.abs(fast - exact).max()):.1e}"
        )
    else:
        print(f"SmolLM2 GGUF not present at {SMOLLM2}: skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
