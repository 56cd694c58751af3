"""Model rules (M): they need the model (embeddings) next to the tokenizer."""
