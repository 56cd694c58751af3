"""tokaudit: a rules engine that audits tokenizers before and after model training."""

__version__ = "0.1.0"
