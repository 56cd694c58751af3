"""Benchmark: what the preprocessing profile adds to the corpus scan.

    .venv/bin/python benchmarks/bench_corpus_profile.py [--docs 4000] [--tokenizer PATH] [--repeat 5]

The corpus scan (`scan_corpus`) gathers the character-level preprocessing profile of
the documents in the same pass as the token statistics (`profile=True`, the default).
This measures, interleaved in one process on one loaded tokenizer and the same
synthetic corpus as `bench_corpus.py` (JSONL: prose, code, CJK, emoji):

  (a) the baseline: `scan_corpus(..., profile=False)`;
  (b) the scan with the profile: `scan_corpus(...)`;
  (c) the alternative the shared pass avoids: reading the corpus a second time and
      profiling it on its own (`iter_documents` + `profile_documents`);
  (d) the profile alone on the documents already in memory (its pure cost).

It prints the best of --repeat runs of each (wall time, and the process's CPU time of
all threads, which the other jobs on a shared machine disturb less) and the overhead
(b)/(a) - 1, and checks
that (b) and (c) give the same profile. A benchmark, not a test: exit code 0 unless
something crashed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_corpus import DEMO, NEOX, make_corpus


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=4000, help="documents of the corpus")
    ap.add_argument("--tokenizer", type=Path, default=NEOX if NEOX.exists() else DEMO)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)

    import tokenizers

    from auditor.analyses.profile import profile_documents
    from auditor.corpus import scan as corpus_scan
    from auditor.corpus.merge_tree import merge_tree_of
    from auditor.corpus.reader import iter_documents
    from auditor.loaders import load_tokenizer

    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}, tokenizers {tokenizers.__version__}")
    print(f"tokenizer: {args.tokenizer}")
    view = load_tokenizer(args.tokenizer)
    merge_tree_of(view)  # built once, as in a lint run
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.jsonl"
        size = make_corpus(corpus, args.docs)
        print(f"corpus: {args.docs} documents, {size / 1e6:.1f} MB")
        plain, with_profile, separate, alone_mem = [], [], [], []
        cpu_plain, cpu_profile = [], []
        docs = list(iter_documents([str(corpus)]))
        stats = None
        alone = None
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            corpus_scan.scan_corpus(view, [str(corpus)], profile=False)
            plain.append(time.perf_counter() - t0)
            cpu_plain.append(time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            stats = corpus_scan.scan_corpus(view, [str(corpus)])
            with_profile.append(time.perf_counter() - t0)
            cpu_profile.append(time.process_time() - c0)
            t0 = time.perf_counter()
            profile_documents(docs)
            alone_mem.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            alone = profile_documents(iter_documents([str(corpus)]))
            separate.append(time.perf_counter() - t0)
        assert stats is not None and stats.profile == alone, "the shared pass and a separate pass disagree"
        a, b, c = min(plain), min(with_profile), min(separate)
        runs = lambda xs: ", ".join(f"{x:.3f}" for x in xs)
        print(f"  (a) scan without profile (baseline): {a:.3f} s  (runs {runs(plain)})")
        print(f"  (b) scan with profile:               {b:.3f} s  (runs {runs(with_profile)})")
        print(f"  (c) separate read + profile pass:    {c:.3f} s  (runs {runs(separate)})")
        print(f"  (d) profile alone, texts in memory:  {min(alone_mem):.3f} s  (runs {runs(alone_mem)})")
        ca, cb = min(cpu_plain), min(cpu_profile)
        print(f"  CPU time (all threads), best: (a) {ca:.3f} s, (b) {cb:.3f} s: overhead {cb / ca - 1:+.1%}")
        print(f"  overhead of the profile in the scan: (b)/(a) - 1 = {b / a - 1:+.1%}")
        print(f"  a second pass instead would add:     (c)/(a)     = {c / a:+.1%}")
        print(f"  {stats.n_documents} documents, {stats.n_chars:,} characters, {stats.n_tokens:,} tokens")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
