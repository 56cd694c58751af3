"""Benchmark: the corpus scan against raw batch encoding, and peak memory for 1x vs 10x.

    .venv/bin/python benchmarks/bench_corpus.py [--docs 4000] [--tokenizer PATH] [--repeat 3]

What it does, in this order:

1. Writes a deterministic synthetic corpus (JSONL: prose from a Zipf-distributed
   pseudo-word list, code, CJK, emoji; 100..4000 characters per document) of N
   documents, and the same corpus 10 times larger (10N documents, same generator), in
   a temporary folder.
2. Throughput, side by side in this process on one loaded tokenizer, the same cores
   (TOKAUDIT_THREADS / all of them): (a) the baseline, raw `encode_batch` of the
   corpus texts already in memory, in batches of the scan's batch size; (b) the corpus
   scan as the rules run it, `scan_corpus` from the file: reading and parsing the JSONL,
   encoding, decoding for the round trip, counting occurrences, documents, merge-tree
   uses and top documents, without the preprocessing profile (a lint run computes it only
   with a model corpus); (c) the same scan with the profile. Each is run --repeat times
   interleaved; the minimum counts.
   Target: (a) time / (b) time >= 0.70.
3. Peak memory: a fresh interpreter scans the 1x corpus, another the 10x corpus; their
   peak RSS (ru_maxrss) is compared. Target: 10x / 1x <= 1.20.

The tokenizer is GPT-NeoX-20B's tokenizer.json when ../shared/real_tokenizers has it
(50k ids, a realistic vocabulary), else the demo tokenizer. It is a benchmark, not a
test: the exit code is 0 unless something crashed.
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

NEOX = REPO.parent / "shared" / "real_tokenizers" / "gpt-neox-20b" / "tokenizer.json"
DEMO = REPO / "sample_corpora" / "demo" / "tokenizer.json"

CODE = [
    "def f(x):\n    return [i * x for i in range(10) if i % 2]\n",
    "for (int i = 0; i < n; ++i) {\n    sum += a[i] * b[i];\n}\n",
    "SELECT name, count(*) FROM users WHERE age > 30 GROUP BY name;\n",
]
OTHER = ["東京は日本の首都です。", "今日はいい天気ですね。", "Привет, как дела?", "Ça va très bien !", "🙂 👍 🎉"]


def make_corpus(path: Path, n_docs: int, seed: int = 0) -> int:
    """Write n_docs JSONL documents; returns the bytes written."""
    rng = random.Random(seed)
    syllables = [
        "ka",
        "lo",
        "mi",
        "ne",
        "ru",
        "sa",
        "to",
        "vi",
        "de",
        "ba",
        "po",
        "li",
        "gu",
        "fe",
        "ho",
        "an",
        "er",
        "in",
        "th",
        "st",
        "qu",
        "or",
        "en",
        "al",
    ]
    words = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(5000)})
    cum = []
    total = 0.0
    for rank in range(len(words)):
        total += 1.0 / (rank + 1)
        cum.append(total)
    size = 0
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n_docs):
            target = rng.randint(100, 4000)
            parts: list[str] = []
            length = 0
            while length < target:
                r = rng.random()
                if r < 0.1:
                    part = rng.choice(CODE)
                elif r < 0.15:
                    part = rng.choice(OTHER)
                else:
                    sentence = rng.choices(words, cum_weights=cum, k=rng.randint(5, 20))
                    part = " ".join(sentence).capitalize() + rng.choice([".", ",", "?", "!"]) + " "
                parts.append(part)
                length += len(part)
            line = json.dumps({"text": "".join(parts), "id": i}, ensure_ascii=False) + "\n"
            size += len(line.encode("utf-8"))
            fh.write(line)
    return size


def throughput(tokenizer: Path, corpus: Path, repeat: int) -> dict[str, float]:
    from auditor.corpus import scan as corpus_scan
    from auditor.corpus.merge_tree import merge_tree_of
    from auditor.corpus.reader import iter_documents
    from auditor.loaders import load_tokenizer

    view = load_tokenizer(tokenizer)
    texts = [d.text for d in iter_documents([str(corpus)])]
    n_chars = sum(len(t) for t in texts)
    batches, cur, chars = [], [], 0
    for t in texts:  # the scan's batching, so both sides hand the library the same batches
        cur.append(t)
        chars += len(t)
        if len(cur) >= corpus_scan.BATCH_DOCS or chars >= corpus_scan.BATCH_CHARS:
            batches.append(cur)
            cur, chars = [], 0
    if cur:
        batches.append(cur)
    merge_tree_of(view)  # build the merges once (cached in the view), as a lint run would have
    raw_times, scan_times, raw_cpu, scan_cpu = [], [], [], []
    prof_times, prof_cpu = [], []
    n_tokens = 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        n_tokens = sum(len(ids) for b in batches for ids in view.encode_batch(b))
        raw_times.append(time.perf_counter() - t0)
        raw_cpu.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        # As the rules run it without a model corpus: no preprocessing profile (only P120 needs it).
        stats = corpus_scan.scan_corpus(view, [str(corpus)], profile=False)
        scan_times.append(time.perf_counter() - t0)
        scan_cpu.append(time.process_time() - c0)
        assert stats.n_tokens == n_tokens, (stats.n_tokens, n_tokens)
        t0, c0 = time.perf_counter(), time.process_time()
        stats = corpus_scan.scan_corpus(view, [str(corpus)], profile=True)  # as with --model-corpus
        prof_times.append(time.perf_counter() - t0)
        prof_cpu.append(time.process_time() - c0)
    raw, scan = min(raw_times), min(scan_times)
    paired = sorted(r / sc for r, sc in zip(raw_times, scan_times))
    return {
        "paired_median": paired[len(paired) // 2],
        "raw_cpu": min(raw_cpu),
        "scan_cpu": min(scan_cpu),
        "prof_s": min(prof_times),
        "prof_cpu": min(prof_cpu),
        "prof_all": prof_times,
        "documents": len(texts),
        "characters": n_chars,
        "tokens": n_tokens,
        "vocab_size": view.vocab_size,
        "raw_s": raw,
        "scan_s": scan,
        "raw_tokens_per_s": n_tokens / raw,
        "scan_tokens_per_s": n_tokens / scan,
        "ratio": raw / scan,
        "raw_all": raw_times,
        "scan_all": scan_times,
    }


# The child samples its resident set every 5 ms during the scan: ru_maxrss alone would
# also hold the transient peak of loading the tokenizer, which can hide the scan's own.
_CHILD = """
import gc, resource, sys, threading, time
sys.path.insert(0, {repo!r})
from auditor.corpus.scan import scan_corpus
from auditor.loaders import load_tokenizer

def rss_kb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() // 1024

view = load_tokenizer({tok!r})
gc.collect()
before = rss_kb()
peak = [before]
done = threading.Event()
def sample():
    while not done.wait(0.005):
        peak[0] = max(peak[0], rss_kb())
threading.Thread(target=sample, daemon=True).start()
t0 = time.perf_counter()
stats = scan_corpus(view, [{corpus!r}])
spent = time.perf_counter() - t0
done.set()
peak[0] = max(peak[0], rss_kb())
print(before, peak[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, stats.n_documents, stats.n_tokens, spent)
"""


def peak_rss(tokenizer: Path, corpus: Path) -> dict[str, float]:
    code = _CHILD.format(repo=str(REPO), tok=str(tokenizer), corpus=str(corpus))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return {
        "before_scan_mb": int(out[0]) / 1024,
        "scan_peak_mb": int(out[1]) / 1024,
        "peak_mb": int(out[2]) / 1024,
        "documents": int(out[3]),
        "tokens": int(out[4]),
        "seconds": float(out[5]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=4000, help="documents of the 1x corpus")
    ap.add_argument("--tokenizer", type=Path, default=NEOX if NEOX.exists() else DEMO)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    print(
        f"cores: {os.cpu_count()}, threads: {os.environ.get('TOKAUDIT_THREADS', 'all')}, python {sys.version.split()[0]}"
    )
    import tokenizers

    print(f"tokenizer: {args.tokenizer} (tokenizers {tokenizers.__version__})")
    with tempfile.TemporaryDirectory() as tmp:
        one, ten = Path(tmp) / "corpus1x.jsonl", Path(tmp) / "corpus10x.jsonl"
        size1 = make_corpus(one, args.docs)
        size10 = make_corpus(ten, args.docs * 10)
        print(f"corpus: 1x {args.docs} docs {size1 / 1e6:.1f} MB, 10x {args.docs * 10} docs {size10 / 1e6:.1f} MB")
        r = throughput(args.tokenizer, one, args.repeat)
        print(
            f"throughput on 1x ({r['documents']} docs, {r['tokens']} tokens, vocab {r['vocab_size']}):\n"
            f"  (a) raw encode_batch: {r['raw_s']:.3f} s = {r['raw_tokens_per_s']:,.0f} tokens/s  (runs {', '.join(f'{x:.3f}' for x in r['raw_all'])})\n"
            f"  (b) corpus scan:      {r['scan_s']:.3f} s = {r['scan_tokens_per_s']:,.0f} tokens/s  (runs {', '.join(f'{x:.3f}' for x in r['scan_all'])})\n"
            f"  scan / raw throughput = {r['ratio']:.2f} (best against best; median of the paired runs "
            f"{r['paired_median']:.2f})  (target >= 0.70: {'met' if r['ratio'] >= 0.7 else 'NOT met'})\n"
            f"  CPU time of the process (all threads), best: raw {r['raw_cpu']:.3f} s, scan {r['scan_cpu']:.3f} s, "
            f"raw / scan = {r['raw_cpu'] / r['scan_cpu']:.2f}\n"
            f"  (c) corpus scan with the preprocessing profile (as with a model corpus): {r['prof_s']:.3f} s "
            f"(runs {', '.join(f'{x:.3f}' for x in r['prof_all'])}), raw / scan = {r['raw_s'] / r['prof_s']:.2f}; "
            f"CPU {r['prof_cpu']:.3f} s, raw / scan = {r['raw_cpu'] / r['prof_cpu']:.2f}"
        )
        m1 = peak_rss(args.tokenizer, one)
        m10 = peak_rss(args.tokenizer, ten)
        growth = m10["peak_mb"] / m1["peak_mb"]
        scan_growth = m10["scan_peak_mb"] / m1["scan_peak_mb"]
        print(
            f"peak RSS of the process (ru_maxrss): 1x {m1['peak_mb']:.1f} MB ({m1['seconds']:.1f} s), "
            f"10x {m10['peak_mb']:.1f} MB ({m10['seconds']:.1f} s)\n"
            f"  10x / 1x = {growth:.3f}  (target <= 1.20: {'met' if growth <= 1.2 else 'NOT met'})\n"
            f"sampled RSS during the scan: 1x {m1['before_scan_mb']:.1f} -> {m1['scan_peak_mb']:.1f} MB, "
            f"10x {m10['before_scan_mb']:.1f} -> {m10['scan_peak_mb']:.1f} MB; 10x / 1x = {scan_growth:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
