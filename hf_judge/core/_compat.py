"""Every use of transformers internals lives here, pinned to a tested 5.x range.

hf_judge drives the target and draft models through their public ``forward`` and reaches
``generate``'s input preparation through the public ``custom_generate=callable`` route. What
is private (the cache keyword's name, the prepared eos tensor, the stock defaults of the
assisted-generation knobs) is read here and nowhere else.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import warnings
from copy import deepcopy
from functools import cache

import torch
import transformers
from packaging.version import Version
from transformers import DynamicCache, GenerationConfig, GenerationMixin, StoppingCriteriaList, StopStringCriteria
from transformers.generation.utils import GenerateDecoderOnlyOutput

from .errors import InputError

TESTED_RANGE = (Version("5.23.0"), Version("5.25.0"))  # [lo, hi): 5.23.0 and 5.24.0 run the test suite
_V = Version(transformers.__version__)
if not (TESTED_RANGE[0] <= _V < TESTED_RANGE[1]):
    warnings.warn(
        f"hf_judge is tested with transformers >={TESTED_RANGE[0]},<{TESTED_RANGE[1]}; found {_V}",
        stacklevel=2,
    )


@cache
def _cache_kwarg(cls: type) -> str:
    """The name the model's forward takes its KV cache under (``cache`` from 5.2x, ``past_key_values`` before)."""
    params = inspect.signature(cls.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


# the output field that carries the cache: ``cache`` from 5.24, ``past_key_values`` before
OUTPUT_CACHE_FIELD = "cache" if "cache" in GenerateDecoderOnlyOutput.__dataclass_fields__ else "past_key_values"


def _rollbackable(cache_obj):
    if hasattr(cache_obj, "activate_past_recording"):  # sliding-window layers must be able to roll back
        cache_obj.activate_past_recording()
    return cache_obj


def new_cache(model) -> DynamicCache:
    """A fresh dynamic cache for ``model`` that can be cropped back after verification."""
    return _rollbackable(DynamicCache(config=model.config.get_text_config(decoder=True)))


def model_cache(model_kwargs: dict, model) -> DynamicCache:
    """The target cache ``generate`` prepared, or a new dynamic one."""
    cache_obj = model_kwargs.get("cache", model_kwargs.get("past_key_values"))
    if cache_obj is None:
        cache_obj = new_cache(model)
    if not getattr(cache_obj, "is_croppable", True) or not hasattr(cache_obj, "crop"):
        raise InputError(f"judge decoding needs a croppable cache, got {type(cache_obj).__name__}")
    return _rollbackable(cache_obj)


def forward(model, input_ids: torch.Tensor, cache_obj, keep: int, layer: int | None):
    """One cached forward over ``input_ids`` (1, T).

    Returns the logits of the last ``keep`` positions (1, keep, V) and, unless ``layer`` is None, the
    hidden states ``hidden_states[layer]`` at those positions (1, keep, H) (-1: the last, post-norm),
    read from the same pass via ``output_hidden_states=[layer]``, which captures that one only.
    """
    kwargs = {_cache_kwarg(type(model)): cache_obj, "use_cache": True, "logits_to_keep": keep}
    if layer is not None:
        kwargs["output_hidden_states"] = _one_layer(layer)
    out = model(input_ids=input_ids, **kwargs)
    logits = out.logits[:, -keep:]  # (1, keep, V)
    states = out.hidden_states[layer][:, -keep:] if layer is not None else None  # (1, keep, H)
    return logits, states


def _one_layer(layer: int) -> list[int]:
    """``output_hidden_states`` that captures ``hidden_states[layer]`` only (a list: a bare 0 reads as False)."""
    if not isinstance(layer, int) or isinstance(layer, bool):
        raise TypeError(f"layer={layer!r} must be an int index into the hidden states, or None for none")
    return [layer]


def cached_forward(model, input_ids: torch.Tensor, cache_obj=None, logits_to_keep: int = 0):
    """A forward that keeps its KV cache, whatever this transformers calls it: ``(logits, cache)``; the logits of
    the last ``logits_to_keep`` positions only (0: all)."""
    kw = {_cache_kwarg(type(model)): cache_obj} if cache_obj is not None else {}
    out = model(input_ids=input_ids, use_cache=True, logits_to_keep=logits_to_keep, **kw)
    return out.logits, _kept_cache(out)


def _kept_cache(out):
    """The cache a forward's output carries, whatever this transformers calls the field."""
    kept = getattr(out, "cache", None)
    return kept if kept is not None else out.past_key_values


def last_hidden_states(model, input_ids: torch.Tensor) -> torch.Tensor:
    """The last (post-norm) hidden states over ``input_ids`` (1, T) without a cache: (1, T, H)."""
    out = model(input_ids=input_ids, use_cache=False, logits_to_keep=1, output_hidden_states=-1)
    return out.hidden_states[-1]


def states_and_logits(
    model, input_ids: torch.Tensor, logits_at: torch.Tensor, cache_obj=None, layer: int = -1
) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward over ``input_ids`` (1, T), after what ``cache_obj`` holds (uncached without one): the
    hidden states ``hidden_states[layer]`` (1, T, H) (-1: the last, post-norm) and the logits at the
    positions ``logits_at`` (P,) of ``input_ids`` only (1, P, V), through the model's own head (with any
    soft-capping or scaling it has), via ``logits_to_keep`` as a tensor of indices."""
    kwargs = {"use_cache": False} if cache_obj is None else {_cache_kwarg(type(model)): cache_obj, "use_cache": True}
    out = model(input_ids=input_ids, logits_to_keep=logits_at, output_hidden_states=_one_layer(layer), **kwargs)
    return out.hidden_states[layer], out.logits


def left_padded_cache(model, caches: list, which: list[int], lengths: list[int], width: int):
    """A batch's cache built from the caches of a few sequences (batch 1 each): row r holds the first
    ``lengths[r]`` tokens of ``caches[which[r]]``, after ``width - lengths[r]`` zero pads that the batch's
    attention mask hides, as a left-padded batch's prefill would have left it (up to float rounding). Returns
    ``(keyword, cache)`` for ``generate``, or None where a cache is not a plain dynamic cache of full-attention
    layers (sliding windows, hybrid or quantised layers), for the caller to prefill the batch itself."""
    from transformers.cache_utils import DynamicLayer

    for c in caches:
        layers = getattr(c, "layers", None)
        if not layers or any(type(layer) is not DynamicLayer or layer.keys is None for layer in layers):
            return None
    for r, (i, n) in enumerate(zip(which, lengths, strict=True)):
        if not 0 <= n <= min(width, caches[i].get_seq_length()):
            raise ValueError(f"row {r}: {n} tokens of a cache of {caches[i].get_seq_length()}, in a width of {width}")
    data = []
    for li in range(len(caches[0].layers)):
        pair = []
        for kind in ("keys", "values"):
            t = getattr(caches[0].layers[li], kind)  # (1, heads, T, d)
            rows = t.new_zeros(len(which), t.shape[1], width, t.shape[3])  # (B, heads, width, d)
            for r, (i, n) in enumerate(zip(which, lengths, strict=True)):
                rows[r, :, width - n :] = getattr(caches[i].layers[li], kind)[0, :, :n]
            pair.append(rows)
        data.append(tuple(pair))
    return _cache_kwarg(type(model)), DynamicCache(data, config=model.config.get_text_config(decoder=True))


def masked_forward(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, cache_obj=None):
    """One forward of a left-padded batch as ``generate`` runs it: ``input_ids`` (B, T) after what ``cache_obj``
    holds (a new cache without one), ``attention_mask`` (B, held + T), positions counted from each row's first
    token. Returns the logits at the last position (B, V) and the cache."""
    pos = attention_mask.long().cumsum(-1) - 1  # (B, held + T)
    pos = pos.masked_fill(attention_mask == 0, 1)[:, -input_ids.shape[1] :]  # (B, T)
    kw = {_cache_kwarg(type(model)): cache_obj} if cache_obj is not None else {}
    out = model(
        input_ids=input_ids, attention_mask=attention_mask, position_ids=pos, use_cache=True, logits_to_keep=1, **kw
    )
    return out.logits[:, -1], _kept_cache(out)


def keep_rows(cache_obj, rows: torch.Tensor) -> None:
    """Keep only the batch rows ``rows`` (R,) of ``cache_obj``, in that order."""
    cache_obj.batch_select_indices(rows)


def cropped_copy(cache_obj, length: int):
    """A copy of ``cache_obj`` holding its first ``length`` tokens; ``cache_obj`` itself is left as it is."""
    copy = deepcopy(cache_obj)
    crop(copy, length)
    return copy


def crop(cache_obj, length: int) -> None:
    """Crop ``cache_obj`` back to ``length`` tokens."""
    excess = cache_obj.get_seq_length() - length
    if excess < 0:
        raise RuntimeError(f"cannot crop a cache of {cache_obj.get_seq_length()} tokens to {length}")
    cache_obj.crop(-excess)


def eos_tensor(generation_config: GenerationConfig) -> torch.Tensor | None:
    """The eos ids generate() prepared (the same tensor its stopping criteria use).

    Falls back to the public ``eos_token_id`` when the private tensor is missing (renamed in
    another transformers version): a configured stop token is never silently dropped.
    """
    prepared = getattr(generation_config, "_eos_token_tensor", None)
    if prepared is not None:
        return torch.as_tensor(prepared).reshape(-1)
    ids = generation_config.eos_token_id
    if ids is None:
        return None
    return torch.tensor([ids] if isinstance(ids, int) else list(ids), dtype=torch.long)


def assistant_settings(assistant_model) -> tuple[int, str, float]:
    """(num_assistant_tokens, schedule, assistant_confidence_threshold) as stock assisted generation reads them."""
    cfg = assistant_model.generation_config
    defaults = GenerationConfig._get_default_generation_params()

    def get(name):
        value = getattr(cfg, name, None)
        return defaults[name] if value is None else value

    return (
        int(get("num_assistant_tokens")),
        get("num_assistant_tokens_schedule"),
        float(get("assistant_confidence_threshold")),
    )


class _DropStockAssistantNotice(logging.Filter):
    """Drops the deprecation notice transformers' own assisted generation (5.23-5.24) triggers inside itself:
    its candidate generator calls the draft's ``generate`` with a config and loose kwargs together. The
    user cannot act on it, so a stock-SD baseline run should not print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Passing `generation_config` together with generation-related" not in record.getMessage()


@contextlib.contextmanager
def quiet_stock_assisted_generation():
    """Run stock assisted generation without the notice it raises about its own internal call."""
    log = logging.getLogger("transformers.generation.utils")
    f = _DropStockAssistantNotice()
    log.addFilter(f)
    try:
        yield
    finally:
        log.removeFilter(f)


def generate_with(model, decode_fn, *args, **kwargs):
    """``GenerationMixin.generate`` with ``decode_fn`` as its decoding loop (``custom_generate``).

    For a callable ``custom_generate`` transformers (5.23-5.24, ``_extract_generation_mode_kwargs``) drops
    the ``tokenizer`` argument, so ``stop_strings`` would find no tokenizer: their criterion is built here
    and handed to generate() as a stopping criterion instead.
    """
    tokenizer = kwargs.pop("tokenizer", None)
    config = kwargs.get("generation_config") or model.generation_config
    stops = kwargs.get("stop_strings", config.stop_strings)
    if tokenizer is not None and stops:
        criteria = StoppingCriteriaList(kwargs.get("stopping_criteria") or [])
        criteria.append(StopStringCriteria(tokenizer=tokenizer, stop_strings=stops))
        kwargs.update(stopping_criteria=criteria, stop_strings=None)
    return GenerationMixin.generate(model, *args, custom_generate=decode_fn, **kwargs)
