"""Quality of the single-document rule on trained tokenizers.

A corpus of pseudo-prose gets K planted strings, each repeated in exactly one document,
often enough that the trainer learns them. C101 must flag every planted token (recall
1.0) and at most 10% of its findings may be unrelated to the planted strings.
"""

from __future__ import annotations

import io
import json
import random

import pytest

from auditor.core import RunInputs
from auditor.engine import run_lint
from rules.corpus.single_document import SingleDocumentMerge

K = 8
REPEATS = 40


def _corpus(seed: int = 7) -> tuple[list[str], list[str]]:
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
    ]
    words = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(600)})
    weights = [1.0 / (rank + 1) for rank in range(len(words))]  # Zipf-like
    docs = []
    for _ in range(300):
        sentence = rng.choices(words, weights=weights, k=rng.randint(60, 120))
        docs.append(" ".join(sentence).capitalize() + ".")
    letters = "qxzjwy"
    planted = sorted({"".join(rng.choice(letters) for _ in range(7)) for _ in range(K)})
    assert len(planted) == K
    hosts = rng.sample(range(len(docs)), K)
    for s, host in zip(planted, hosts):
        docs[host] += " " + " ".join([s] * REPEATS)
    return docs, planted


def _write_corpus(tmp_path, docs: list[str]) -> str:
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs), encoding="utf-8")
    return str(path)


def _judge(path, corpus: str, planted: list[str], token_of) -> None:
    result = run_lint([path], [SingleDocumentMerge()], inputs=RunInputs(corpus=(corpus,)))
    flagged = {f.token_id: token_of(f.token_id) for f in result.findings}
    texts = set(flagged.values())
    for s in planted:  # recall 1.0: the planted string is a token and is flagged
        assert s in texts, f"planted {s!r} not flagged; flagged: {sorted(texts)}"
    unrelated = [t for t in texts if not any(t and t in s for s in planted)]
    print(f"{len(texts)} flagged, {len(unrelated)} unrelated: {sorted(unrelated)}")
    assert len(unrelated) <= 0.1 * len(texts), f"false positives {unrelated} among {len(texts)} findings"


def test_bpe_trainer_planted_strings_are_flagged(tmp_path, monkeypatch):
    monkeypatch.setenv("RAYON_NUM_THREADS", "1")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    docs, planted = _corpus()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1500, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(docs, trainer=trainer)
    path = tmp_path / "tokenizer.json"
    path.write_text(tok.to_str(), encoding="utf-8")
    vocab = tok.get_vocab()
    assert all("Ġ" + s in vocab for s in planted), "the trainer did not learn the planted strings"

    def token_of(tid: int) -> str:
        return tok.decode([tid]).strip()

    _judge(path, _write_corpus(tmp_path, docs), planted, token_of)


@pytest.mark.parametrize("model_type", ["bpe", "unigram"])
def test_sentencepiece_trainer_planted_strings_are_flagged(tmp_path, model_type):
    import sentencepiece as spm

    docs, planted = _corpus()
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(docs),
        model_writer=model,
        model_type=model_type,
        vocab_size=1200 if model_type == "bpe" else 320,
        character_coverage=1.0,
        num_threads=1,
        shuffle_input_sentence=False,
        max_sentence_length=1 << 16,
        minloglevel=2,
    )
    path = tmp_path / "tokenizer.model"
    path.write_bytes(model.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    assert all(sp.piece_to_id("▁" + s) != sp.unk_id() for s in planted), "planted strings not learned"

    def token_of(tid: int) -> str:
        return sp.id_to_piece(tid).replace("▁", " ").strip()

    _judge(path, _write_corpus(tmp_path, docs), planted, token_of)
