"""Train the tiny model fixture: a small causal LM with tokens its training data never holds.

    python sample_corpora/tiny_model/train.py      # rewrites sample_corpora/tiny_model/model/

What it builds (deterministic seeds, CPU, a few minutes on two cores):

1. A text corpus generated from a small English grammar, plus documents shaped like
   the verification prompts (copy trials, repeated phrases, "what does X mean").
2. A byte-level BPE tokenizer trained on that text with the `tokenizers` trainer (only
   the characters the text holds, no unused byte tokens), then **planted** tokens: for
   some pairs of frequent word tokens A, B whose concatenation never occurs in the
   text, the merge (A, B) is appended, so "AB" is one reachable vocabulary entry that
   no training sequence contains (a SolidGoldMagikarp in miniature).
3. Training sequences built at the id level, so that every vocabulary id except the
   planted ones occurs many times: sentences, and copy/repeat documents about a token
   drawn uniformly from the vocabulary. The model learns to repeat what it has seen.
4. A Llama-style model (tied embeddings, AdamW with weight decay) trained on them. Its
   embedding has padding rows beyond the tokenizer's vocabulary (at least 64, rounded up
   to a multiple of 128; never trained, like real models' padded embeddings), which the
   tied-model indicator can use as reference.

Output in model/: config.json, generation_config.json, model.safetensors,
tokenizer.json, tokenizer_config.json, and planted.json (the planted ids and texts,
the ground truth for the tests; also: every other id is checked to occur in training).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "model"
SEED = 1234
VOCAB = 1200  # BPE vocabulary before planting
N_PLANTED = 16
SEQ_LEN = 288
BATCH = 16
STEPS = int(os.environ.get("TINY_STEPS", "600"))
EOS = "<|endoftext|>"

SUBJECTS = [
    "the farmer", "a teacher", "my sister", "the old man", "our neighbour", "the doctor", "a young girl",
    "the captain", "his brother", "the baker", "a small dog", "the cat", "the children", "her friend",
    "the king", "a stranger", "the pilot", "the student", "my father", "the singer", "a clever fox",
]
VERBS = [
    "found", "carried", "painted", "opened", "watched", "cleaned", "bought", "sold", "lost", "built",
    "followed", "visited", "remembered", "counted", "cooked", "wrote", "read", "moved", "fixed", "liked",
]
ADJECTIVES = [
    "red", "green", "quiet", "heavy", "bright", "small", "large", "strange", "broken", "golden", "wooden",
    "empty", "warm", "cold", "happy", "careful", "famous", "simple", "dark", "sweet", "round", "blue",
]
OBJECTS = [
    "box", "letter", "garden", "window", "river", "book", "table", "bridge", "house", "boat", "bottle",
    "basket", "picture", "horse", "lamp", "road", "stone", "village", "market", "kitchen", "mountain",
    "forest", "island", "school", "tower", "bell", "ship", "field", "song", "story", "machine", "door",
]
PLACES = [
    "near the harbour", "in the morning", "after dinner", "by the river", "at the market", "before winter",
    "in the garden", "under the bridge", "at night", "during the storm", "on the hill", "in the city",
]
ENDINGS = [
    "and then went home.", "without a word.", "because it was late.", "and smiled.", "for the first time.",
    "as everyone watched.", "while it rained.", "and nobody knew why.", ".", "again and again.",
]
QUESTIONS = ["What does", "Why does", "How does", "Where does", "When does"]
PREAMBLES = [
    "This device repeats its input exactly, as shown in these identical trials.",
    "The machine copies every input it is given, as these trials show.",
    "Below is the output, as you can see it's just giving the same phrase repeated indefinitely:",
    "This helpful assistant explains what a phrase means, replying with identical responses.",
    "Here is a list of items, each repeated exactly.",
]


def sentence(rng: random.Random) -> str:
    s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} the {rng.choice(ADJECTIVES)} {rng.choice(OBJECTS)}"
    if rng.random() < 0.6:
        s += f" {rng.choice(PLACES)}"
    end = rng.choice(ENDINGS)
    s = s + (end if end == "." else " " + end)
    s = s[0].upper() + s[1:]
    if rng.random() < 0.15:
        s = f"{rng.choice(QUESTIONS)} the {rng.choice(OBJECTS)} {rng.choice(VERBS)[:-2] or 'move'}? " + s
    return s


def text_corpus(rng: random.Random, n: int = 6000) -> list[str]:
    """Prose plus prompt-shaped documents (the tokenizer learns their punctuation too)."""
    docs = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.6:
            docs.append(" ".join(sentence(rng) for _ in range(rng.randint(2, 6))))
        elif kind < 0.8:
            w = rng.choice(OBJECTS + ADJECTIVES + VERBS)
            trials = "".join(f"\nInput: «{w}»\nOutput: «{w}»" for _ in range(rng.randint(1, 4)))
            docs.append(rng.choice(PREAMBLES) + trials)
        elif kind < 0.9:
            w = rng.choice(OBJECTS + ADJECTIVES)
            docs.append(
                f"{rng.choice(PREAMBLES)}\nUser: What does '{w}' mean?\nAssistant: '{w}' is a word. "
                f"User: what does '{w}' mean?\nAssistant: '{w}'"
            )
        else:
            w = rng.choice(OBJECTS + VERBS)
            docs.append(rng.choice(PREAMBLES) + "\n" + (w * rng.randint(2, 8)) + " " + (" " + w) * rng.randint(2, 8))
    return docs


def train_tokenizer(docs: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, min_frequency=2, special_tokens=[EOS], show_progress=False)
    tok.train_from_iterator(docs, trainer=trainer)
    return tok


def plant(tok, docs: list[str], rng: random.Random):
    """Append merges A+B -> AB for frequent word tokens whose concatenation the text never holds."""
    from tokenizers import Tokenizer

    spec = json.loads(tok.to_str())
    vocab: dict[str, int] = spec["model"]["vocab"]
    merges = spec["model"]["merges"]
    text = "\n".join(docs)
    words = sorted(p for p in vocab if p.startswith("Ġ") and p[1:].isalpha() and p[1:].islower() and len(p) >= 4)
    tails = sorted(p for p in vocab if p.isalpha() and p.islower() and len(p) >= 3)
    rng.shuffle(words)
    rng.shuffle(tails)
    planted: list[tuple[str, str]] = []
    used: set[str] = set()
    for a in words:
        for b in tails:
            if len(planted) >= N_PLANTED:
                break
            if a in used or b in used:
                continue
            merged = a + b
            surface = tok.decode([vocab[a], vocab[b]])
            if merged in vocab or surface.strip() in text or tok.encode(surface).ids != [vocab[a], vocab[b]]:
                continue
            planted.append((a, b))
            used.update((a, b))
            break
    next_id = max(vocab.values()) + 1
    for a, b in planted:
        vocab[a + b] = next_id
        next_id += 1
        merges.append([a, b] if merges and isinstance(merges[0], list) else f"{a} {b}")
    final = Tokenizer.from_str(json.dumps(spec))
    ids = [vocab[a + b] for a, b in planted]
    for i in ids:  # reachable: one id round-trips through text
        assert final.encode(final.decode([i])).ids == [i], final.decode([i])
    return final, ids


def id_documents(tok, docs: list[str], planted: set[int], rng: random.Random, n_tokens: int) -> list[list[int]]:
    """Training documents as id lists: prose, and copy/repeat/explain documents about a token
    drawn uniformly from the non-planted vocabulary (so every such id occurs often)."""
    eos = tok.token_to_id(EOS)
    pool = [i for i in range(tok.get_vocab_size()) if i not in planted and i != eos]
    enc = lambda s: tok.encode(s).ids  # noqa: E731
    pieces = {
        "in": enc("\nInput: «"),
        "out": enc("»\nOutput: «"),
        "close": enc("»"),
        "user": enc("\nUser: what does '"),
        "mean": enc("' mean?\nAssistant: '"),
        "quote": enc("'"),
        "nl": enc("\n"),
    }
    prose = [enc(d) for d in docs[: len(docs) // 2]]
    out: list[list[int]] = []
    total = 0
    while total < n_tokens:
        kind = rng.random()
        t = [rng.choice(pool)]
        if rng.random() < 0.2:
            t = t + [rng.choice(pool)]
        pre = enc(rng.choice(PREAMBLES))
        if kind < 0.25:
            out.append(rng.choice(prose))
        elif kind < 0.6:
            reps = rng.randint(1, 24)
            body = []
            for _ in range(reps):
                body += pieces["in"] + t + pieces["out"] + t + pieces["close"]
            out.append(pre + body)
        elif kind < 0.85:
            out.append(pre + pieces["nl"] + t * rng.randint(4, 110))
        else:
            body = pieces["user"] + t + pieces["mean"] + t + pieces["quote"]
            out.append(pre + body * rng.randint(1, 3))
        total += len(out[-1]) + 1
    return out


def pack(documents: list[list[int]], eos: int) -> list[list[int]]:
    flat: list[int] = []
    for d in documents:
        flat += d + [eos]
    return [flat[k : k + SEQ_LEN] for k in range(0, len(flat) - SEQ_LEN + 1, SEQ_LEN)]


def main() -> int:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(SEED)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    rng = random.Random(SEED)
    t0 = time.time()
    docs = text_corpus(rng)
    base = train_tokenizer(docs)
    tok, planted_ids = plant(base, docs, rng)
    planted = set(planted_ids)
    vocab_size = tok.get_vocab_size()
    eos = tok.token_to_id(EOS)
    documents = id_documents(tok, docs, planted, rng, n_tokens=(STEPS * BATCH + 1) * SEQ_LEN)
    sequences = pack(documents, eos)
    counts = [0] * vocab_size
    for seq in sequences[: STEPS * BATCH]:
        for i in seq:
            counts[i] += 1
    seen_planted = [i for i in planted_ids if counts[i]]
    assert not seen_planted, f"planted ids occur in training: {seen_planted}"
    rare = [i for i in range(vocab_size) if i not in planted and counts[i] < 5]
    print(f"tokenizer {vocab_size} ids, {len(planted_ids)} planted, {len(rare)} other ids seen < 5 times", file=sys.stderr)

    # Padding rows, as real models round their embedding up (Qwen: 151,646 ids, 151,936 rows).
    # Never trained, they share the "unused" direction with the planted rows, which keeps
    # the copy mechanism's mass on that direction spread thin (each planted token < 0.01).
    rows = ((vocab_size + 64 + 127) // 128) * 128
    config = LlamaConfig(
        vocab_size=rows,
        hidden_size=128,
        intermediate_size=384,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=eos,
    )
    model = LlamaForCausalLM(config)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optim = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=3e-3, betas=(0.9, 0.95)
    )
    warmup = 50
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, (s + 1) / warmup) * max(0.05, 1 - s / STEPS)
    )
    data = torch.tensor(sequences[: STEPS * BATCH], dtype=torch.long)
    model.train()
    for step in range(STEPS):
        batch = data[step * BATCH : (step + 1) * BATCH]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        if step % 50 == 0 or step == STEPS - 1:
            print(f"step {step} loss {loss.item():.3f} ({time.time() - t0:.0f}s)", file=sys.stderr)
    model.eval()

    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    tok.save(str(OUT / "tokenizer.json"))
    (OUT / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "eos_token": EOS,
                "bos_token": EOS,
                "pad_token": EOS,
                "add_bos_token": False,
                "model_max_length": 512,
                "clean_up_tokenization_spaces": False,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    (OUT / "planted.json").write_text(
        json.dumps(
            {
                "planted_ids": planted_ids,
                "planted_tokens": [tok.decode([i]) for i in planted_ids],
                "tokenizer_vocab_size": vocab_size,
                "embedding_rows": rows,
                "never_in_training": [i for i in range(vocab_size) if counts[i] == 0],
                "seed": SEED,
                "steps": STEPS,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {OUT} in {time.time() - t0:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
