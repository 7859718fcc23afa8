"""Judge decoding inside ``generate()``.

``judge_decode`` is the decoding loop handed to transformers' ``generate(custom_generate=...)``:
generate() prepares inputs, the cache, logits processors and stopping criteria as usual, then
this loop drafts k tokens, verifies them with one target forward that also yields the last
hidden states the judge reads, and keeps what :func:`hf_judge.verify.verify` accepts.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field

import torch
from transformers import EosTokenCriteria, MaxLengthCriteria, StoppingCriteriaList

from . import _compat
from .errors import InputError
from .scorers import Scorer, judge_scores
from .verify import check_threshold, verify

__all__ = [
    "AcceptanceStats",
    "JudgeAssistedGenerator",
    "JudgeGenerateOutput",
    "check_hidden_layer",
    "check_judge",
    "check_judge_fits",
    "draft_length",
    "draft_settings",
    "generate",
    "judge_decode",
]

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
