"""The model side of the audit: embeddings read without loading the model, the
under-trained indicators (docs/method.md §2), and verification by prompting (§3)."""
