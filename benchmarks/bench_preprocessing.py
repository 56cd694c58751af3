"""Benchmark: what the preprocessing rules cost, and implementation equivalence speed.

    python benchmarks/bench_preprocessing.py [--size 256000] [--runs 3] [--docs 10000]

1. Lint of the synthetic 256k byte-level BPE (benchmarks/synth_vocab.py), in this
   process with the engine's loop on a fresh view each run: the baseline is the V rules
   (vocabulary analysis included), then every P rule with the analyses it uses is timed
   on top: that is what P adds to `tokaudit lint` (budget 1 s). Again with a
   `tokaudit.lock` beside the file (P111 hashes the vocabulary), and with an NFKC
   normaliser (P102 runs it over all 256k entries: the worst case). `--e2e` adds whole
   `lint --select V` / `--select V,P` runs in fresh processes (too noisy on a shared
   machine to show a sub-second difference).
2. Implementation equivalence on a deterministic 10k-document sample: the real GPT-2
   rank file (tiktoken) against a tokenizer.json built from the same ranks (tokenizers).
   Baseline: each implementation's own batch encoding of the sample, alone, in this run;
   then `auditor.preprocessing.equivalence.compare` of both. The ratio is the comparison's speed over
   the slower implementation's; the target is at least 0.5.

Prints the figures; it is a benchmark, not a test (exit code 0 unless it crashes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from synth_vocab import build_spec

GPT2_RANKS = Path(os.environ.get("TOKAUDIT_REAL_MATERIAL", REPO / ".real_material")) / "tiktoken" / "r50k_base.tiktoken"


def lint_seconds(path: Path, select: str, runs: int) -> float:
    """Best wall-clock of `python -m auditor lint` in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "auditor",
                "lint",
                str(path),
                "--select",
                select,
                "--format",
                "json",
                "-o",
                os.devnull,
                "--no-progress",
                "-q",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - t0
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"lint failed ({proc.returncode}): {proc.stderr.strip()}")
        best = min(best, elapsed)
    return best


def p_rules_seconds(path: Path, runs: int) -> tuple[float, float]:
    """(best time of the V rules, best time the P rules add), in this process, on a fresh view each run.

    The engine's own loop: the vocabulary analysis and V rules first (the baseline),
    then every P rule with the analyses it uses (timed alone: what P adds to lint)."""
    from auditor.core import artifact_name
    from auditor.loaders import load_tokenizer
    from auditor.registry import select_rules
    from auditor.rulebase import RuleContext
    from auditor.store import AnalysisStore

    v_rules = [cls() for cls in select_rules(["V"]).rules]
    p_rules = [
        cls() for cls in select_rules(["P"]).rules if cls.requires <= {"tokenizer"}
    ]  # as a lint of the file alone

    def run(rules: list, store: AnalysisStore) -> int:
        n = 0
        for rule in rules:
            for analysis in rule.uses:
                store.get(analysis)
            ctx = RuleContext(
                view=store.view, artifact=store.view.path, options=rule.option_values, _store=store, _rule=rule
            )
            n += len(list(rule.check(ctx)))
        return n

    best_v = best_p = float("inf")
    for _ in range(runs):
        view = load_tokenizer(path)
        view.path = artifact_name(path)
        store = AnalysisStore(view)
        t0 = time.perf_counter()
        run(v_rules, store)
        t1 = time.perf_counter()
        run(p_rules, store)
        t2 = time.perf_counter()
        best_v, best_p = min(best_v, t1 - t0), min(best_p, t2 - t1)
    return best_v, best_p


def part_lint(size: int, runs: int, e2e: bool) -> None:
    print(f"== 1. lint of a {size}-id byte-level BPE: what the P rules add (best of {runs})")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spec = build_spec(size, 1234)
        path = folder / "tokenizer.json"
        path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        v, p = p_rules_seconds(path, runs)
        print(f"  in process: V rules (baseline) {v:6.2f} s; P rules add {p:6.3f} s (budget 1 s)")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        subprocess.run([sys.executable, "-m", "auditor", "lock", str(path), "-q"], env=env, check=True)
        v, p = p_rules_seconds(path, runs)
        print(f"  with a tokaudit.lock:       V rules (baseline) {v:6.2f} s; P rules add {p:6.3f} s")
        (folder / "tokaudit.lock").unlink()
        nfkc = dict(spec, normalizer={"type": "NFKC"})
        nfkc_path = folder / "nfkc" / "tokenizer.json"
        nfkc_path.parent.mkdir()
        nfkc_path.write_text(json.dumps(nfkc, ensure_ascii=False), encoding="utf-8")
        v, p = p_rules_seconds(nfkc_path, runs)
        print(f"  with an NFKC normaliser:    V rules (baseline) {v:6.2f} s; P rules add {p:6.3f} s")
        if e2e:  # alternated, so that load from other jobs hits both alike
            base = with_p = float("inf")
            for _ in range(runs):
                base = min(base, lint_seconds(path, "V", 1))
                with_p = min(with_p, lint_seconds(path, "V,P", 1))
            print(
                f"  end to end (fresh process, noisy on a shared machine): --select V {base:.2f} s,"
                f" --select V,P {with_p:.2f} s"
            )


def sample_documents(n: int, seed: int = 1234) -> list[str]:
    """Deterministic mixed documents: prose, numbers, code with indentation and CRLF, Unicode."""
    rng = random.Random(seed)
    words = [
        "the",
        "of",
        "and",
        "to",
        "in",
        "is",
        "was",
        "for",
        "on",
        "that",
        "with",
        "as",
        "by",
        "at",
        "from",
        "this",
        "have",
        "are",
        "be",
        "it",
        "not",
        "or",
        "an",
        "tokenizer",
        "model",
        "training",
        "data",
        "corpus",
        "language",
        "text",
        "encode",
        "decode",
        "merge",
        "vocabulary",
        "byte",
        "café",
        "naïve",
        "über",
        "Straße",
        "日本語",
        "привет",
        "مرحبا",
        "👍",
    ]
    docs = []
    for k in range(n):
        kind = k % 4
        if kind == 3:
            body = "\r\n".join(
                "    " * rng.randint(0, 3) + f"x{rng.randint(0, 99)} = f({rng.randint(0, 9999)}, '{rng.choice(words)}')"
                for _ in range(rng.randint(3, 12))
            )
        else:
            sentences = []
            for _ in range(rng.randint(2, 8)):
                ws = [rng.choice(words) for _ in range(rng.randint(5, 20))]
                if rng.random() < 0.3:
                    ws.insert(rng.randrange(len(ws)), f"{rng.randint(0, 10 ** rng.randint(1, 7))}")
                sentences.append(" ".join(ws).capitalize() + rng.choice([".", "!", "?", ","]))
            body = " ".join(sentences) + ("\n\n" if kind == 1 else "")
        docs.append(body)
    return docs


def _rank_bpe(data: bytes, ranks: dict[bytes, int], below: int) -> list[bytes]:
    """tiktoken's BPE on `data` using only ranks below `below`: the parts it ends with."""
    parts = [data[i : i + 1] for i in range(len(data))]
    while len(parts) > 1:
        best = None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and r < below and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            break
        i = best[1]
        parts[i : i + 2] = [parts[i] + parts[i + 1]]
    return parts


def gpt2_tokenizer_json(folder: Path) -> Path:
    """tokenizer.json for the GPT-2 ranks: same vocabulary, merges, regex and special token.

    Each token's merge is the last step of tiktoken's own BPE on its bytes (ranks below
    its rank), so the merges reproduce the rank file exactly."""
    from auditor.loaders import load_tokenizer
    from auditor.loaders.bytelevel import bytes_to_piece
    from auditor.loaders.tiktoken_file import PRESETS, parse_ranks

    view = load_tokenizer(GPT2_RANKS)
    ranks = parse_ranks(GPT2_RANKS, GPT2_RANKS.read_bytes())
    merges = []
    for tb, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(tb) > 1:
            parts = _rank_bpe(tb, ranks, rank)
            if len(parts) == 2:
                merges.append([bytes_to_piece(parts[0]), bytes_to_piece(parts[1])])
    vocab = {p: i for i, p in enumerate(view.pieces) if p is not None and i != 50256}
    spec = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": 50256,
                "content": "<|endoftext|>",
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
        ],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": {"Regex": PRESETS["r50k_base"].pattern},
                    "behavior": "Isolated",
                    "invert": False,
                },
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
            ],
        },
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": merges,
        },
    }
    path = folder / "tokenizer.json"
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return path


def gpt2_gguf(folder: Path, tokenizer_json: Path) -> Path | None:
    """A vocab-only GGUF of the same tokenizer (`tokenizer.ggml.pre` = gpt-2), or None without gguf."""
    try:
        import gguf
    except ImportError:
        return None
    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    vocab = dict(spec["model"]["vocab"])
    vocab["<|endoftext|>"] = 50256
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    path = folder / "gpt2.gguf"
    w = gguf.GGUFWriter(str(path), arch="gpt2")
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "gpt-2")
    w.add_array("tokenizer.ggml.tokens", tokens)
    w.add_array("tokenizer.ggml.token_type", [3 if t == "<|endoftext|>" else 1 for t in tokens])
    w.add_array("tokenizer.ggml.merges", [f"{a} {b}" for a, b in spec["model"]["merges"]])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    return path


def best_of(runs: int, fn) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def part_equivalence(n_docs: int, runs: int) -> None:
    print(f"== 2. implementation equivalence on {n_docs} documents (best of {runs})")
    if not GPT2_RANKS.exists():
        print(f"  skipped: {GPT2_RANKS} not present (set TOKAUDIT_REAL_MATERIAL)")
        return
    from auditor.loaders import load_tokenizer
    from auditor.preprocessing.equivalence import Implementation, compare

    docs = sample_documents(n_docs)
    chars = sum(map(len, docs))
    print(f"  sample: {n_docs} documents, {chars / 1e6:.2f} M characters")
    with tempfile.TemporaryDirectory() as tmp:
        tj = gpt2_tokenizer_json(Path(tmp))
        a = Implementation.of_view(load_tokenizer(tj), "tokenizer.json")
        pairs = [(a, Implementation.of_view(load_tokenizer(GPT2_RANKS), "r50k_base.tiktoken"))]
        gg = gpt2_gguf(Path(tmp), tj)
        if gg is not None:  # two implementations of the same speed: the hardest case for the ratio
            pairs.append((a, Implementation.of_view(load_tokenizer(gg), "gpt2.gguf")))
        batches = [docs[k : k + 512] for k in range(0, len(docs), 512)]  # compare's batch size
        for x, y in pairs:
            t_a, _ = best_of(runs, lambda: [x.encode_batch(b) for b in batches])
            t_b, _ = best_of(runs, lambda: [y.encode_batch(b) for b in batches])
            t_c, eq = best_of(runs, lambda: compare(x, y, docs))
            slower = max(t_a, t_b)
            print(f"  {x.name} vs {y.name}")
            print(f"    baseline {x.name}: {t_a:6.2f} s  ({n_docs / t_a:8.0f} docs/s)")
            print(f"    baseline {y.name}: {t_b:6.2f} s  ({n_docs / t_b:8.0f} docs/s)")
            print(
                f"    compare (both + diff):  {t_c:6.2f} s  ({n_docs / t_c:8.0f} docs/s); "
                f"{eq.diverging} of {eq.compared} documents diverge"
            )
            print(f"    ratio to the slower implementation: {slower / t_c:.2f} (target >= 0.5)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=256_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--skip-lint", action="store_true")
    ap.add_argument("--e2e", action="store_true", help="also time whole lint runs in fresh processes")
    args = ap.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if not args.skip_lint:
        part_lint(args.size, args.runs, args.e2e)
    part_equivalence(args.docs, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
