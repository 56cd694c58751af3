"""Tiny embedding-only model folders for rule examples and tests.

A rule example gives a `model` mapping; `write_embedding_model` turns it into a folder
with `config.json` and `model.safetensors` holding only the embedding tensors, shaped
like a trained model: trained rows spread in every direction with one dominant
direction of variance (the first principal component, as in real models), untrained
rows (planted texts, bytes that never occur in UTF-8, padding rows) clustered near one
small shared vector. The safetensors file is written here (a JSON header and raw
little-endian float32), so no extra package is needed.

Spec keys: dim (32), tied (True), seed (0), extra_rows (0: padding rows beyond the
vocabulary), missing_rows (0: fewer rows than ids), zero (texts whose rows are all
zero), untrained (texts whose rows look never trained), nan (texts with NaN rows),
options (model_options for the run: indicator, candidates_count, ...).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auditor.core import TokenizerView
from auditor.model.indicators import NEVER_UTF8

_KNOWN = {"dim", "tied", "seed", "extra_rows", "missing_rows", "zero", "untrained", "nan", "options"}


def ids_of_texts(view: TokenizerView, texts: Any) -> list[int]:
    """The first id whose bytes are each text (a planted token must exist)."""
    out = []
    for text in texts:
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        hits = [i for i, tb in enumerate(view.token_bytes) if tb == data]
        if not hits:
            hits = [i for i, p in enumerate(view.pieces) if p == text]
        if not hits:
            raise ValueError(f"no token {text!r} in the example tokenizer")
        out.append(hits[0])
    return out


def embedding_matrices(view: TokenizerView, spec: Mapping[str, Any]) -> tuple[Any, Any | None]:
    """(input, output or None when tied) float32 matrices per the spec."""
    import numpy as np

    unknown = set(spec) - _KNOWN
    if unknown:
        raise ValueError(f"unknown model spec keys: {sorted(unknown)}")
    dim = int(spec.get("dim", 32))
    rng = np.random.default_rng(int(spec.get("seed", 0)))
    rows = view.vocab_size + int(spec.get("extra_rows", 0)) - int(spec.get("missing_rows", 0))
    v = np.zeros(dim)
    v[0] = 1.0  # the dominant direction of trained rows
    u = np.zeros(dim)
    u[1] = 1.0  # where untrained rows sit
    untrained_rows = set(range(view.vocab_size, rows))
    for tid, tb in enumerate(view.token_bytes[: min(rows, view.vocab_size)]):
        if tb is not None and len(tb) == 1 and tb[0] in NEVER_UTF8:
            untrained_rows.add(tid)
    untrained_rows.update(ids_of_texts(view, spec.get("untrained", ())))

    def matrix(v: Any, u: Any) -> Any:
        m = rng.standard_normal((rows, dim)) + rng.normal(0, 6.0, size=(rows, 1)) * v
        for tid in sorted(untrained_rows):
            if tid < rows:
                m[tid] = 0.5 * u + rng.normal(0, 0.02, size=dim)
        for tid in ids_of_texts(view, spec.get("zero", ())):
            m[tid] = 0.0
        for tid in ids_of_texts(view, spec.get("nan", ())):
            m[tid] = np.nan
        return m.astype(np.float32)

    e_in = matrix(v, u)
    if spec.get("tied", True):
        return e_in, None
    return e_in, matrix(u, v)  # an unembedding of its own: other dominant and untrained directions


def write_safetensors(path: Path, tensors: Mapping[str, Any]) -> None:
    """A float32 safetensors file: 8-byte header length, JSON header, raw data."""
    import numpy as np

    header: dict[str, Any] = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name], dtype="<f4")
        data = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)))
        fh.write(raw)
        for b in blobs:
            fh.write(b)


def write_embedding_model(folder: Path, view: TokenizerView, spec: Mapping[str, Any]) -> Path:
    """Write config.json + model.safetensors (embeddings only) for `view`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    e_in, e_out = embedding_matrices(view, spec)
    tensors = {"model.embed_tokens.weight": e_in}
    if e_out is not None:
        tensors["lm_head.weight"] = e_out
    write_safetensors(folder / "model.safetensors", tensors)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": int(e_in.shape[0]),
        "hidden_size": int(e_in.shape[1]),
        "tie_word_embeddings": e_out is None,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return folder
