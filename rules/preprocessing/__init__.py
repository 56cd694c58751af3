"""Preprocessing-mismatch rules (P): configuration, probe strings, behaviour lock, implementations."""
