"""Corpus input and the facts of corpora: the streaming reader, the scan, the comparison of
two corpora's preprocessing."""
