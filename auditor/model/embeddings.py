"""Read a model's input and output embedding matrices without loading the model.

The indicators (docs/method.md §2) need two tensors out of hundreds. An HF folder's
safetensors files are memory-mapped and only those two tensors are touched (the header
is parsed here: numpy cannot hold bfloat16, so the bytes are widened to float32
directly, without torch); GGUF tensors are dequantised with the `gguf` package;
PyTorch `.bin` checkpoints are read only with `torch.load(weights_only=True)`, and a
checkpoint that needs pickle's code execution is refused.

Tied or untied is decided from the config *and* from the tensors: a missing output
tensor means tied, an output tensor equal to the input means tied whatever the config
says, and a config that ties a differing `lm_head` wins (transformers ignores the
stored copy), with a note either way.
"""

from __future__ import annotations

import functools
import json
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.core import InputError, MissingExtraError, UserError, first_line

# Tensor names, most specific first. Suffix matching covers wrappers ("language_model.").
INPUT_NAMES = (
    "model.embed_tokens.weight",
    "transformer.wte.weight",
    "gpt_neox.embed_in.weight",
    "model.decoder.embed_tokens.weight",
    "transformer.word_embeddings.weight",
    "transformer.embedding.word_embeddings.weight",
    "model.language_model.embed_tokens.weight",
    "language_model.model.embed_tokens.weight",
    "tok_embeddings.weight",
    "embed_tokens.weight",
    "wte.weight",
    "embed_in.weight",
    "word_embeddings.weight",
    "token_embd.weight",
)
OUTPUT_NAMES = (
    "lm_head.weight",
    "embed_out.weight",
    "language_model.lm_head.weight",
    "output.weight",
)
INPUT_SUFFIXES = ("embed_tokens.weight", "wte.weight", "embed_in.weight", "word_embeddings.weight")
OUTPUT_SUFFIXES = ("lm_head.weight", "embed_out.weight")

_ST_DTYPES = {"F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2), "F64": ("<f8", 8)}
_ST_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "U16": 2,
    "U32": 4,
    "U64": 8,
}


@dataclass(frozen=True)
class ModelEmbeddings:
    """The two matrices the indicators read (float32, rows = token ids) and what they came from."""

    path: str
    format: str  # "safetensors", "gguf", "pytorch"
    architecture: str | None
    input: Any  # numpy float32 [rows, dim]
    tied: bool
    input_name: str
    output_name: str | None
    storage_dtype: str  # as stored: bfloat16, float16, float32, Q4_1, ...
    config_vocab_size: int | None
    parameter_count: int | None  # all tensors of the checkpoint (for the memory estimate)
    notes: tuple[str, ...] = field(default=())
    # Special tokens the model gives a role (BOS, EOS, PAD, ... ids and texts, chat template):
    # the indicators' last-resort reference set is the control tokens with none.
    role_ids: tuple[int, ...] = ()
    role_texts: tuple[str, ...] = ()
    chat_template: str | None = None
    # The output matrix of an untied model is read (and widened to float32) only when an
    # indicator asks for it: the default untied indicator needs the input matrix alone.
    output_loader: Callable[[], Any] | None = field(default=None, compare=False, repr=False)
    output_shape: tuple[int, ...] | None = None

    @functools.cached_property
    def output(self) -> Any | None:
        """The output (unembedding) matrix as float32, None when tied (one matrix)."""
        return None if self.output_loader is None else self.output_loader()

    @property
    def rows(self) -> int:
        return int(self.input.shape[0])

    @property
    def dim(self) -> int:
        return int(self.input.shape[1])

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "architecture": self.architecture,
            "tied": self.tied,
            "embedding_shape": [self.rows, self.dim],
            "output_shape": None if self.output_shape is None else [int(s) for s in self.output_shape],
            "input_tensor": self.input_name,
            "output_tensor": self.output_name,
            "storage_dtype": self.storage_dtype,
            "config_vocab_size": self.config_vocab_size,
            "parameter_count": self.parameter_count,
        }


def read_embeddings(path: str | os.PathLike[str]) -> ModelEmbeddings:
    """Embeddings of an HF model folder, a GGUF file, a .safetensors or a .bin file."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{path}: no such file or directory")
    if p.is_dir():
        return _read_folder(p)
    try:
        with p.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise InputError(p, f"cannot read ({exc.strerror})") from None
    if head.startswith(b"GGUF"):
        return _read_gguf(p)
    if p.suffix == ".safetensors":
        return _finish(p, "safetensors", _config_near(p), _SafetensorsFiles([p]))
    if p.suffix in (".bin", ".pt", ".pth"):
        return _finish(p, "pytorch", _config_near(p), _TorchFiles([p]))
    raise InputError(p, "not a model: expected an HF model folder, a GGUF file, .safetensors or .bin")


# --- HF folders ----------------------------------------------------------------------


def _config_near(p: Path) -> dict[str, Any]:
    cfg = p.parent / "config.json"
    return _read_config(cfg) if cfg.is_file() else {}


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"not a readable JSON config ({first_line(exc)})") from None
    if not isinstance(data, dict):
        raise InputError(path, "config.json is not a JSON object")
    # Multimodal wrappers keep the language model's settings in text_config.
    text = data.get("text_config")
    if isinstance(text, dict):
        merged = dict(text)
        merged.setdefault("architectures", data.get("architectures"))
        if "tie_word_embeddings" in data:
            merged.setdefault("tie_word_embeddings", data["tie_word_embeddings"])
        return merged
    return data


def _read_folder(folder: Path) -> ModelEmbeddings:
    config = _read_config(folder / "config.json") if (folder / "config.json").is_file() else {}
    st_index = folder / "model.safetensors.index.json"
    pt_index = folder / "pytorch_model.bin.index.json"
    if st_index.is_file():
        return _finish(folder, "safetensors", config, _SafetensorsFiles(_index_files(st_index)))
    singles = sorted(folder.glob("*.safetensors"))
    if singles:
        return _finish(folder, "safetensors", config, _SafetensorsFiles(singles))
    if pt_index.is_file():
        return _finish(folder, "pytorch", config, _TorchFiles(_index_files(pt_index)))
    bins = sorted(folder.glob("pytorch_model*.bin"))
    if bins:
        return _finish(folder, "pytorch", config, _TorchFiles(bins))
    ggufs = sorted(folder.glob("*.gguf"))
    if len(ggufs) == 1:
        return _read_gguf(ggufs[0])
    if len(ggufs) > 1:
        raise UserError(f"{folder}: several .gguf files; name the one to audit")
    raise UserError(
        f"{folder}: no model weights found (looked for model.safetensors, a sharded index, pytorch_model.bin, *.gguf)"
    )


def _index_files(index: Path) -> list[Path]:
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
        weight_map = data["weight_map"]
        names = sorted(set(weight_map.values()))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(index, f"not a valid shard index ({first_line(exc)})") from None
    files = [index.parent / n for n in names]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise InputError(index, f"names shard(s) that are missing: {', '.join(missing[:3])}")
    return files


class _SafetensorsFiles:
    """Tensors of one or more safetensors files, by name, memory-mapped on demand."""

    def __init__(self, files: list[Path]) -> None:
        self.headers: dict[str, tuple[Path, int, dict[str, Any]]] = {}
        for f in files:
            header, start = _safetensors_header(f)
            for name, info in header.items():
                if name != "__metadata__":
                    self.headers[name] = (f, start, info)

    def names(self) -> dict[str, tuple[int, ...]]:
        return {n: tuple(info["shape"]) for n, (_f, _s, info) in self.headers.items()}

    def parameter_count(self) -> int:
        total = 0
        for _f, _s, info in self.headers.values():
            n = 1
            for d in info["shape"]:
                n *= int(d)
            total += n
        return total

    def dtype(self, name: str) -> str:
        return {"BF16": "bfloat16", "F16": "float16", "F32": "float32", "F64": "float64"}.get(
            self.headers[name][2]["dtype"], self.headers[name][2]["dtype"]
        )

    def raw(self, name: str) -> Any:
        """The tensor as stored (memory-mapped, bfloat16 as uint16): for comparisons."""
        import numpy as np

        f, start, info = self.headers[name]
        if info["dtype"] not in _ST_DTYPES:
            return self.load(name)
        shape = tuple(int(d) for d in info["shape"])
        return np.memmap(
            f, dtype=_ST_DTYPES[info["dtype"]][0], mode="r", offset=start + info["data_offsets"][0], shape=shape
        )

    def load(self, name: str) -> Any:
        import numpy as np

        f, start, info = self.headers[name]
        dtype = info["dtype"]
        if dtype not in _ST_DTYPES:
            raise InputError(f, f"tensor {name} has dtype {dtype}; embeddings must be float (F32, F16, BF16)")
        np_dtype, width = _ST_DTYPES[dtype]
        shape = tuple(int(d) for d in info["shape"])
        begin, end = info["data_offsets"]
        count = 1
        for d in shape:
            count *= d
        if end - begin != count * width:
            raise InputError(f, f"tensor {name}: its byte range does not match its shape {list(shape)}")
        raw = np.memmap(f, dtype=np_dtype, mode="r", offset=start + begin, shape=shape)
        if dtype == "BF16":  # bfloat16 is the top half of a float32: one strided copy
            halves = np.zeros((*shape[:-1], shape[-1] * 2) if shape else (2,), dtype="<u2")
            halves[..., 1::2] = raw
            return halves.view("<f4").reshape(shape)
        return np.asarray(raw, dtype=np.float32)


def _safetensors_header(path: Path) -> tuple[dict[str, Any], int]:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise InputError(path, "truncated safetensors file (no header)")
            (n,) = struct.unpack("<Q", head)
            if n > min(size - 8, 100 << 20):
                raise InputError(path, "not a safetensors file (header length out of range)")
            header = json.loads(fh.read(n).decode("utf-8"))
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(path, "not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise InputError(path, "not a safetensors file (header is not an object)")
    start = 8 + n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            begin, end = info["data_offsets"]
            ok = 0 <= begin <= end and start + end <= size and isinstance(info["shape"], list)
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise InputError(path, f"tensor {name}: offsets beyond the file (truncated or corrupt)")
        if info.get("dtype") not in _ST_BYTES:
            raise InputError(path, f"tensor {name}: unknown dtype {info.get('dtype')!r}")
    return header, start


class _TorchFiles:
    """PyTorch checkpoints, loaded only with weights_only=True (no code runs)."""

    def __init__(self, files: list[Path]) -> None:
        try:
            import torch
        except ImportError:
            raise MissingExtraError("PyTorch .bin checkpoints", "torch", "model") from None
        self.tensors: dict[str, Any] = {}
        for f in files:
            try:
                try:
                    state = torch.load(f, map_location="cpu", weights_only=True, mmap=True)
                except RuntimeError as exc:
                    if "mmap" not in str(exc):  # legacy (non-zip) checkpoints cannot be mapped
                        raise
                    state = torch.load(f, map_location="cpu", weights_only=True)
            except Exception as exc:
                msg = first_line(exc)
                if "weights_only" in str(exc) or "Unsupported" in msg or "pickle" in msg.lower():
                    raise InputError(
                        f,
                        "checkpoint needs pickle code execution to load (weights_only=True refuses it); "
                        "tokaudit never runs it: convert it to safetensors with a tool you trust",
                    ) from None
                raise InputError(f, f"not a readable PyTorch checkpoint ({msg})") from None
            if not isinstance(state, dict):
                raise InputError(f, "checkpoint is not a state dict of tensors")
            if "state_dict" in state and isinstance(state["state_dict"], dict):
                state = state["state_dict"]
            for k, v in state.items():
                if hasattr(v, "shape") and hasattr(v, "dtype"):
                    self.tensors[str(k)] = v

    def names(self) -> dict[str, tuple[int, ...]]:
        return {n: tuple(int(d) for d in t.shape) for n, t in self.tensors.items()}

    def parameter_count(self) -> int:
        return sum(int(t.numel()) for t in self.tensors.values())

    def dtype(self, name: str) -> str:
        return str(self.tensors[name].dtype).replace("torch.", "")

    def raw(self, name: str) -> Any:
        return self.load(name)

    def load(self, name: str) -> Any:
        t = self.tensors[name]
        if not t.is_floating_point():
            raise InputError(name, "embedding tensor is not floating point")
        return t.float().numpy()


def _pick(names: dict[str, tuple[int, ...]], exact: tuple[str, ...], suffixes: tuple[str, ...]) -> str | None:
    for n in exact:
        if n in names and len(names[n]) == 2:
            return n
    for suffix in suffixes:
        hits = sorted(n for n in names if n.endswith(suffix) and len(names[n]) == 2)
        if hits:
            return hits[0]
    return None


_ROLE_KEYS = (
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "unk_token_id",
    "sep_token_id",
    "decoder_start_token_id",
    "mask_token_id",
    "cls_token_id",
)
_ROLE_NAMES = ("bos_token", "eos_token", "pad_token", "unk_token", "sep_token", "cls_token", "mask_token")


def _roles(folder: Path, config: dict[str, Any]) -> tuple[tuple[int, ...], tuple[str, ...], str | None]:
    """Role ids from config.json (and generation_config.json), role texts and chat template
    from tokenizer_config.json: what a model uses its special tokens for."""
    ids: set[int] = set()
    texts: set[str] = set()
    template: str | None = None
    sources = [config]
    gen = folder / "generation_config.json"
    if gen.is_file():
        try:
            sources.append(json.loads(gen.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            pass
    for src in sources:
        for key in _ROLE_KEYS:
            value = src.get(key) if isinstance(src, dict) else None
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, int) and not isinstance(v, bool):
                    ids.add(v)
    tc = folder / "tokenizer_config.json"
    if tc.is_file():
        try:
            data = json.loads(tc.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            data = {}
        if isinstance(data, dict):
            for key in _ROLE_NAMES:
                v = data.get(key)
                if isinstance(v, dict):
                    v = v.get("content")
                if isinstance(v, str):
                    texts.add(v)
            t = data.get("chat_template")
            if isinstance(t, str):
                template = t
            elif isinstance(t, list):
                template = "\n".join(str(x.get("template", "")) for x in t if isinstance(x, dict))
    return tuple(sorted(ids)), tuple(sorted(texts)), template


def _finish(path: Path, fmt: str, config: dict[str, Any], files: Any) -> ModelEmbeddings:
    names = files.names()
    in_name = _pick(names, INPUT_NAMES, INPUT_SUFFIXES)
    if in_name is None:
        raise InputError(
            path,
            "no input embedding tensor found (looked for model.embed_tokens.weight, "
            "transformer.wte.weight, gpt_neox.embed_in.weight, ...)",
        )
    out_name = _pick(names, OUTPUT_NAMES, OUTPUT_SUFFIXES)
    notes: list[str] = []
    e_in = files.load(in_name)
    raw_out = files.raw(out_name) if out_name is not None else None
    raw_in = files.raw(in_name) if raw_out is not None and raw_out.dtype != e_in.dtype else e_in
    if raw_out is not None and raw_in.dtype != raw_out.dtype:  # stored in two dtypes: compare as float32
        raw_in, raw_out = e_in, files.load(out_name)
    cfg_tie = config.get("tie_word_embeddings")
    tied = _decide_tied(path, cfg_tie, raw_in, raw_out, out_name, notes)
    roles = _roles(path if path.is_dir() else path.parent, config)
    arch = None
    if isinstance(config.get("architectures"), list) and config["architectures"]:
        arch = str(config["architectures"][0])
    elif config.get("model_type"):
        arch = str(config["model_type"])
    vocab = config.get("vocab_size")
    if isinstance(vocab, int) and vocab != e_in.shape[0]:
        notes.append(f"config vocab_size {vocab} differs from the {e_in.shape[0]} embedding rows")
    hidden = config.get("hidden_size") or config.get("n_embd") or config.get("d_model")
    if isinstance(hidden, int) and hidden != e_in.shape[1]:
        notes.append(f"config hidden size {hidden} differs from the embedding width {e_in.shape[1]}")
    return ModelEmbeddings(
        path=str(path),
        format=fmt,
        architecture=arch,
        input=e_in,
        tied=tied,
        input_name=in_name,
        output_name=None if tied else out_name,
        storage_dtype=files.dtype(in_name),
        config_vocab_size=vocab if isinstance(vocab, int) else None,
        parameter_count=files.parameter_count(),
        notes=tuple(notes),
        role_ids=roles[0],
        role_texts=roles[1],
        chat_template=roles[2],
        output_loader=None if tied else functools.partial(files.load, out_name),
        output_shape=None if tied else tuple(names[out_name]),
    )


def _decide_tied(
    path: Path, cfg_tie: Any, e_in: Any, e_out: Any | None, out_name: str | None, notes: list[str]
) -> bool:
    """Tied or not: the config and the tensors together (compared as stored, same dtype)."""
    import numpy as np

    if e_out is None:
        if cfg_tie is False:
            raise InputError(
                path,
                "config says the embeddings are untied but there is no output embedding tensor "
                "(lm_head.weight): incomplete checkpoint?",
            )
        if cfg_tie is None:
            notes.append(
                "no output embedding tensor and no tie flag: the input embedding is read as the "
                "only matrix (tied); an encoder without an LM head has no unembedding at all"
            )
        return True
    if e_out.shape != e_in.shape:
        if cfg_tie is True:
            notes.append(f"config ties the embeddings but {out_name} has another shape: treated as untied")
        return False
    if np.array_equal(e_in[:1], e_out[:1]) and np.array_equal(e_in, e_out):
        if cfg_tie is False:
            notes.append(f"config says untied but {out_name} equals the input embedding: treated as tied")
        return True
    if cfg_tie is True:
        notes.append(
            f"config ties the embeddings, so the stored {out_name}, which differs, is ignored (as transformers does)"
        )
        return True
    if cfg_tie is None:
        notes.append(f"config does not say whether embeddings are tied; {out_name} differs: treated as untied")
    return False


# --- GGUF ------------------------------------------------------------------------------


_GGUF_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_GGUF_STRING, _GGUF_ARRAY = 8, 9
_GGUF_KEEP = ("general.architecture", "general.alignment", "tokenizer.chat_template")


class _GGUFHeader:
    """The parts of a GGUF header the audit needs, parsed straight from the memory map.

    `gguf.GGUFReader` builds numpy views of every metadata item (a 49k-token vocabulary
    and its merges: seconds); here arrays are skipped by their lengths and only a few
    keys and the tensor table are kept.
    """

    def __init__(self, path: Path) -> None:
        import mmap

        self.path = path
        with path.open("rb") as fh:
            self.buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self.pos = 0
        self.meta: dict[str, Any] = {}
        self.tensors: dict[str, tuple[tuple[int, ...], int, int]] = {}  # name -> (dims, type, offset)
        try:
            self._parse()
        except (struct.error, IndexError, UnicodeDecodeError, OverflowError, MemoryError):
            raise InputError(path, "truncated or corrupt GGUF header") from None

    def _take(self, fmt: str) -> Any:
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def _string(self) -> bytes:
        n = self._take("<Q")
        if self.pos + n > len(self.buf):
            raise IndexError
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def _value(self, vtype: int, keep: bool) -> Any:
        if vtype in _GGUF_SCALAR:
            return self._take(_GGUF_SCALAR[vtype])
        if vtype == _GGUF_STRING:
            data = self._string()
            return data.decode("utf-8", "replace") if keep else None
        if vtype == _GGUF_ARRAY:
            itype, count = self._take("<I"), self._take("<Q")
            if itype in _GGUF_SCALAR:
                width = struct.calcsize(_GGUF_SCALAR[itype])
                if self.pos + width * count > len(self.buf):
                    raise IndexError
                self.pos += width * count
            else:
                for _ in range(count):
                    self._value(itype, False)
            return None
        raise IndexError(f"unknown GGUF value type {vtype}")

    def _parse(self) -> None:
        if self.buf[:4] != b"GGUF":
            raise InputError(self.path, "not a GGUF file")
        self.pos = 4
        version = self._take("<I")
        if version < 2:
            raise InputError(self.path, f"GGUF version {version} is too old (2 or later is read)")
        n_tensors, n_kv = self._take("<Q"), self._take("<Q")
        for _ in range(n_kv):
            key = self._string().decode("utf-8", "replace")
            vtype = self._take("<I")
            keep = key in _GGUF_KEEP or (key.startswith("tokenizer.ggml.") and key.endswith("_token_id"))
            value = self._value(vtype, keep)
            if keep:
                self.meta[key] = value
        for _ in range(n_tensors):
            name = self._string().decode("utf-8", "replace")
            n_dims = self._take("<I")
            dims = tuple(self._take("<Q") for _ in range(n_dims))
            ttype, offset = self._take("<I"), self._take("<Q")
            self.tensors[name] = (dims, ttype, offset)
        align = int(self.meta.get("general.alignment") or 32)
        self.data_start = (self.pos + align - 1) // align * align

    def load(self, name: str) -> Any:
        import numpy as np
        from gguf.constants import GGMLQuantizationType
        from gguf.quants import dequantize

        raw = self.raw(name)
        dims, ttype, _offset = self.tensors[name]
        qtype = GGMLQuantizationType(ttype)
        row_elems, rows = int(dims[0]), int(dims[1])
        try:
            arr = dequantize(raw, qtype)
        except Exception as exc:
            raise InputError(self.path, f"cannot dequantise {name} ({qtype.name}: {first_line(exc)})") from None
        return np.ascontiguousarray(np.asarray(arr, dtype=np.float32).reshape(rows, row_elems))

    def raw(self, name: str) -> Any:
        """The tensor's bytes as stored, one row per token (for comparisons)."""
        import numpy as np
        from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

        dims, ttype, offset = self.tensors[name]
        try:
            block, size = GGML_QUANT_SIZES[GGMLQuantizationType(ttype)]
        except (ValueError, KeyError):
            raise InputError(self.path, f"{name}: unknown GGUF tensor type {ttype}") from None
        if len(dims) != 2 or dims[0] % block:
            raise InputError(self.path, f"{name}: not a matrix of whole quantisation blocks ({list(dims)})")
        rows, row_bytes = int(dims[1]), int(dims[0]) // block * size
        start = self.data_start + offset
        if start + rows * row_bytes > len(self.buf):
            raise InputError(self.path, f"{name}: data beyond the end of the file (truncated?)")
        return np.frombuffer(self.buf, dtype=np.uint8, count=rows * row_bytes, offset=start).reshape(rows, row_bytes)

    def type_name(self, name: str) -> str:
        from gguf.constants import GGMLQuantizationType

        try:
            return GGMLQuantizationType(self.tensors[name][1]).name
        except ValueError:
            return str(self.tensors[name][1])

    def parameter_count(self) -> int:
        total = 0
        for dims, _t, _o in self.tensors.values():
            n = 1
            for d in dims:
                n *= int(d)
            total += n
        return total


def _read_gguf(path: Path) -> ModelEmbeddings:
    try:
        import gguf  # noqa: F401 - dequantisation
    except ImportError:
        raise MissingExtraError("GGUF models", "gguf", "model") from None
    try:
        header = _GGUFHeader(path)
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror})") from None
    if "token_embd.weight" not in header.tensors:
        raise InputError(path, "GGUF file has no token_embd.weight tensor (a vocabulary-only file?)")
    e_in = header.load("token_embd.weight")
    has_out = "output.weight" in header.tensors
    raw_in = header.raw("token_embd.weight")
    raw_out = header.raw("output.weight") if has_out else None
    if raw_out is not None and header.tensors["output.weight"][1] != header.tensors["token_embd.weight"][1]:
        raw_in, raw_out = e_in, header.load("output.weight")  # two quantisations: compare the values
    notes: list[str] = []
    tied = _decide_tied(path, None if has_out else True, raw_in, raw_out, "output.weight", notes)
    notes = [n for n in notes if "does not say" not in n]  # GGUF has no tie flag: the tensors decide
    role_ids = sorted(int(v) for k, v in header.meta.items() if k.startswith("tokenizer.ggml.") and isinstance(v, int))
    arch = header.meta.get("general.architecture")
    template = header.meta.get("tokenizer.chat_template")
    return ModelEmbeddings(
        path=str(path),
        format="gguf",
        architecture=arch if isinstance(arch, str) else None,
        input=e_in,
        tied=tied,
        input_name="token_embd.weight",
        output_name=None if tied else "output.weight",
        storage_dtype=header.type_name("token_embd.weight"),
        config_vocab_size=None,
        parameter_count=header.parameter_count(),
        notes=tuple(notes),
        role_ids=tuple(role_ids),
        chat_template=template if isinstance(template, str) else None,
        output_loader=None if tied else functools.partial(header.load, "output.weight"),
        output_shape=None
        if tied
        else (int(header.tensors["output.weight"][0][1]), int(header.tensors["output.weight"][0][0])),
    )


# --- memory estimate for verification ------------------------------------------------------

_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "auto": None}


def estimate_model_bytes(emb: ModelEmbeddings, dtype: str, device: str = "cpu") -> int | None:
    """Bytes the full model takes once loaded in `dtype` (auto: float32 on CPU, the stored
    half type on CUDA, as verification resolves it; GGUF is dequantised to float32)."""
    if emb.parameter_count is None:
        return None
    width = _DTYPE_BYTES.get(dtype)
    if width is None:
        width = 4 if device == "cpu" else {"float16": 2, "bfloat16": 2}.get(emb.storage_dtype, 4)
    return int(emb.parameter_count * width * 1.2)  # activations, buffers and allocator slack


def available_memory_bytes(device: str, probe: Callable[[], int | None] | None = None) -> int | None:
    """Free memory of the device verification would run on (None when unknown)."""
    if probe is not None:
        return probe()
    if device == "cuda":
        try:
            import torch

            if torch.cuda.is_available():
                free, _total = torch.cuda.mem_get_info()
                return int(free)
        except Exception:
            return None
        return None
    env = os.environ.get("TOKAUDIT_MEMORY_LIMIT")  # for tests and constrained containers
    if env and env.isdigit():
        return int(env)
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None
