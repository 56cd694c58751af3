"""Build the shipped demo: a small mixed corpus and two tokenizers trained on it.

    python sample_corpora/make_demo.py      # rewrites sample_corpora/demo/

Deterministic (fixed seed, single-threaded training): the committed output is what
this script writes.

The corpus (`corpus.jsonl`) mixes prose, code, CJK, Cyrillic and emoji, with planted
artifacts, so `tokaudit lint ... --corpus sample_corpora/demo/corpus.jsonl` has
something to show:
- one log-spam document repeating an odd identifier thousands of times, which BPE
  learns as tokens used in that document only (GPT-2's "PsyNetMessage", docs/defects.md #21);
- one document with `\r\n` line endings, one with tab-indented code and runs of spaces;
- rare characters (a few CJK and emoji only in one or two documents).

`spm.model` is a SentencePiece unigram model trained on the same corpus with
SentencePiece's defaults (NFKC, whitespace collapse, no byte fallback, character
coverage below 1): its round trips are lossy and rare characters become `<unk>`.

The byte-level BPE (`tokenizer.json`) gets the defects real tokenizers shipped with, so
`tokaudit lint sample_corpora/demo/tokenizer.json` alone has something to show:
- added tokens of 2..8 spaces, matched before BPE, which make vocabulary entries holding
  such runs unreachable (the GPT-NeoX-20B defect, docs/defects.md #15);
- special tokens that plain text turns into control ids (docs/defects.md #19);
- reserved placeholder tokens that nothing will ever train (docs/defects.md #17).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent / "demo"

PROSE = [
    "The tokenizer splits text into pieces before the model ever sees it.",
    "A rare string repeated in one document can still become a token.",
    "Under-trained tokens make language models misbehave in odd ways.",
    "She sold the old boat and bought a bicycle with a bright red bell.",
    "Rain fell on the quiet harbour while the ferry waited for the tide.",
]
CODE = [
    "def main(argv):\n    for i in range(10):\n        print(i, argv[i])\n    return 0\n",
    "if (x > 0) {\n    return y * 2;\n} else {\n    return -1;\n}\n",
    "class Node:\n    def __init__(self, value):\n        self.value = value\n        self.next = None\n",
]
OTHER = [
    "東京は日本の首都です。",
    "今日はいい天気ですね。",
    "Привет, как дела?",
    "Ça va très bien, merci !",
    "🙂 👍 🎉 🚀",
]


SPAM_ID = "PsyNetMessageV7"  # the odd identifier of the log-spam document
RARE = ["鰻重と鱧の湯引き", "🦑🪼 squid and jellyfish", "Ωμέγα ψ"]  # characters seen once or twice


def log_spam(lines: int = 3000) -> str:
    """A log file dumped into the corpus as one document: one identifier, thousands of times."""
    return "".join(
        f"[{10 + k // 3600:02d}:{k // 60 % 60:02d}:{k % 60:02d}] {SPAM_ID} seq={k % 7} ok\n" for k in range(lines)
    )


def corpus(n_docs: int = 600, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for i in range(n_docs):
        parts = rng.choices(PROSE, k=3) + rng.choices(CODE, k=1) + rng.choices(OTHER, k=2)
        rng.shuffle(parts)
        docs.append(f"Document {i}.\n" + "\n".join(parts))
    # Planted artifacts, at fixed places.
    docs[137] = "Server log, pasted whole.\n" + log_spam()
    docs[256] = docs[256].replace("\n", "\r\n")  # Windows line endings in one document
    docs[300] = "Tabs and spaces:\n\tindented\twith\ttabs\n" + "x    =    1  # aligned\n" * 3
    docs[411] = docs[411] + "\n" + RARE[0] + "\n" + RARE[1]
    docs[512] = docs[512] + "\n" + RARE[2]
    return docs


def build_spm(docs: list[str], out: Path = HERE) -> Path:
    """A SentencePiece unigram model with the library's lossy defaults."""
    import io

    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([line for d in docs for line in d.splitlines() if line.strip()]),
        model_writer=model,
        model_type="unigram",
        vocab_size=400,
        hard_vocab_limit=False,
        character_coverage=0.995,
        num_threads=1,
        seed_sentencepiece_size=100000,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    path = out / "spm.model"
    path.write_bytes(model.getvalue())
    return path


def build(out: Path = HERE) -> Path:
    os.environ["RAYON_NUM_THREADS"] = "1"  # single-threaded training is deterministic
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    out.mkdir(parents=True, exist_ok=True)
    docs = corpus()
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"text": d}, ensure_ascii=False) + "\n")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1200,
        special_tokens=["<|endoftext|>", "<|pad|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(docs, trainer=trainer)
    tok.add_tokens([" " * n for n in range(8, 1, -1)])  # NeoX-style space runs, matched first
    tok.add_special_tokens(["<|reserved_special_token_0|>", "<|reserved_special_token_1|>"])
    path = out / "tokenizer.json"
    path.write_text(tok.to_str(pretty=True) + "\n", encoding="utf-8")
    build_spm(docs, out)
    return path


if __name__ == "__main__":
    print(build())
