"""Reading embeddings without loading the model: formats, dtypes, tied/untied, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from auditor.core import InputError, UserError
from auditor.model.analysis import check_memory
from auditor.model.embeddings import estimate_model_bytes, read_embeddings
from auditor.model.fixtures import write_safetensors


def _folder(tmp_path, tensors, config=None, name="model.safetensors"):
    tmp_path.mkdir(parents=True, exist_ok=True)
    write_safetensors(tmp_path / name, tensors)
    if config is not None:
        (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return tmp_path


def _rand(rows=40, dim=8, seed=0):
    return np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)


def _write_raw(path, name, dtype, shape, data: bytes, extra=None):
    header = {name: {"dtype": dtype, "shape": list(shape), "data_offsets": [0, len(data)]}}
    header.update(extra or {})
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)


def test_tied_when_there_is_no_output_tensor(tmp_path):
    e = _rand()
    folder = _folder(tmp_path, {"model.embed_tokens.weight": e}, {"architectures": ["LlamaForCausalLM"]})
    emb = read_embeddings(folder)
    assert emb.tied and emb.output is None
    assert emb.input_name == "model.embed_tokens.weight"
    assert emb.architecture == "LlamaForCausalLM"
    np.testing.assert_array_equal(emb.input, e)
    assert emb.parameter_count == e.size


def test_untied_reads_both_and_config_tied_wins_over_a_differing_copy(tmp_path):
    e, o = _rand(seed=1), _rand(seed=2)
    untied = read_embeddings(
        _folder(tmp_path / "a", {"transformer.wte.weight": e, "lm_head.weight": o}, {"tie_word_embeddings": False})
    )
    assert not untied.tied and untied.output_name == "lm_head.weight"
    np.testing.assert_array_equal(untied.output, o)
    tied = read_embeddings(
        _folder(tmp_path / "b", {"transformer.wte.weight": e, "lm_head.weight": o}, {"tie_word_embeddings": True})
    )
    assert tied.tied and tied.output is None
    assert any("ignored" in n for n in tied.notes)


def test_equal_tensors_are_tied_whatever_the_config_says(tmp_path):
    e = _rand()
    emb = read_embeddings(
        _folder(tmp_path, {"gpt_neox.embed_in.weight": e, "embed_out.weight": e.copy()}, {"tie_word_embeddings": False})
    )
    assert emb.tied
    assert any("equals the input" in n for n in emb.notes)


def test_untied_config_without_output_tensor_is_refused(tmp_path):
    folder = _folder(tmp_path, {"model.embed_tokens.weight": _rand()}, {"tie_word_embeddings": False})
    with pytest.raises(InputError, match="no output embedding tensor"):
        read_embeddings(folder)


def test_bfloat16_and_float16_are_widened_exactly(tmp_path):
    values = np.array([[1.0, -2.5, 0.15625, 3.0e-3], [65504.0, -0.0, 7.0, 1e-20]], dtype=np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype("<u2")
    _write_raw(tmp_path / "bf.safetensors", "model.embed_tokens.weight", "BF16", values.shape, bf16.tobytes())
    got = read_embeddings(tmp_path / "bf.safetensors")
    expected = (bf16.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(got.input, expected)
    assert got.storage_dtype == "bfloat16"
    half = tmp_path / "h"
    half.mkdir()
    _write_raw(
        half / "model.safetensors", "model.embed_tokens.weight", "F16", values.shape, values.astype("<f2").tobytes()
    )
    got16 = read_embeddings(half)
    np.testing.assert_array_equal(got16.input, values.astype(np.float16).astype(np.float32))


def test_sharded_checkpoint_reads_only_the_shards_it_needs(tmp_path):
    e, o = _rand(seed=3), _rand(seed=4)
    write_safetensors(
        tmp_path / "model-00001-of-00002.safetensors", {"model.embed_tokens.weight": e, "model.norm.weight": e[0]}
    )
    write_safetensors(tmp_path / "model-00002-of-00002.safetensors", {"lm_head.weight": o})
    index = {
        "weight_map": {
            "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
            "model.norm.weight": "model-00001-of-00002.safetensors",
            "lm_head.weight": "model-00002-of-00002.safetensors",
        }
    }
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    (tmp_path / "config.json").write_text(json.dumps({"tie_word_embeddings": False, "vocab_size": 40}))
    emb = read_embeddings(tmp_path)
    assert not emb.tied
    np.testing.assert_array_equal(emb.output, o)
    assert emb.parameter_count == e.size + o.size + e.shape[1]


def test_missing_shard_and_no_weights_and_truncation_are_one_line_errors(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(UserError, match="no model weights found"):
        read_embeddings(tmp_path)
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "gone.safetensors"}}))
    with pytest.raises(InputError, match="missing"):
        read_embeddings(tmp_path)
    bad = tmp_path / "trunc.safetensors"
    write_safetensors(bad, {"model.embed_tokens.weight": _rand()})
    bad.write_bytes(bad.read_bytes()[:-10])
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_embeddings(bad)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\xff" * 64)
    with pytest.raises(InputError, match="not a safetensors file"):
        read_embeddings(junk)
    other = tmp_path / "other"
    _folder(other, {"some.other.weight": _rand()})
    with pytest.raises(InputError, match="no input embedding tensor"):
        read_embeddings(other)


def test_config_size_mismatch_is_noted(tmp_path):
    emb = read_embeddings(_folder(tmp_path, {"model.embed_tokens.weight": _rand(rows=40)}, {"vocab_size": 48}))
    assert any("vocab_size 48" in n for n in emb.notes)


def test_pytorch_bin_only_with_weights_only(tmp_path):
    torch = pytest.importorskip("torch")
    e = _rand()
    torch.save({"model.embed_tokens.weight": torch.from_numpy(e)}, tmp_path / "pytorch_model.bin")
    emb = read_embeddings(tmp_path)
    assert emb.format == "pytorch" and emb.tied
    np.testing.assert_array_equal(emb.input, e)

    evil = tmp_path / "evil"
    evil.mkdir()
    torch.save({"model.embed_tokens.weight": torch.from_numpy(e), "obj": _Pickled()}, evil / "pytorch_model.bin")
    with pytest.raises(InputError, match="weights_only=True refuses it"):
        read_embeddings(evil)


class _Pickled:
    """An arbitrary object: only full pickle loading (code execution) can rebuild it."""


def _write_gguf(path, tensors):
    gguf = pytest.importorskip("gguf")
    w = gguf.GGUFWriter(str(path), "llama")
    for name, arr in tensors.items():
        if isinstance(arr, tuple):
            data, qtype = arr
            w.add_tensor(name, data, raw_dtype=qtype)
        else:
            w.add_tensor(name, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_gguf_float_and_quantised_tensors(tmp_path):
    gguf = pytest.importorskip("gguf")
    from gguf.quants import quantize

    e = _rand(rows=16, dim=64, seed=5)
    o = _rand(rows=16, dim=64, seed=6)
    q = quantize(o, gguf.GGMLQuantizationType.Q8_0)
    _write_gguf(tmp_path / "m.gguf", {"token_embd.weight": e, "output.weight": (q, gguf.GGMLQuantizationType.Q8_0)})
    emb = read_embeddings(tmp_path / "m.gguf")
    assert emb.format == "gguf" and emb.architecture == "llama"
    assert not emb.tied and emb.input.shape == (16, 64)
    np.testing.assert_array_equal(emb.input, e)
    np.testing.assert_allclose(emb.output, o, atol=0.05)
    _write_gguf(tmp_path / "t.gguf", {"token_embd.weight": e})
    assert read_embeddings(tmp_path / "t.gguf").tied
    _write_gguf(tmp_path / "none.gguf", {"blk.0.attn_norm.weight": e[0]})
    with pytest.raises(InputError, match="no token_embd.weight"):
        read_embeddings(tmp_path / "none.gguf")


def test_memory_estimate_refuses_before_loading(tmp_path):
    emb = read_embeddings(_folder(tmp_path, {"model.embed_tokens.weight": _rand(rows=1000, dim=100)}))
    need = estimate_model_bytes(emb, "float32")
    assert need is not None and need >= 1000 * 100 * 4
    assert estimate_model_bytes(emb, "bfloat16") < need
    check_memory(emb, "cpu", "float32", probe=lambda: need)  # fits: no error
    with pytest.raises(UserError, match="options: --dtype bfloat16"):
        check_memory(emb, "cpu", "float32", probe=lambda: need // 4)


def test_legacy_pytorch_format_is_read_without_mmap(tmp_path):
    torch = pytest.importorskip("torch")
    e = _rand()
    torch.save(
        {"lm_head.weight": torch.from_numpy(e), "transformer.wte.weight": torch.from_numpy(e * 2)},
        tmp_path / "pytorch_model.bin",
        _use_new_zipfile_serialization=False,
    )
    (tmp_path / "config.json").write_text(json.dumps({"tie_word_embeddings": False}))
    emb = read_embeddings(tmp_path)
    assert not emb.tied
    np.testing.assert_array_equal(emb.output, e)


def test_gguf_half_tensor_and_truncated_files(tmp_path):
    pytest.importorskip("gguf")
    e = _rand(rows=16, dim=64, seed=7)
    _write_gguf(tmp_path / "h.gguf", {"token_embd.weight": e.astype(np.float16)})
    emb = read_embeddings(tmp_path / "h.gguf")
    np.testing.assert_array_equal(emb.input, e.astype(np.float16).astype(np.float32))
    assert emb.storage_dtype == "F16"
    data = (tmp_path / "h.gguf").read_bytes()
    (tmp_path / "cut.gguf").write_bytes(data[:-100])
    with pytest.raises(InputError, match="beyond the end of the file"):
        read_embeddings(tmp_path / "cut.gguf")
    (tmp_path / "head.gguf").write_bytes(data[:40])
    with pytest.raises(InputError, match="truncated or corrupt GGUF header"):
        read_embeddings(tmp_path / "head.gguf")
