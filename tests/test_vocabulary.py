"""Vocabulary analysis on small tokenizers built here: categories, sentinel, causes."""

from __future__ import annotations

from auditor.analyses.vocabulary import (
    Category,
    analyze_vocabulary,
    looks_special,
    looks_special_piece,
)
from auditor.fixtures import byte_level_bpe, char_bpe, sentencepiece_bpe
from auditor.loaders import load_tokenizer


def _analyse(write_tokenizer, spec, name=None):
    view = load_tokenizer(write_tokenizer(spec, name))
    return view, analyze_vocabulary(view)


def _id(view, text: str) -> int:
    want = text.encode("utf-8")
    return next(i for i, b in enumerate(view.token_bytes) if b == want and view.kinds[i].value != "user_defined")


def test_categories_of_a_clean_byte_level_bpe(write_tokenizer):
    view, vocab = _analyse(write_tokenizer, byte_level_bpe([" hello", " world"]))
    counts = vocab.category_counts()
    assert counts["UNREACHABLE_SINGLE_TOKEN"] == counts["UNREACHABLE_MULTI_TOKEN"] == 0
    assert counts["PARTIAL_UTF8"] == 128  # bytes 0x80-0xFF alone
    assert vocab.paper_counts() == {"single_byte": 256, "special": 0, "unreachable": 0, "partial_utf8": 0}
    assert vocab.sentinel is None
    assert vocab.categories[_id(view, " hello")] is Category.OK


def test_special_tokens_ok_special_and_pattern(write_tokenizer):
    spec = byte_level_bpe([" hi"], added=[{"content": "<|end|>", "special": True}])
    view, vocab = _analyse(write_tokenizer, spec)
    end = view.vocab_size - 1
    assert vocab.categories[end] is Category.OK_SPECIAL
    assert end in vocab.special_pattern
    assert vocab.paper_counts()["special"] == 1


def test_cause_no_merge(write_tokenizer):
    view, vocab = _analyse(write_tokenizer, byte_level_bpe([" hello"], orphans=["xyz"]))
    tid = _id(view, "xyz")
    assert vocab.categories[tid] is Category.UNREACHABLE_MULTI
    assert vocab.causes[tid].code == "no-merge"
    assert vocab.paper_unreachable() == [tid]


def test_cause_merge_order(write_tokenizer):
    # "ab"+"c" and "a"+"bc" both exist; merges build "abc" from "ab"+"c" only, so the
    # vocabulary entry "bc" followed by nothing is fine, but the orphan "abc" built
    # by neither chain... use a token whose merge exists but is outranked:
    spec = byte_level_bpe(["abc", "bcd"])
    # "abcd": a+b, ab+c, abc+d is missing; add merge "a"+"bcd" after the others.
    spec["model"]["merges"].append(["a", "bcd"])
    spec["model"]["vocab"]["abcd"] = len(spec["model"]["vocab"])
    view, vocab = _analyse(write_tokenizer, spec)
    tid = _id(view, "abcd")
    assert vocab.categories[tid].unreachable
    assert vocab.causes[tid].code == "merge-order"


def test_cause_pre_tokenizer(write_tokenizer):
    view, vocab = _analyse(write_tokenizer, byte_level_bpe([" hello", " hello world"]))
    tid = _id(view, " hello world")
    assert vocab.causes[tid].code == "pre-tokenizer"
    assert "2 pieces" in vocab.causes[tid].message


def test_cause_added_token_shadow(write_tokenizer):
    spec = byte_level_bpe([" hello", "  "], added=[{"content": "  ", "special": False}])
    view, vocab = _analyse(write_tokenizer, spec)
    tid = _id(view, "  ")
    assert vocab.categories[tid] is Category.UNREACHABLE_SINGLE
    assert vocab.causes[tid].code == "added-token-shadow"


def test_cause_normalizer(write_tokenizer):
    spec = byte_level_bpe([" Hello", " hello"], normalizer={"type": "Lowercase"})
    view, vocab = _analyse(write_tokenizer, spec)
    tid = _id(view, " Hello")
    assert vocab.causes[tid].code == "normalizer"
    assert vocab.reencoded[tid] == (_id(view, " hello"),)


def test_cause_unknown_characters(write_tokenizer):
    spec = char_bpe("abc", ["abc"])
    spec["model"]["vocab"]["zz"] = len(spec["model"]["vocab"])  # "z" is not in the alphabet
    view, vocab = _analyse(write_tokenizer, spec)
    tid = view.pieces.index("zz")
    assert vocab.causes[tid].code == "unknown-characters"


def test_sentencepiece_sentinel_and_byte_fallback_duplicates(write_tokenizer):
    view, vocab = _analyse(write_tokenizer, sentencepiece_bpe(["hello", "hi"]), "sp.model")
    assert vocab.sentinel == "«"
    hello = view.pieces.index("▁hello")
    assert vocab.decoded[hello] == " hello" and vocab.categories[hello] is Category.OK
    byte_h = view.pieces.index("<0x68>")  # "h" also has its own piece
    assert vocab.causes[byte_h].code == "byte-fallback-duplicate"
    assert byte_h in vocab.single_byte and byte_h not in vocab.paper_unreachable()
    for control in ("<unk>", "<s>", "</s>"):
        tid = view.pieces.index(control)
        assert vocab.categories[tid] is Category.UNREACHABLE_SPECIAL
        assert vocab.causes[tid].code == "control-token"


def test_sentencepiece_without_dummy_prefix_needs_no_sentinel(write_tokenizer):
    view, vocab = _analyse(write_tokenizer, sentencepiece_bpe(["hello"], add_dummy_prefix=False), "sp.model")
    assert vocab.sentinel is None
    assert vocab.categories[view.pieces.index("hello")] is Category.OK


def test_sentinel_falls_back_when_guillemets_are_not_tokens(write_tokenizer, tmp_path):
    import sentencepiece as spm

    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"the cat sat on the mat number {i}, said the dog." for i in range(300)))
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(tmp_path / "u"),
        vocab_size=45,
        model_type="unigram",
        character_coverage=1.0,
        minloglevel=2,
    )
    view = load_tokenizer(tmp_path / "u.model")
    vocab = analyze_vocabulary(view)
    assert vocab.sentinel not in (None, "«", "»")
    # mid-word pieces are reachable once the dummy prefix is neutralised
    assert vocab.paper_counts()["unreachable"] <= 2


def test_special_patterns():
    assert looks_special("<s>") and looks_special("[CLS]") and not looks_special("<>") and not looks_special("<1>")
    assert looks_special_piece("<|endoftext|>") and not looks_special_piece("<0x0A>")
    assert not looks_special_piece("<é>")  # needs an ASCII letter


def test_analysis_is_deterministic(write_tokenizer):
    spec = byte_level_bpe([" hello", " world"], orphans=["q q"], added=[{"content": "<|x|>", "special": True}])
    path = write_tokenizer(spec)
    a = analyze_vocabulary(load_tokenizer(path))
    b = analyze_vocabulary(load_tokenizer(path))
    assert a == b


def _wordpiece(tmp_path):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    vocab = ["[UNK]", "[CLS]", "un", "play", "able", "ing", "q", "!", "##ing", "##able", "##s", "##!", "##q"]
    tok = Tokenizer(models.WordPiece({p: i for i, p in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.add_special_tokens(["[UNK]", "[CLS]"])
    path = tmp_path / "wp.json"
    tok.save(str(path))
    return path


def test_wordpiece_continuation_pieces_are_analysed_inside_a_word(tmp_path):
    view = load_tokenizer(_wordpiece(tmp_path))
    assert view.continuation_prefix == "##"
    vocab = analyze_vocabulary(view)
    pid = view.pieces.index
    for piece in ("##ing", "##able", "##s", "play", "un"):
        assert vocab.categories[pid(piece)] is Category.OK, piece
    # punctuation is split off by the pre-tokenizer: "##!" can never continue a word
    bang = pid("##!")
    assert vocab.categories[bang].unreachable
    assert vocab.causes[bang].code == "pre-tokenizer"
    assert bang in vocab.paper_unreachable()


def test_metaspace_normalizer_is_not_blamed_for_what_merges_do(tmp_path):
    """Llama's old tokenizer.json marks spaces in the normaliser (Prepend + Replace):
    that is not a change of text; the orphan "▁hi" is unreachable because no merge builds it."""
    from tokenizers import Tokenizer, decoders, models, normalizers

    vocab = {"<unk>": 0, "▁": 1, "h": 2, "i": 3, "«": 4, "▁h": 5, "▁«": 6, "▁hi": 7, "t": 8, "e": 9, "s": 10}
    tok = Tokenizer(models.BPE(vocab, [("▁", "h"), ("▁", "«")], unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    path = tmp_path / "legacy.json"
    tok.save(str(path))
    view = load_tokenizer(path)
    vocab_analysis = analyze_vocabulary(view)
    assert vocab_analysis.sentinel == "«"
    hi = view.pieces.index("▁hi")
    assert vocab_analysis.categories[hi].unreachable
    assert vocab_analysis.causes[hi].code == "no-merge"
    assert vocab_analysis.categories[view.pieces.index("▁h")] is Category.OK


def test_sentencepiece_without_dummy_prefix_keeps_space_tokens_reachable(tmp_path):
    """SentencePiece drops the leading space of a lone "▁word" when decoding even without
    a dummy prefix: the sentinel must be used, or every such token looks unreachable."""
    import sentencepiece as spm

    corpus = tmp_path / "c.txt"
    words = "the quick brown fox jumps over the lazy dog while seven wizards quietly hex jolly books".split()
    corpus.write_text(
        "\n".join(" ".join(words[(i * 7) % len(words) :] + words[: (i * 7) % len(words)]) for i in range(400))
    )
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(tmp_path / "nd"),
        vocab_size=120,
        model_type="bpe",
        add_dummy_prefix=False,
        character_coverage=1.0,
        minloglevel=2,
    )
    view = load_tokenizer(tmp_path / "nd.model")
    vocab = analyze_vocabulary(view)
    assert vocab.sentinel is not None
    spaced = [i for i, p in enumerate(view.pieces) if p and p.startswith("▁") and len(p) > 2]
    assert spaced
    assert all(vocab.categories[i].reachable for i in spaced), [
        view.pieces[i] for i in spaced if not vocab.categories[i].reachable
    ]
