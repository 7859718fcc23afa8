"""Acceptance scorers: what fills the judge slot of the accept rule.

Anything that scores draft tokens in [0, 1] can be the ``judge=`` of judge decoding: the accept rule
(:func:`hf_judge.verify`) keeps a draft token that standard verification rejects when its score is
strictly above the threshold. The trained :class:`~hf_judge.JudgeHead` (the paper's judge) reads the
target's last hidden states; the training-free rules below read the target's (processed) logits at
the draft positions, which the verification forward already has. Each has one knob, its threshold:

- :class:`TopK`: the draft token is among the target's ``k`` most likely tokens (AutoJudge's baseline);
- :class:`ProbabilityRatio`: p_target(d) / max p_target, kept above a ratio;
- :class:`EntropyGated`: kept when the target itself is unsure (normalised entropy above a level) and
  the token is not implausible to it (ratio above ``min_ratio``): rewordings where many continuations
  are fine, not where one answer is right.

They share the head's small interface: ``score(hidden, target_logits, draft_ids) -> (K,)`` and a default
``threshold``.
"""

from __future__ import annotations

import math

import torch

from .errors import InputError
from .verify import check_threshold, prob_ratio

__all__ = ["SCORERS", "EntropyGated", "ProbabilityRatio", "Scorer", "TopK", "judge_scores", "scorer_from_spec"]


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
