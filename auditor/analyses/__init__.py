"""Facts of the tokenizer alone: the vocabulary round trip (docs/method.md §1), the probe
strings and the normaliser's effects, and the preprocessing profile of a text stream.

The analyses of corpora and models build on these and live with their inputs
(`auditor/corpus/`, `auditor/model/`); `auditor/store.py` computes each once per artifact.
"""
