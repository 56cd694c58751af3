"""Build the shipped demo: a small mixed corpus and a byte-level BPE tokenizer trained on it.

    python sample_corpora/make_demo.py      # rewrites sample_corpora/demo/

Deterministic (fixed seed, single-threaded training): the committed output is what
this script writes. The tokenizer gets the defects real tokenizers shipped with, so
`tokaudit lint sample_corpora/demo/tokenizer.json` has something to show:
- added tokens of 2..8 spaces, matched before BPE, which make vocabulary entries holding
  such runs unreachable (the GPT-NeoX-20B defect, real-bugs #15);
- special tokens that plain text turns into control ids (real-bugs #19);
- reserved placeholder tokens that nothing will ever train (real-bugs #17).
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
OTHER = ["東京は日本の首都です。", "今日はいい天気ですね。", "Привет, как дела?", "Ça va très bien, merci !", "🙂 👍 🎉 🚀"]


def corpus(n_docs: int = 600, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for i in range(n_docs):
        parts = rng.choices(PROSE, k=3) + rng.choices(CODE, k=1) + rng.choices(OTHER, k=2)
        rng.shuffle(parts)
        docs.append(f"Document {i}.\n" + "\n".join(parts))
    return docs


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
    return path


if __name__ == "__main__":
    print(build())
