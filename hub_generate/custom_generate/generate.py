"""Judge decoding (Bachmann et al., ICLR 2025) as a transformers ``custom_generate`` recipe.

Built by ``hf-judge export-generate`` from hf_judge's core modules
(errors.py, verify.py, scorers.py, _compat.py, decoding.py); do not edit.
Usage: ``model.generate(ids, custom_generate=REPO, trust_remote_code=True, assistant_model=draft,
judge=HEAD_REPO_OR_FOLDER_OR_MODULE, judge_threshold=None, num_assistant_tokens=None)``.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import os
import sys
import warnings
from collections import Counter
from copy import deepcopy
from dataclasses import dataclass, field
from functools import cache

import torch
import transformers
from packaging.version import Version
from transformers import (
    DynamicCache,
    EosTokenCriteria,
    GenerationConfig,
    GenerationMixin,
    MaxLengthCriteria,
    StoppingCriteriaList,
    StopStringCriteria,
)
from transformers.generation.utils import GenerateDecoderOnlyOutput

_compat = sys.modules[__name__]  # the compatibility functions below, under the name the loop uses


# ---- hf_judge/core/errors.py ----


class InputError(ValueError):
    """A bad value given by the caller; the message names it."""


# ---- hf_judge/core/verify.py ----


def check_threshold(threshold, name: str = "judge_threshold") -> float:
    """``threshold`` as a float in [0, 1]; a ValueError naming it otherwise (NaN included)."""
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise InputError(f"{name}={threshold!r} must be a number in [0, 1]") from None
    if not 0.0 <= t <= 1.0:  # also false for NaN
        raise InputError(f"{name}={threshold} must lie in [0, 1]")
    return t


def prob_ratio(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """p(ids) / max p under ``logits`` (K, V), row by row: (K,) in [0, 1], 1 for each row's own argmax.
    The softmax's normaliser cancels in the ratio, so it is exp(logit - max logit), no softmax taken."""
    z = logits.float()  # (K, V)
    return (z.gather(-1, ids[:, None])[:, 0] - z.max(-1).values).exp()  # (K,)


@dataclass(frozen=True)
class Verdict:
    """What one verification step decided."""

    n_accepted: int  # leading draft tokens kept, 0..K
    next_token: int  # the target's token after the kept ones (correction or bonus)
    by_target: tuple[bool, ...]  # (n_accepted,) for each kept token, whether standard verification kept it

    def __post_init__(self):
        if len(self.by_target) != self.n_accepted:
            raise InputError(
                f"by_target={self.by_target} must mark each of the n_accepted={self.n_accepted} kept tokens"
            )

    @property
    def n_target(self) -> int:
        """Of the kept tokens, how many standard verification kept."""
        return sum(self.by_target)

    @property
    def n_judge_only(self) -> int:
        """Of the kept tokens, how many only the judge kept."""
        return self.n_accepted - self.n_target

    @property
    def tokens_per_step(self) -> int:
        return self.n_accepted + 1

    def kept_split(self, n: int) -> tuple[int, int]:
        """``(n_target, n_judge_only)`` of the first ``n`` kept tokens: what a step cut short (at eos) keeps."""
        n = min(n, self.n_accepted)
        n_target = sum(self.by_target[:n])
        return n_target, n - n_target


def _check(draft_ids, target_logits, judge_scores, judge_threshold, judge_min_ratio, draft_probs, do_sample) -> None:
    if draft_ids.dim() != 1:
        raise InputError(f"draft_ids must be 1-D (K,), got shape {tuple(draft_ids.shape)}")
    k = draft_ids.shape[0]
    if target_logits.dim() != 2 or target_logits.shape[0] != k + 1:
        raise InputError(f"target_logits must be (K+1, V) = ({k + 1}, V), got {tuple(target_logits.shape)}")
    if judge_scores is not None and tuple(judge_scores.shape) != (k,):
        raise InputError(f"judge_scores must be (K,) = ({k},), got {tuple(judge_scores.shape)}")
    check_threshold(judge_threshold)
    check_threshold(judge_min_ratio, "judge_min_ratio")
    if do_sample and k > 0:  # with no draft token there is nothing to test against q
        if draft_probs is None:
            raise InputError("draft_probs (K, V) are required when do_sample=True")
        if tuple(draft_probs.shape) != tuple(target_logits[:k].shape):
            raise InputError(
                f"draft_probs must be (K, V) = {tuple(target_logits[:k].shape)}, got {tuple(draft_probs.shape)}"
            )


def verify(
    draft_ids: torch.Tensor,
    target_logits: torch.Tensor,
    judge_scores: torch.Tensor | None = None,
    judge_threshold: float = 0.5,
    *,
    draft_probs: torch.Tensor | None = None,
    do_sample: bool = False,
    generator: torch.Generator | None = None,
    no_judge_ids: torch.Tensor | None = None,
    judge_min_ratio: float = 0.0,
) -> Verdict:
    """Decide how many draft tokens to keep and which token follows them.

    ``target_logits`` are the processed logits (temperature, top-k, ... already applied).
    A judge score strictly above ``judge_threshold`` accepts; 1.0 therefore never
    accepts through the judge and the rule reduces to standard verification. Draft tokens in
    ``no_judge_ids`` are kept only by standard verification: a draft that wants to stop early
    must convince the target, not the judge; so are draft tokens the processors ruled out (a -inf entry
    of ``target_logits``: the user's filters and bans bind the judge too). With ``judge_min_ratio`` > 0 the
    judge keeps only draft tokens whose target probability ratio p(d) / max p is above it: a rewording the
    target finds plausible, not a token it all but rules out.
    """
    _check(draft_ids, target_logits, judge_scores, judge_threshold, judge_min_ratio, draft_probs, do_sample)
    k = draft_ids.shape[0]
    idx = torch.arange(k, device=draft_ids.device)

    if do_sample:
        p = target_logits.float().softmax(-1)  # (K+1, V)
        q = draft_probs.float() if k > 0 else p[:0]  # (K, V)
        p_d = p[idx, draft_ids]  # (K,)
        q_d = q[idx, draft_ids].clamp_min(torch.finfo(torch.float32).tiny)  # (K,)
        r = torch.rand(k, generator=generator, device=p.device)  # (K,)
        by_target = r < (p_d / q_d)  # (K,) bool; p/q >= 1 always keeps
    else:
        by_target = draft_ids == target_logits[:k].argmax(-1)  # (K,) bool

    if judge_scores is not None:
        by_judge = judge_scores.float() > judge_threshold  # (K,) bool
        by_judge &= target_logits[idx, draft_ids].isfinite()  # (K,) a processor's ban binds the judge too
        if no_judge_ids is not None:
            by_judge &= ~torch.isin(draft_ids, no_judge_ids.to(draft_ids.device))  # (K,)
        if judge_min_ratio > 0:
            by_judge &= prob_ratio(target_logits[:k], draft_ids) > judge_min_ratio  # (K,)
    else:
        by_judge = torch.zeros_like(by_target)
    kept = by_target | by_judge  # (K,)

    # leading run of kept tokens
    n = int(kept.long().cumprod(0).sum().item()) if k > 0 else 0

    if n == k:  # all kept: bonus token from the last row
        row = target_logits[k]
        if do_sample:
            nxt = torch.multinomial(row.float().softmax(-1), 1, generator=generator)
        else:
            nxt = row.argmax(-1)
    elif do_sample:  # resample from the residual max(0, p - q)
        resid = (p[n] - q[n]).clamp_min(0)  # (V,)
        if resid.sum() <= 0:  # p == q: the residual is empty, fall back to p
            resid = p[n]
        nxt = torch.multinomial(resid / resid.sum(), 1, generator=generator)
    else:
        nxt = target_logits[n].argmax(-1)
    return Verdict(n_accepted=n, next_token=int(nxt.item()), by_target=tuple(by_target[:n].tolist()))


# ---- hf_judge/core/scorers.py ----


class Scorer:
    """The judge interface: scores in [0, 1] for K draft tokens; ``threshold`` is the default cut."""

    name = "scorer"
    threshold: float = 0.5

    def score(self, hidden: torch.Tensor, target_logits: torch.Tensor, draft_ids: torch.Tensor) -> torch.Tensor:
        """``hidden`` (K, H) the target's hidden states at d_i (the head's layer), ``target_logits`` (K, V) the
        target's processed logits for d_i's position, ``draft_ids`` (K,) -> scores (K,) in [0, 1]."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(threshold={self.threshold})"


class TopK(Scorer):
    """1 if the draft token is among the target's ``k`` most likely tokens, else 0 (threshold 0.5); a token the
    logits processors ruled out (-inf) is never among them, however few tokens they left."""

    name = "top-k"

    def __init__(self, k: int = 2):
        if not isinstance(k, int) or k < 1:
            raise InputError(f"top-k k={k!r} must be a positive int")
        self.k, self.threshold = k, 0.5

    def score(self, hidden, target_logits, draft_ids):
        top = target_logits.topk(min(self.k, target_logits.shape[-1]), dim=-1).indices  # (K, k)
        allowed = target_logits.gather(-1, draft_ids[:, None])[:, 0].isfinite()  # (K,) -inf: a processor's ban
        return ((top == draft_ids[:, None]).any(-1) & allowed).float()  # (K,)

    def __repr__(self) -> str:
        return f"TopK(k={self.k})"


class ProbabilityRatio(Scorer):
    """p_target(d) / max_v p_target(v): 1 for the target's own choice; kept above ``threshold``."""

    name = "ratio"

    def __init__(self, threshold: float = 0.3):
        self.threshold = check_threshold(threshold, "ratio threshold")

    def score(self, hidden, target_logits, draft_ids):
        return prob_ratio(target_logits, draft_ids)  # (K,)


class EntropyGated(Scorer):
    """Kept where the target is unsure (entropy / log V above ``threshold``) and the token is not
    implausible to it (probability ratio above ``min_ratio``); the score is the normalised entropy,
    or 0 for an implausible token."""

    name = "entropy"

    def __init__(self, threshold: float = 0.3, min_ratio: float = 0.1):
        self.threshold = check_threshold(threshold, "entropy threshold")
        self.min_ratio = check_threshold(min_ratio, "min_ratio")

    def score(self, hidden, target_logits, draft_ids):
        logp = target_logits.float().log_softmax(-1)  # (K, V)
        p = logp.exp()
        entropy = -(p * logp.clamp_min(-1e4)).sum(-1) / math.log(logp.shape[-1])  # (K,) in [0, 1]
        ratio = prob_ratio(target_logits, draft_ids)  # (K,)
        return torch.where(ratio > self.min_ratio, entropy, torch.zeros_like(entropy))

    def __repr__(self) -> str:
        return f"EntropyGated(threshold={self.threshold}, min_ratio={self.min_ratio})"


SCORERS = {"top-k": TopK, "ratio": ProbabilityRatio, "entropy": EntropyGated}


def scorer_from_spec(spec: str) -> Scorer:
    """``"top-k:2"``, ``"ratio:0.3"``, ``"entropy:0.4"`` (or the name alone, for its default knob)."""
    name, _, knob = spec.partition(":")
    if name not in SCORERS:
        raise InputError(f"unknown scorer {name!r}: one of {sorted(SCORERS)} (as 'name:knob'), or a judge head")
    if not knob:
        return SCORERS[name]()
    try:
        value = int(knob) if name == "top-k" else float(knob)
    except ValueError:
        raise InputError(f"scorer {spec!r}: the knob {knob!r} is not a number") from None
    return SCORERS[name](value)


def judge_scores(
    judge,
    hidden: torch.Tensor,
    target_logits: torch.Tensor,
    draft_ids: torch.Tensor,
    raw_logits: torch.Tensor | None = None,
) -> torch.Tensor:
    """Scores (K,) of any judge: a scorer's ``score``, or a head's ``predict_proba`` of the hidden states (and,
    for a head that reads them, of the target's logits: ``raw_logits`` (K, V), those before any sampling
    processor, which it was trained on, when given; else ``target_logits``)."""
    if isinstance(judge, Scorer):
        return judge.score(hidden, target_logits, draft_ids)
    if getattr(judge, "reads_logits", False):
        return judge.predict_proba(hidden, target_logits if raw_logits is None else raw_logits, draft_ids)
    return judge.predict_proba(hidden)


# ---- hf_judge/core/_compat.py ----


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


# ---- hf_judge/core/decoding.py ----


_SCHEDULES = ("constant", "heuristic", "heuristic_transient")


@dataclass
class AcceptanceStats:
    """Acceptance statistics of one generate call (gpt-fast style report)."""

    steps: int = 0  # target verification forwards
    proposed: int = 0  # draft tokens proposed
    accepted_target: int = 0  # draft tokens standard verification kept
    accepted_judge_only: int = 0  # draft tokens only the judge kept
    new_tokens: int = 0  # tokens appended to the sequence
    histogram: Counter = field(default_factory=Counter)  # accepted draft tokens per step -> count

    @property
    def accepted(self) -> int:
        return self.accepted_target + self.accepted_judge_only

    @property
    def mean_accepted(self) -> float:
        """Mean draft tokens accepted per target forward."""
        return self.accepted / self.steps if self.steps else 0.0

    @property
    def tokens_per_step(self) -> float:
        """Mean tokens produced per target forward (accepted + the target's own token)."""
        return self.new_tokens / self.steps if self.steps else 0.0

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.proposed if self.proposed else 0.0

    def add(self, proposed: int, n_target: int, n_judge_only: int, appended: int) -> None:
        self.steps += 1
        self.proposed += proposed
        self.accepted_target += n_target
        self.accepted_judge_only += n_judge_only
        self.new_tokens += appended
        self.histogram[n_target + n_judge_only] += 1

    def __add__(self, other: AcceptanceStats) -> AcceptanceStats:
        """The statistics of two calls together (summing over prompts)."""
        return AcceptanceStats(
            steps=self.steps + other.steps,
            proposed=self.proposed + other.proposed,
            accepted_target=self.accepted_target + other.accepted_target,
            accepted_judge_only=self.accepted_judge_only + other.accepted_judge_only,
            new_tokens=self.new_tokens + other.new_tokens,
            histogram=self.histogram + other.histogram,
        )

    @classmethod
    def from_dict(cls, d: dict) -> AcceptanceStats:
        """Inverse of :meth:`as_dict` (derived figures are recomputed, not read)."""
        hist = Counter({int(k): v for k, v in d.get("histogram", {}).items()})
        fields = ("steps", "proposed", "accepted_target", "accepted_judge_only", "new_tokens")
        return cls(**{f: d[f] for f in fields}, histogram=hist)

    def as_dict(self) -> dict:
        return {
            "steps": self.steps,
            "proposed": self.proposed,
            "accepted_target": self.accepted_target,
            "accepted_judge_only": self.accepted_judge_only,
            "new_tokens": self.new_tokens,
            "mean_accepted": self.mean_accepted,
            "tokens_per_step": self.tokens_per_step,
            "acceptance_rate": self.acceptance_rate,
            "histogram": {int(k): v for k, v in sorted(self.histogram.items())},
        }

    def report(self) -> str:
        total = max(self.steps, 1)
        hist = " ".join(f"{k}:{self.histogram[k] / total:.2f}" for k in sorted(self.histogram))
        return (
            f"steps={self.steps} proposed={self.proposed} accepted={self.accepted} "
            f"(target {self.accepted_target}, judge-only {self.accepted_judge_only}) "
            f"mean accepted/step={self.mean_accepted:.2f} tokens/step={self.tokens_per_step:.2f} "
            f"histogram[{hist}]"
        )


@dataclass
class JudgeGenerateOutput(_compat.GenerateDecoderOnlyOutput):
    """``GenerateDecoderOnlyOutput`` plus the acceptance statistics of the call."""

    acceptance: AcceptanceStats | None = None


def _validate(model, assistant_model, judge, threshold, input_ids, generation_config) -> None:
    if assistant_model is None:
        raise InputError("judge decoding needs a draft model: pass assistant_model=...")
    if model.config.is_encoder_decoder:
        raise InputError(f"judge decoding supports decoder-only models, got {type(model).__name__}")
    if input_ids.shape[0] != 1:
        raise InputError(f"batch_size={input_ids.shape[0]} is not supported: judge decoding runs one sequence")
    if input_ids.shape[1] == 0:
        raise InputError("the prompt is empty: judge decoding needs at least one prompt token")
    if generation_config.num_beams != 1:
        raise InputError(f"num_beams={generation_config.num_beams} is not supported with judge decoding")
    if generation_config.num_return_sequences != 1:
        raise InputError(f"num_return_sequences={generation_config.num_return_sequences} is not supported")
    if generation_config.output_attentions or generation_config.output_hidden_states:
        raise InputError("output_attentions/output_hidden_states are not supported with judge decoding")
    if generation_config.guidance_scale not in (None, 1):  # its processor runs the model a token at a time
        raise InputError(
            f"guidance_scale={generation_config.guidance_scale} (classifier-free guidance) is not supported with judge "
            "decoding: its processor runs the model on one new token per call and loses track when a step keeps "
            "several (stock assisted generation gives a wrong answer there too)"
        )
    for name, what in (  # another drafting or verification of stock assisted generation, which the loop does not run
        ("assistant_ensemble_weight", "stock assisted generation's lossy ensemble verification"),
        ("prompt_lookup_num_tokens", "prompt-lookup drafting"),
        ("assistant_early_exit", "drafting from the target's first layers"),
    ):
        if getattr(generation_config, name, None) is not None:
            raise InputError(
                f"{name}={getattr(generation_config, name)} ({what}) is not supported with judge decoding: it drafts "
                "with assistant_model and keeps what the judge or standard verification keeps; leave judge= out to "
                "run it in stock generate"
            )
    tv = model.get_output_embeddings().out_features
    dv = assistant_model.get_output_embeddings().out_features  # also for an int8-quantized draft
    if tv != dv:
        raise InputError(f"draft and target vocabularies differ: target vocab={tv}, draft vocab={dv}")
    check_judge_fits(judge, model)
    check_threshold(threshold)


def draft_confidence(assistant_model, threshold: float | None = None) -> float:
    """The draft confidence below which drafting stops: the argument, else the draft's generation config."""
    if threshold is None:
        threshold = _compat.assistant_settings(assistant_model)[2]
    return check_threshold(threshold, "assistant_confidence_threshold")


def draft_length(assistant_model, num_assistant_tokens=None, schedule=None) -> tuple[int, str]:
    """(draft tokens per step, schedule): the arguments when given, else the draft's generation config.

    An explicit ``num_assistant_tokens`` means a constant length unless a schedule is given too.
    """
    if num_assistant_tokens is None:
        k, default_schedule, _ = _compat.assistant_settings(assistant_model)
    else:
        k, default_schedule = num_assistant_tokens, "constant"
    schedule = default_schedule if schedule is None else schedule
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise InputError(f"num_assistant_tokens={k!r} must be a positive int")
    if schedule not in _SCHEDULES:
        raise InputError(f"num_assistant_tokens_schedule={schedule!r} is not one of {_SCHEDULES}")
    return k, schedule


@contextlib.contextmanager
def draft_settings(assistant_model, num_assistant_tokens=None, schedule=None, confidence=None):
    """Stock assisted generation reads its draft settings from the draft's generation config alone (given to
    ``generate`` they are ignored): those given are set there for the call (an explicit ``num_assistant_tokens``
    with a constant schedule unless one is given, as :func:`draft_length` reads them) and restored afterwards;
    a ``heuristic`` schedule's learned length is kept, as stock keeps it, unless the length was given."""
    given = {
        "num_assistant_tokens": num_assistant_tokens,
        "num_assistant_tokens_schedule": schedule,
        "assistant_confidence_threshold": confidence,
    }
    given = {name: value for name, value in given.items() if value is not None}
    if given and assistant_model is None:
        name, value = next(iter(given.items()))
        raise InputError(f"{name}={value!r} was given without assistant_model=: it sets how the draft drafts")
    if not given:
        yield
        return
    k, schedule = draft_length(assistant_model, num_assistant_tokens, schedule)  # checked, as with a judge
    if num_assistant_tokens is not None:
        given.update(num_assistant_tokens=k, num_assistant_tokens_schedule=schedule)
    if confidence is not None:
        given["assistant_confidence_threshold"] = draft_confidence(assistant_model, confidence)
    gc = assistant_model.generation_config
    saved = {name: getattr(gc, name, None) for name in given}
    for name, value in given.items():
        setattr(gc, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(gc, name, value)


def check_hidden_layer(model, layer: int, why: str = "") -> None:
    """Raise unless ``hidden_states[layer]`` is one of ``model``'s hidden states (``why`` ends the message)."""
    n_layers = model.config.get_text_config(decoder=True).num_hidden_layers
    if isinstance(layer, bool) or not isinstance(layer, int) or not -(n_layers + 1) <= layer <= n_layers:
        raise InputError(
            f"hidden_layer={layer!r} is not a hidden state of the target: it has {n_layers} layers, hidden states "
            f"-{n_layers + 1}..{n_layers} (-1: the last, post-norm; 0: the embeddings){why}"
        )


def check_judge(judge) -> None:
    """Raise unless ``judge`` is a judge: a head (``predict_proba``, a ``config``) or a training-free scorer."""
    if judge is None:
        raise InputError("judge decoding needs a judge head: pass judge=...")
    if not isinstance(judge, Scorer) and not (hasattr(judge, "predict_proba") and hasattr(judge, "config")):
        raise InputError(
            f"judge={judge!r} ({type(judge).__name__}) is neither a judge head nor a scorer: pass a JudgeHead, a "
            "Scorer (hf_judge.TopK, ...), or through hf_judge.generate a folder, a Hub repo id, 'default' or a rule "
            "such as 'top-k:2'"
        )


def check_judge_fits(judge, model) -> None:
    """Raise unless ``judge`` reads a hidden state ``model`` has, of its size (the message names the head's target)."""
    if isinstance(judge, Scorer):
        return  # reads the logits: fits any model
    h = model.config.get_text_config(decoder=True).hidden_size
    trained_for = f"the head was trained for {judge.config.target_model or 'another target'!r}"
    if judge.config.hidden_size != h:
        raise InputError(
            f"judge hidden_size={judge.config.hidden_size} does not match the target's hidden_size={h}: {trained_for}"
        )
    check_hidden_layer(model, judge.config.hidden_layer, f": {trained_for}")


def _prefilled_cache(cache, ids: torch.Tensor, padded: bool):
    """Accept a caller's cache that already holds the prompt (or a prefix of it).

    The first step needs the target's logits after the last prompt token, so a cache holding
    the whole prompt is cropped by one token and that token is fed again.
    """
    held, n = cache.get_seq_length(), ids.shape[1]
    if held == 0:
        return cache
    if padded:
        raise InputError(f"a cache that already holds {held} tokens cannot be combined with a left-padded prompt")
    if held > n:
        raise InputError(
            f"the cache holds {held} tokens but the prompt has only {n}: pass the cache of this prompt or of a prefix"
        )
    if held == n:
        _compat.crop(cache, n - 1)
    return cache


def _process(logits_processor, seq: torch.Tensor, logits: torch.Tensor, start: int) -> torch.Tensor:
    """Apply ``logits_processor`` row by row: row i sees ``seq[:, :start + i]``. logits (1, T, V)."""
    if not len(logits_processor):
        return logits
    rows = [logits_processor(seq[:, : start + i], logits[:, i]) for i in range(logits.shape[1])]
    return torch.stack(rows, 1)  # (1, T, V)


@torch.no_grad()
def judge_decode(
    model,
    input_ids: torch.LongTensor,
    logits_processor,
    stopping_criteria,
    generation_config,
    *,
    assistant_model=None,
    judge=None,
    judge_threshold: float | None = None,
    judge_min_ratio: float | None = None,
    num_assistant_tokens: int | None = None,
    num_assistant_tokens_schedule: str | None = None,
    assistant_confidence_threshold: float | None = None,
    streamer=None,
    **model_kwargs,
):
    """Judge-verified assisted decoding, called by ``generate(custom_generate=...)``.

    ``judge_threshold`` defaults to the head's own; ``judge_min_ratio`` (the judge keeps no draft token
    whose target probability ratio p(d) / max p is at most this) to the head's own floor (``min_ratio`` of
    its config; 0, none barred, for a head without one and for a training-free scorer);
    ``num_assistant_tokens`` (draft tokens per step), its schedule and ``assistant_confidence_threshold``
    (drafting stops after a token the draft gives less probability than this) default to the draft's
    generation config, as in stock assisted generation.
    """
    check_judge(judge)
    if model_kwargs.get("inputs_embeds") is not None:
        raise InputError(
            "inputs_embeds is not supported with judge decoding: the draft and the target verify token ids; "
            "pass the prompt as input_ids"
        )
    reads_hidden = not isinstance(judge, Scorer)  # a head reads hidden states; a scorer, the logits
    threshold = judge.threshold if judge_threshold is None else check_threshold(judge_threshold)
    own_floor = getattr(judge, "min_ratio", 0.0) if reads_hidden else 0.0  # a scorer gates inside its score
    min_ratio = check_threshold(own_floor if judge_min_ratio is None else judge_min_ratio, "judge_min_ratio")
    layer = judge.config.hidden_layer if reads_hidden else None  # the target's hidden state the head reads
    _validate(model, assistant_model, judge, threshold, input_ids, generation_config)
    mask = model_kwargs.get("attention_mask")
    pad = input_ids[:, :0]  # (1, 0)
    if mask is not None and not bool(mask.all()):  # a left-padded single row: drop the padding
        keep = mask[0].bool()  # (T,)
        n_pad = int((~keep).sum())
        if bool(keep[:n_pad].any()) or not bool(keep[n_pad:].all()):
            raise InputError("the attention mask must be left padding (zeros first, then ones) for judge decoding")
        pad, input_ids = input_ids[:, :n_pad], input_ids[:, n_pad:]

    do_sample = bool(generation_config.do_sample)
    eos = _compat.eos_tensor(generation_config)
    max_length = generation_config.max_length - pad.shape[1]
    k, schedule = draft_length(assistant_model, num_assistant_tokens, num_assistant_tokens_schedule)
    confidence = draft_confidence(assistant_model, assistant_confidence_threshold)
    t_cache = _prefilled_cache(_compat.model_cache(model_kwargs, model), ids=input_ids, padded=pad.shape[1] > 0)
    d_cache = _compat.new_cache(assistant_model)
    stats = AcceptanceStats()
    want_scores = generation_config.return_dict_in_generate and generation_config.output_scores
    want_logits = generation_config.return_dict_in_generate and generation_config.output_logits
    scores, raw = ((), ())
    # one buffer for the whole sequence, padding included: no allocation that grows with it per step
    P, n = pad.shape[1], input_ids.shape[1]
    buf = input_ids.new_empty((1, P + max_length))  # (1, max_length of generate)
    buf[:, :P], buf[:, P : P + n] = pad, input_ids

    # the criteria to check after every kept token, not only at the step's end (length and eos are cut below)
    inner_stops = StoppingCriteriaList(
        c for c in stopping_criteria if not isinstance(c, MaxLengthCriteria | EosTokenCriteria)
    )

    def process(end, logits, start):  # row i sees the sequence up to start + i, as generate() holds it
        return _process(logits_processor, buf[:, : P + end], logits, P + start)

    while True:
        cur = n
        kk = max(0, min(k, max_length - cur - 1))  # draft no further than max_length allows

        # 1. draft up to kk tokens (catching the draft cache up on whatever it has not seen)
        qs = []
        for i in range(kk):
            d_in = buf[:, P + d_cache.get_seq_length() : P + cur + i]  # (1, T)
            d_logits, _ = _compat.forward(assistant_model, d_in.to(assistant_model.device), d_cache, 1, None)
            q = process(cur + i, d_logits.float().to(buf.device), cur + i)[0, 0].softmax(-1)  # (V,)
            tok = torch.multinomial(q, 1) if do_sample else q.argmax(-1, keepdim=True)  # (1,)
            qs.append(q)
            buf[0, P + cur + i] = tok[0]
            if confidence and float(q[tok[0]]) < confidence:  # the draft is unsure: verify what we have
                kk = i + 1
                break
        draft_ids = buf[0, P + cur : P + cur + kk].clone()  # (kk,)

        # 2. one target forward over [unseen tokens, d_1..d_kk]: logits (kk+1 rows) and the head's hidden states
        t_in = buf[:, P + t_cache.get_seq_length() : P + cur + kk]  # (1, T)
        logits, hidden = _compat.forward(model, t_in, t_cache, kk + 1, layer if kk > 0 else None)
        raw_logits = logits.float()  # (1, kk+1, V)
        logits = process(cur + kk, raw_logits.clone(), cur)  # (1, kk+1, V)
        j_scores = None
        if kk > 0:  # the judge scores d_i from the hidden state at d_i itself and the logits that predict it
            h = hidden[0, 1:] if reads_hidden else None  # (kk, H)
            j_scores = judge_scores(judge, h, logits[0, :kk], draft_ids, raw_logits[0, :kk]).to(logits.device)  # (kk,)

        # 3. the accept rule
        v = verify(
            draft_ids,
            logits[0],
            j_scores,
            threshold,
            draft_probs=torch.stack(qs) if (do_sample and kk) else None,
            do_sample=do_sample,
            no_judge_ids=eos,
            judge_min_ratio=min_ratio,
        )
        new = torch.cat([draft_ids[: v.n_accepted], draft_ids.new_tensor([v.next_token])])  # (n+1,)
        new = new[: max_length - cur]
        if eos is not None:
            hit = torch.isin(new, eos.to(new.device)).nonzero()
            if hit.numel():
                new = new[: int(hit[0]) + 1]
        buf[0, P + cur : P + cur + len(new)] = new
        if inner_stops:  # a criterion (a stop string, say) that holds inside the step ends the answer there
            held = (j for j in range(1, len(new)) if bool(inner_stops(buf[:, : P + cur + j], None).all()))
            new = new[: next(held, len(new))]
        n = cur + len(new)

        # 4. roll both caches back to what the sequence now holds (the last token is not fed yet)
        _compat.crop(t_cache, n - 1)
        _compat.crop(d_cache, min(d_cache.get_seq_length(), cur + v.n_accepted))

        n_target, n_judge_only = v.kept_split(len(new))  # truncation only ever cuts from the end
        stats.add(kk, n_target, n_judge_only, len(new))
        if want_scores:
            scores += tuple(logits[:, i] for i in range(len(new)))
        if want_logits:
            raw += tuple(raw_logits[:, i] for i in range(len(new)))
        if streamer is not None:
            streamer.put(new.cpu())
        if schedule != "constant":
            k = k + 2 if v.n_accepted == kk else max(1, k - 1)
        if n >= max_length or bool(stopping_criteria(buf[:, : P + n], scores or None).all()):
            break

    if streamer is not None:
        streamer.end()
    if schedule == "heuristic" and num_assistant_tokens is None:  # as stock: the draft keeps the length it learned
        assistant_model.generation_config.num_assistant_tokens = k
    ids = buf[:, : P + n].clone()
    if generation_config.return_dict_in_generate:
        return JudgeGenerateOutput(
            sequences=ids,
            scores=scores if want_scores else None,
            logits=raw if want_logits else None,
            acceptance=stats,
            **{_compat.OUTPUT_CACHE_FIELD: t_cache},
        )
    return ids


class JudgeAssistedGenerator:
    """Judge decoding as ``generate()``'s decoding loop.

    ``model.generate(ids, custom_generate=JudgeAssistedGenerator(draft, judge))`` works on any
    decoder-only model, patched or not. transformers hands a ``custom_generate`` callable neither
    ``assistant_model`` nor ``streamer``, so both are bound here, with the judge's settings:
    ``judge_threshold`` and ``judge_min_ratio`` (default: the head's own) and the draft length
    ``num_assistant_tokens`` (default: the draft's generation config, as stock assisted generation reads it).
    """

    def __init__(
        self,
        assistant_model,
        judge,
        judge_threshold: float | None = None,
        streamer=None,
        *,
        judge_min_ratio: float | None = None,
        num_assistant_tokens: int | None = None,
        num_assistant_tokens_schedule: str | None = None,
        assistant_confidence_threshold: float | None = None,
    ):
        if assistant_model is None:
            raise InputError("judge decoding needs a draft model: pass assistant_model=...")
        check_judge(judge)
        if judge_threshold is not None:
            judge_threshold = check_threshold(judge_threshold)
        if judge_min_ratio is not None:
            judge_min_ratio = check_threshold(judge_min_ratio, "judge_min_ratio")
        draft_length(assistant_model, num_assistant_tokens, num_assistant_tokens_schedule)  # fail early on bad values
        draft_confidence(assistant_model, assistant_confidence_threshold)
        self.assistant_model, self.judge, self.streamer = assistant_model, judge, streamer
        self.settings = {
            "judge_threshold": judge_threshold,
            "judge_min_ratio": judge_min_ratio,
            "num_assistant_tokens": num_assistant_tokens,
            "num_assistant_tokens_schedule": num_assistant_tokens_schedule,
            "assistant_confidence_threshold": assistant_confidence_threshold,
        }

    def __call__(self, model, input_ids, logits_processor, stopping_criteria, generation_config, **model_kwargs):
        return judge_decode(
            model,
            input_ids,
            logits_processor,
            stopping_criteria,
            generation_config,
            assistant_model=self.assistant_model,
            judge=self.judge,
            streamer=self.streamer,
            **self.settings,
            **model_kwargs,
        )


def generate(
    model,
    *args,
    judge=None,
    judge_threshold: float | None = None,
    judge_min_ratio: float | None = None,
    num_assistant_tokens: int | None = None,
    num_assistant_tokens_schedule: str | None = None,
    assistant_confidence_threshold: float | None = None,
    **kwargs,
):
    """``model.generate(*args, **kwargs)`` with judge decoding when ``judge`` (a loaded head) is given.

    Without ``judge`` this is exactly stock ``generate`` (stock assisted generation when an
    ``assistant_model`` is passed).
    """
    if judge is None:
        for name, value in (("judge_threshold", judge_threshold), ("judge_min_ratio", judge_min_ratio)):
            if value is not None:
                raise InputError(f"{name} was given without judge=")
        drafting = draft_settings(
            kwargs.get("assistant_model"),
            num_assistant_tokens,
            num_assistant_tokens_schedule,
            assistant_confidence_threshold,
        )
        with drafting, _compat.quiet_stock_assisted_generation():  # its notice about its own internal call
            return _compat.GenerationMixin.generate(model, *args, **kwargs)
    if isinstance(judge, str | bytes):
        raise InputError(f"judge={judge!r} is a name: load it first (hf_judge.load_judge) or use hf_judge.generate")
    if kwargs.get("custom_generate") is not None:
        raise InputError("judge= cannot be combined with custom_generate=")
    if kwargs.get("num_beams", 1) != 1:  # checked here too: generate() expands the batch to the beams before the loop
        raise InputError(f"num_beams={kwargs['num_beams']} is not supported with judge decoding")
    decode = JudgeAssistedGenerator(
        kwargs.get("assistant_model"),
        judge,
        judge_threshold,
        kwargs.get("streamer"),
        judge_min_ratio=judge_min_ratio,
        num_assistant_tokens=num_assistant_tokens,
        num_assistant_tokens_schedule=num_assistant_tokens_schedule,
        assistant_confidence_threshold=assistant_confidence_threshold,
    )
    return _compat.generate_with(model, decode, *args, **kwargs)


_core_generate = generate


def generate(model, *args, judge=None, **kwargs):
    """What transformers calls for ``custom_generate=<this repo>``: every ``generate`` argument, plus
    ``judge`` (a loaded head, a local folder or a Hub repo id of a judge head, or a training-free rule such as
    ``"top-k:2"``), ``judge_threshold``, ``judge_min_ratio``,
    ``num_assistant_tokens`` and ``num_assistant_tokens_schedule``."""
    if judge is None:
        raise InputError("judge decoding needs a judge head: pass judge=<head repo id, folder or module>")
    if isinstance(judge, str) and judge.partition(":")[0] in SCORERS:
        judge = scorer_from_spec(judge)  # a training-free rule: "top-k:2", "ratio:0.3", "entropy:0.4"
    if isinstance(judge, str | os.PathLike):
        if str(judge) == "default":
            raise InputError("judge='default' needs hf_judge installed; pass the head's repo id or folder")
        from transformers import AutoModel

        judge = AutoModel.from_pretrained(str(judge), trust_remote_code=True).to(model.device).eval()
    return _core_generate(model, *args, judge=judge, **kwargs)
