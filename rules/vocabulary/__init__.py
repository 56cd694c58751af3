"""Vocabulary rules: defects visible from the tokenizer alone."""
