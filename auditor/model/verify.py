"""Verification by prompting (`docs/method.md` §3): is a candidate token under-trained?

Each candidate goes into the three prompts at the id level; the model generates three
tokens greedily and the candidate's probability (softmax of the raw logits) is read at
each step. Its score is the maximum over the 3 steps and the 3 prompts; under-trained
⇔ score < 0.01 (`threshold`). This is the reference's computation, made fast:

- **batched**: all candidates of a prompt share the ids and the placeholder positions,
  so B candidates are one [B, L] forward pass with no padding;
- **KV cache**: the 3 greedy steps reuse the prompt's keys/values (as `generate` does),
  and the shared prefix (BOS + preamble, before the first placeholder) is computed once
  per prompt and expanded over the batch;
- **only the last position's logits** are computed (`logits_to_keep=1`);
- **early rejection** (default, `exact=False`): a candidate is rejected as soon as one
  step of one prompt gives it >= threshold, so later prompts and steps are skipped for
  it. The verdict is the same as the full computation's; `max_prob` is then exact for
  every verified token (all 9 values are computed for it) and a lower bound (already
  >= threshold) for a rejected one, flagged by `TokenVerification.exact`. `exact=True`
  computes every step of every prompt for every candidate.

Like `generate`, a row stops when its greedy token is an end-of-sequence id of the
model's generation config: the reference never sees the steps after it.

`Verifier` loads the model once and verifies any sequence of ids in batches, in the
order given, with results cached per candidate (an interrupted run resumes), so a
caller can verify in indicator order and stop when it likes. `verify_tokens` is the
one-call form.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.core import (
    InputError,
    MissingExtraError,
    TokenizerView,
    UserError,
    VerificationOptions,
    first_line,
)
from auditor.model.prompts import (
    TEMPLATE_NAMES,
    EncodedPrompt,
    PromptSet,
    build_prompts,
)

METHOD_VERSION = 1  # bump when a change alters cached verification results
STEPS = 3
# Prompts in the order early rejection tries them, cheapest rejection first. What a
# prompt costs per candidate is the ids after its first placeholder (the shared prefix
# is computed once): about 10 for assistant_explain, 100 for repeats, 250 for
# input_output. On the indicator candidates the short assistant prompt already rejects
# most ordinary tokens (SmolLM2: 40 of 46, the same as repeats), so it goes first.
# Verdicts do not depend on the order. Measured with benchmarks/bench_verify.py.
DEFAULT_ORDER: tuple[str, ...] = ("assistant_explain", "repeats", "input_output")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class VerifyOptions:
    """How the verifier runs: the user's `VerificationOptions` (their defaults) and the
    verifier's own settings. `exact=False` (default) rejects early; verdicts do not depend on it."""

    device: str = VerificationOptions.device
    dtype: str = VerificationOptions.dtype
    batch_size: int = VerificationOptions.batch_size
    threshold: float = VerificationOptions.threshold
    exact: bool = VerificationOptions.exact
    template_order: tuple[str, ...] = DEFAULT_ORDER
    add_bos: bool | None = None  # None: the tokenizer's default
    placeholder_id: int | None = None  # None: picked as docs/method.md §3 says
    reuse_prefix: bool = True  # compute the shared preamble once per prompt

    def validate(self) -> None:
        VerificationOptions(device=self.device, dtype=self.dtype, batch_size=self.batch_size, threshold=self.threshold)
        if sorted(self.template_order) != sorted(TEMPLATE_NAMES):
            raise UserError(
                f"template order {list(self.template_order)}: must name each of {', '.join(TEMPLATE_NAMES)} once"
            )


@dataclass(frozen=True)
class TokenVerification:
    """One candidate's result.

    `max_prob`: the maximum probability of the token over the steps and prompts computed.
    `exact=True`: over all 3 prompts x 3 steps (always so for a verified token);
    `exact=False`: rejected early, `max_prob` is a lower bound that is >= threshold, and the
    rejected grade is a lower bound too. `prompt`/`step` (1-3) say where the maximum was.
    """

    token_id: int
    max_prob: float
    verdict: str  # "under-trained" | "ok"
    grade: str  # strong-verified (<0.001), weak-verified (<threshold), rejected, weak-rejected (>0.1), strong-rejected (>0.9)
    exact: bool = True
    prompt: str = ""
    step: int = 0

    @property
    def under_trained(self) -> bool:
        return self.verdict == "under-trained"

    def as_dict(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "max_prob": self.max_prob,
            "max_prob_exact": self.exact,
            "verdict": self.verdict,
            "grade": self.grade,
            "prompt": self.prompt,
            "step": self.step,
        }


@dataclass(frozen=True)
class VerificationRun:
    """Results in the order the candidates were given (duplicates dropped)."""

    placeholder_id: int
    results: tuple[TokenVerification, ...]
    seconds: float
    placeholder_text: str = ""
    prefix_ids: tuple[int, ...] = ()
    device: str = ""
    dtype: str = ""
    exact: bool = False
    threshold: float = 0.01
    template_order: tuple[str, ...] = DEFAULT_ORDER
    cached: int = 0  # results read from the cache
    computed: int = 0  # results computed in this run

    def under_trained(self) -> list[int]:
        return [r.token_id for r in self.results if r.under_trained]

    def by_id(self) -> dict[int, TokenVerification]:
        return {r.token_id: r for r in self.results}

    def describe(self) -> dict[str, Any]:
        """What a report says about how verification ran (results go elsewhere)."""
        return {
            "method_version": METHOD_VERSION,
            "placeholder_id": self.placeholder_id,
            "placeholder": self.placeholder_text,
            "bos_ids": list(self.prefix_ids),
            "device": self.device,
            "dtype": self.dtype,
            "threshold": self.threshold,
            "exact": self.exact,
            "max_prob_meaning": (
                "maximum over all 3 prompts x 3 greedy steps"
                if self.exact
                else "exact for verified tokens; for rejected tokens a lower bound (early rejection)"
            ),
            "template_order": list(self.template_order),
            "verified": len(self.results),
            "under_trained": len(self.under_trained()),
            "cached": self.cached,
            "seconds": round(self.seconds, 3),
        }


def grade(max_prob: float, threshold: float = 0.01) -> str:
    """The reference's grades: <0.001 strong, <threshold weak verified; >0.9 strong, >0.1 weak rejected."""
    if max_prob < threshold:
        return "strong-verified" if max_prob < 0.001 else "weak-verified"
    if max_prob > 0.9:
        return "strong-rejected"
    if max_prob > 0.1:
        return "weak-rejected"
    return "rejected"


# ---------------------------------------------------------------- model loading


def _torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError:
        raise MissingExtraError("verification by prompting", "torch and transformers", "model") from None
    return torch


def resolve_device(device: str) -> str:
    torch = _torch()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available to torch here (use --device cpu or auto)")
    return device


def _checkpoint_dtype(path: Path) -> str | None:
    config = path / "config.json"
    if not config.is_file():
        return None
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("torch_dtype") or data.get("dtype")
    return value if isinstance(value, str) else None


def resolve_dtype(dtype: str, device: str, model_path: str | os.PathLike[str]) -> str:
    """auto: float32 on CPU (half types are slow there and round probabilities); on CUDA the
    checkpoint's float16/bfloat16 when it has one, else float32."""
    if dtype != "auto":
        return dtype
    if device.startswith("cuda"):
        stored = _checkpoint_dtype(Path(model_path)) if Path(model_path).is_dir() else None
        if stored in ("float16", "bfloat16"):
            return stored
    return "float32"


def model_files(model_path: str | os.PathLike[str]) -> list[Path]:
    """The files that make up a model (for the cache key): weights, configs, or the GGUF file."""
    path = Path(model_path)
    if path.is_file():
        return [path]
    names = ("*.safetensors", "*.bin", "*.json", "*.gguf")
    return sorted({f for pattern in names for f in path.glob(pattern) if f.is_file()})


def model_identity(model_path: str | os.PathLike[str]) -> list[list[Any]]:
    """(name, size, mtime) of each model file: a cheap stand-in for a content hash of gigabytes."""
    out = []
    for f in model_files(model_path):
        st = f.stat()
        out.append([f.name, st.st_size, st.st_mtime_ns])
    return out


def _silence_progress_bars() -> None:
    """transformers' own tqdm bars (loading weights, de-quantising GGUF) would bypass
    --quiet / --no-progress; tokaudit reports its own progress."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - older transformers
        pass
    try:  # the GGUF converter calls tqdm directly
        import functools

        import transformers.modeling_gguf_pytorch_utils as gguf_utils

        bar = getattr(gguf_utils, "tqdm", None)
        if bar is not None and not isinstance(bar, functools.partial):
            gguf_utils.tqdm = functools.partial(bar, disable=True)
    except ImportError:  # no gguf support in this transformers: nothing to silence
        pass


def load_causal_lm(model_path: str | os.PathLike[str], device: str, dtype: str) -> Any:
    """A transformers causal LM from a local folder or GGUF file, never with remote code."""
    torch = _torch()
    import transformers
    from transformers import AutoModelForCausalLM

    path = Path(model_path)
    if not path.exists():
        raise UserError(f"{path}: no such file or directory")
    kwargs: dict[str, Any] = {"local_files_only": True, "trust_remote_code": False}
    dtype_key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    kwargs[dtype_key] = getattr(torch, dtype)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InputError(path, "no config.json: not a transformers model folder, cannot verify")
        source = str(path)
    else:
        with open(path, "rb") as fh:
            if fh.read(4) != b"GGUF":
                raise InputError(path, "verification needs a transformers model folder or a GGUF file")
        source = str(path.parent)
        kwargs["gguf_file"] = path.name
    _silence_progress_bars()
    try:
        loaded: Any = AutoModelForCausalLM.from_pretrained(source, output_loading_info=True, **kwargs)
        model, info = loaded
    except ImportError as exc:
        raise MissingExtraError(f"{path}: loading this model", first_line(exc), "model") from None
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, NotImplementedError) as exc:
        raise InputError(path, f"transformers cannot run this model for verification: {first_line(exc)}") from None
    missing = sorted((info or {}).get("missing_keys") or [])
    if missing:  # transformers fills them with random values: verification would judge noise
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise InputError(
            path, f"the checkpoint lacks {len(missing)} weight tensor(s) the model needs ({shown}): cannot verify"
        )
    model.to(device)
    model.eval()
    return model


# ---------------------------------------------------------------- the verifier


@dataclass
class _Row:
    """Per candidate: probabilities [template][step] (None: not computed) and completeness."""

    probs: list[list[float | None]] = field(default_factory=list)
    complete: list[bool] = field(default_factory=list)


class Verifier:
    """A loaded model and its encoded prompts; verifies ids in batches, cached per id."""

    def __init__(
        self,
        model_path: str,
        view: TokenizerView,
        options: VerifyOptions = VerifyOptions(),
        *,
        cache: Any = None,
        model: Any = None,
    ) -> None:
        options.validate()
        torch = _torch()
        self.options = options
        self.view = view
        self.cache = cache
        self.device = resolve_device(options.device)
        self.dtype = resolve_dtype(options.dtype, self.device, model_path)
        prefix = None
        if options.add_bos is False:
            prefix = ()
        self.prompts: PromptSet = build_prompts(view, prefix_ids=prefix, placeholder_id=options.placeholder_id)
        if options.add_bos is True and not self.prompts.prefix_ids:
            raise UserError("add_bos: the tokenizer has no BOS token to add")
        self.model = model if model is not None else load_causal_lm(model_path, self.device, self.dtype)
        if model is not None:
            self.device = str(next(model.parameters()).device.type)
            self.dtype = str(next(model.parameters()).dtype).replace("torch.", "")
        self.rows = int(self.model.get_input_embeddings().weight.shape[0])
        longest = max(max(p.ids) for p in self.prompts.prompts)
        if longest >= self.rows:
            raise InputError(
                model_path,
                f"the tokenizer does not match the model: prompt token id {longest} is beyond its {self.rows} embedding rows",
            )
        params = inspect.signature(self.model.forward).parameters
        # transformers 5.x renames `past_key_values` to `cache`: use whichever this model takes.
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._keep = {}
        for name in ("logits_to_keep", "num_logits_to_keep"):
            if name in params:
                self._keep = {name: 1}
                break
        eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        eos_list = eos if isinstance(eos, (list, tuple)) else ([] if eos is None else [eos])
        self.eos_ids = tuple(sorted(int(e) for e in eos_list))
        self._order: list[EncodedPrompt] = [self.prompts.by_name(n) for n in options.template_order]
        self._prefix_cache: dict[str, Any] = {}
        self._torch = torch
        self.last_cached = 0  # results the last verify_batch read from the cache
        self.total_cached = 0  # ... and all verify_batch calls so far
        self.run_key = self._run_key(model_path)

    # -- keys and cache

    def _run_key(self, model_path: str) -> str:
        h = hashlib.sha256()
        for p in self._order:
            h.update(json.dumps([p.template.name, list(p.ids), list(p.positions)]).encode())
        return json.dumps(
            {
                "method": METHOD_VERSION,
                "model": model_identity(model_path),
                "prompts": h.hexdigest(),
                "device": self.device.split(":")[0],
                "dtype": self.dtype,
                "exact": self.options.exact,
                "threshold": self.options.threshold,
                "eos": list(self.eos_ids),
            },
            sort_keys=True,
        )

    def _cache_load(self, token_id: int) -> TokenVerification | None:
        if self.cache is None:
            return None
        hit = self.cache.load("verify", self.cache.key("verify", self.run_key, token_id))
        if hit is None:
            return None
        doc, _arrays = hit
        try:
            return TokenVerification(**doc["result"])
        except (KeyError, TypeError):
            return None

    def _cache_store(self, result: TokenVerification) -> None:
        if self.cache is None:
            return
        self.cache.store(
            "verify", self.cache.key("verify", self.run_key, result.token_id), {"result": result.__dict__.copy()}
        )

    # -- public

    def verify_batch(self, token_ids: Sequence[int]) -> list[TokenVerification]:
        """Results for these ids, in their order (cached ones read, the others computed in
        batches of `options.batch_size`)."""
        ids = [int(i) for i in token_ids]
        for i in ids:
            if not 0 <= i < self.rows:
                raise UserError(f"token id {i} is outside the model's {self.rows} embedding rows: cannot verify it")
        found: dict[int, TokenVerification] = {}
        for i in ids:
            hit = self._cache_load(i)
            if hit is not None:
                found[i] = hit
        todo = [i for i in dict.fromkeys(ids) if i not in found]
        self.last_cached = len(set(ids)) - len(todo)
        self.total_cached += self.last_cached
        size = self.options.batch_size
        for start in range(0, len(todo), size):
            for result in self._compute(todo[start : start + size]):
                self._cache_store(result)
                found[result.token_id] = result
        return [found[i] for i in ids]

    def iter_batches(
        self, token_ids: Sequence[int], batch_size: int | None = None
    ) -> Iterator[list[TokenVerification]]:
        """Results batch by batch, in the order given (duplicates dropped): stop whenever."""
        size = batch_size or self.options.batch_size
        ids = list(dict.fromkeys(int(i) for i in token_ids))
        for start in range(0, len(ids), size):
            yield self.verify_batch(ids[start : start + size])

    def run(self, token_ids: Sequence[int], progress: Progress | None = None) -> VerificationRun:
        say = progress or (lambda _msg: None)
        started = time.perf_counter()
        ids = list(dict.fromkeys(int(i) for i in token_ids))
        results: list[TokenVerification] = []
        cached = 0
        for batch in self.iter_batches(ids):
            results.extend(batch)
            cached += self.last_cached
            elapsed = time.perf_counter() - started
            rate = len(results) / elapsed if elapsed > 0 else 0.0
            say(f"verifying candidates: {len(results)}/{len(ids)} ({rate:.1f}/s)")
        return self.summary(results, time.perf_counter() - started, cached)

    def summary(self, results: Sequence[TokenVerification], seconds: float, cached: int) -> VerificationRun:
        """These results as a VerificationRun of this verifier (how it ran, for the report)."""
        return VerificationRun(
            placeholder_id=self.prompts.placeholder_id,
            results=tuple(results),
            seconds=seconds,
            placeholder_text=self.prompts.placeholder_text,
            prefix_ids=self.prompts.prefix_ids,
            device=self.device,
            dtype=self.dtype,
            exact=self.options.exact,
            threshold=self.options.threshold,
            template_order=tuple(self.options.template_order),
            cached=cached,
            computed=len(results) - cached,
        )

    # -- computation

    def _compute(self, ids: list[int]) -> list[TokenVerification]:
        torch = self._torch
        thr = self.options.threshold
        rows = {i: _Row() for i in ids}
        alive = list(ids)
        with torch.inference_mode():
            for prompt in self._order:
                if not alive:
                    break
                probs, complete = self._prompt_probs(prompt, alive)
                for k, i in enumerate(alive):
                    rows[i].probs.append(probs[k])
                    rows[i].complete.append(complete[k])
                if not self.options.exact:
                    alive = [i for i in alive if max(p for p in rows[i].probs[-1] if p is not None) < thr]
        return [self._result(i, rows[i]) for i in ids]

    def _result(self, token_id: int, row: _Row) -> TokenVerification:
        best, where = -1.0, ("", 0)
        for t, probs in enumerate(row.probs):
            for s, p in enumerate(probs):
                if p is not None and p > best:
                    best, where = p, (self._order[t].template.name, s + 1)
        exact = len(row.probs) == len(self._order) and all(row.complete)
        verdict = "under-trained" if best < self.options.threshold else "ok"
        return TokenVerification(
            token_id=token_id,
            max_prob=float(best),
            verdict=verdict,
            grade=grade(best, self.options.threshold),
            exact=exact,
            prompt=where[0],
            step=where[1],
        )

    def _prefix(self, prompt: EncodedPrompt, batch: int) -> tuple[Any, int]:
        """(cache of the shared prefix expanded to `batch` rows or None, prefix length)."""
        first = prompt.positions[0]
        if not self.options.reuse_prefix or first == 0:
            return None, 0
        name = prompt.template.name
        if name not in self._prefix_cache:
            torch = self._torch
            ids = torch.tensor([prompt.ids[:first]], dtype=torch.long, device=self.device)
            out = self.model(input_ids=ids, use_cache=True)
            past = self._past_of(out)
            if past is None or not hasattr(past, "batch_repeat_interleave"):
                self._prefix_cache[name] = None
            else:
                self._prefix_cache[name] = past
        stored = self._prefix_cache[name]
        if stored is None:
            return None, 0
        past = copy.deepcopy(stored)
        if batch > 1:
            past.batch_repeat_interleave(batch)
        return past, first

    def _forward(self, input_ids: Any, past: Any) -> Any:
        return self.model(input_ids=input_ids, use_cache=True, **{self._cache_arg: past}, **self._keep)

    @staticmethod
    def _past_of(out: Any) -> Any:
        past = getattr(out, "cache", None)
        return past if past is not None else getattr(out, "past_key_values", None)

    def _prompt_probs(self, prompt: EncodedPrompt, ids: list[int]) -> tuple[list[list[float | None]], list[bool]]:
        """Probabilities of each candidate at each greedy step of one prompt."""
        torch = self._torch
        thr = self.options.threshold
        n = len(ids)
        past, start = self._prefix(prompt, n)
        cand = torch.tensor(ids, dtype=torch.long, device=self.device)
        base = torch.tensor(prompt.ids[start:], dtype=torch.long, device=self.device)
        inputs = base.unsqueeze(0).repeat(n, 1)
        slots = torch.tensor([p - start for p in prompt.positions], dtype=torch.long, device=self.device)
        inputs[:, slots] = cand.unsqueeze(1)
        out = self._forward(inputs, past)
        past = self._past_of(out)
        logits = out.logits[:, -1, :]
        probs: list[list[float | None]] = [[None] * STEPS for _ in range(n)]
        complete = [False] * n
        live = list(range(n))  # rows of the current batch -> index into ids
        for step in range(STEPS):
            p = torch.softmax(logits.float(), dim=-1).gather(1, cand[live].unsqueeze(1)).squeeze(1)
            values = p.double().cpu().tolist()
            for k, r in enumerate(live):
                probs[r][step] = values[k]
            if step == STEPS - 1:
                for r in live:
                    complete[r] = True
                break
            nxt = logits.argmax(dim=-1)
            greedy = nxt.tolist()
            keep = []
            for k, r in enumerate(live):
                if greedy[k] in self.eos_ids:  # generate stops this row here
                    complete[r] = True
                elif self.options.exact or max(v for v in probs[r] if v is not None) < thr:
                    keep.append(k)
            if not keep:
                break
            if len(keep) < len(live):
                index = torch.tensor(keep, dtype=torch.long, device=self.device)
                past.batch_select_indices(index)
                nxt = nxt[index]
                live = [live[k] for k in keep]
            out = self._forward(nxt.unsqueeze(1), past)
            past = self._past_of(out)
            logits = out.logits[:, -1, :]
        return probs, complete


def verify_tokens(
    model_path: str,
    view: TokenizerView,
    candidate_ids: Sequence[int],
    options: VerifyOptions = VerifyOptions(),
    *,
    progress: Progress | None = None,
    cache: Any = None,
) -> VerificationRun:
    """Verify candidates in the order given; see the module docstring for what is computed."""
    verifier = Verifier(model_path, view, options, cache=cache)
    return verifier.run(candidate_ids, progress=progress)


def reference_probs(verifier: Verifier, token_id: int) -> dict[str, list[float]]:
    """The reference's way, for tests and benchmarks: one candidate, one prompt, one
    `generate` call (greedy, 3 new tokens, raw logits) at a time. Per prompt name, the
    candidate's probability at each generated step."""
    torch = verifier._torch
    out: dict[str, list[float]] = {}
    with torch.inference_mode():
        for prompt in verifier._order:
            ids = torch.tensor([prompt.with_token(token_id)], dtype=torch.long, device=verifier.device)
            gen = verifier.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=STEPS,
                do_sample=False,
                num_beams=1,
                output_logits=True,
                return_dict_in_generate=True,
                pad_token_id=verifier.eos_ids[0] if verifier.eos_ids else 0,
            )
            out[prompt.template.name] = [float(torch.softmax(step[0].float(), dim=-1)[token_id]) for step in gen.logits]
    return out


def reference_max_prob(verifier: Verifier, token_id: int) -> float:
    """max over prompts and steps of `reference_probs`."""
    probs = reference_probs(verifier, token_id)
    return max(max(v) for v in probs.values())
