"""Corpus rules (C): the tokenizer read together with the corpus it was trained on."""
