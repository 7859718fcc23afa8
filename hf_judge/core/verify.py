"""The accept rule of judge decoding, as a pure function over tensors.

No model calls and no cache writes happen here: the caller runs the target once over
``[last_token, d_1 .. d_k]`` and hands over what came out.  Shapes (batch size 1 is the
only one assisted generation supports, so the batch dimension is dropped):

- ``draft_ids``     (K,)      the draft's candidate tokens d_1 .. d_k
- ``target_logits`` (K+1, V)  target logits; row i predicts the token after d_i (row 0 predicts d_1)
- ``judge_scores``  (K,)      the judge's probability that d_i is correct, or None (no judge)
- ``draft_probs``   (K, V)    the draft's sampling distribution q_i, only when sampling
- ``no_judge_ids``  (E,)      token ids the judge may not accept (eos), or None

A draft token is kept if standard verification keeps it OR the judge's score is above ``judge_threshold``,
except that the judge never keeps a token in ``no_judge_ids`` (the stop tokens: only the target decides when
the answer ends), nor one the logits processors ruled out (a -inf target logit: outside the top-k / top-p
of sampling, a banned or suppressed token), nor one the target finds implausible (its probability ratio
p(d) / max p at most ``judge_min_ratio``; 0, the default, bars no other token); the first token kept by neither is
replaced by the target's own choice (greedy) or a sample from the residual max(0, p - q) (sampling). If all
K are kept, the target's row K gives one bonus token.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import InputError

__all__ = ["Verdict", "check_threshold", "prob_ratio", "verify"]


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
