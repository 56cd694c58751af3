"""Preprocessing and implementation checks beyond one tokenizer file: the behaviour lock
(`lock`), other implementations of the same tokenizer (`equivalence`), two tokenizers
compared (`diff`), and the `lock`/`diff` commands' logic (`commands`)."""
