"""The accept rule of judge decoding for a vLLM batch (greedy), as a pure function over tensors.

vLLM flattens the draft tokens of all requests of a step. A draft token is kept if it is the target's
own greedy choice OR the judge scores it strictly above the threshold, except that the judge never
keeps a stop token (the model's, or its request's own: :func:`request_stops`), nor a token the target's
logits processors banned (a -inf logit: bad words, allowed token ids, min_tokens), nor (with a floor
``min_ratio`` > 0) a token whose target probability ratio p(d) / max p is at most the floor; the first
token kept by neither is replaced by the target's choice; if all of a request's drafts are kept, the
target's bonus token follows. The same rule as ``hf_judge.verify``.
"""

from __future__ import annotations

import torch

__all__ = ["PLACEHOLDER", "judge_greedy", "prob_ratio", "request_stops"]

PLACEHOLDER = -1  # vLLM's PLACEHOLDER_TOKEN_ID: no token at this slot


def prob_ratio(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """p(ids) / max p under ``logits`` (N, V), row by row: (N,) in [0, 1]. The softmax's normaliser cancels,
    so it is exp(logit - max logit), as ``hf_judge.core.verify.prob_ratio`` takes it (this package does not
    import hf_judge)."""
    z = logits.float()  # (N, V)
    return (z.gather(-1, ids[:, None].long())[:, 0] - z.max(-1).values).exp()  # (N,)


def request_stops(draft_ids: torch.Tensor, num_draft: list[int], stops: list) -> torch.Tensor:
    """(N,) bool: whether each draft token is one of its own request's stop tokens (``stops``: one collection of
    token ids per request, in batch order; None or empty: none)."""
    own = torch.zeros(len(draft_ids), dtype=torch.bool)  # (N,)
    ids = draft_ids.tolist()
    start = 0
    for k, stop in zip(num_draft, stops, strict=True):
        if stop:
            own[start : start + k] = torch.tensor([d in stop for d in ids[start : start + k]], dtype=torch.bool)
        start += k
    return own.to(draft_ids.device)


def judge_greedy(
    draft_ids: torch.Tensor,  # (N,) all requests' drafts, flattened
    num_draft: list[int],  # (B,) drafts per request
    target_argmax: torch.Tensor,  # (N,) the target's greedy choice at each draft position
    bonus_ids: torch.Tensor,  # (B,) the target's token after a request's last draft
    scores: torch.Tensor | None,  # (N,) judge probabilities, or None (standard verification)
    threshold: float | torch.Tensor,  # one for the batch, or (N,): each draft token its request's
    stop_ids: torch.Tensor | None = None,  # (E,) tokens the judge may not keep
    ratios: torch.Tensor | None = None,  # (N,) p(d) / max p of each draft token under the target
    min_ratio: float | torch.Tensor = 0.0,  # the floor: one for the batch, or (N,); 0: none
    allowed: torch.Tensor | None = None,  # (N,) bool: False where the judge may not keep d (banned, a request stop)
) -> tuple[torch.Tensor, list[int], list[int]]:
    """``(out, n_target, n_judge_only)``: out (B, max(num_draft)+1) holds each request's new tokens then
    PLACEHOLDER; per request the kept drafts that the target agreed with, and those only the judge kept."""
    by_target = draft_ids == target_argmax  # (N,)
    if isinstance(threshold, torch.Tensor):
        threshold = threshold.to(draft_ids.device)
    by_judge = torch.zeros_like(by_target) if scores is None else scores.float() > threshold  # (N,)
    if stop_ids is not None and scores is not None:
        by_judge &= ~torch.isin(draft_ids, stop_ids.to(draft_ids.device))
    floor = torch.as_tensor(min_ratio, dtype=torch.float32, device=draft_ids.device)  # () or (N,)
    if scores is not None and bool((floor > 0).any()):
        if ratios is None:
            raise ValueError("judge_greedy: a floor min_ratio > 0 needs each draft token's ratios (N,)")
        by_judge &= (floor <= 0) | (ratios.float().to(draft_ids.device) > floor)  # (N,)
    if allowed is not None:
        by_judge &= allowed.to(draft_ids.device)  # (N,) a ban binds the judge too
    kept = (by_target | by_judge).cpu()
    out = torch.full((len(num_draft), max(num_draft, default=0) + 1), PLACEHOLDER, dtype=torch.long)
    n_target, n_judge = [], []
    start = 0
    for i, k in enumerate(num_draft):
        run = kept[start : start + k]
        n = int(run.long().cumprod(0).sum()) if k else 0  # the leading run of kept drafts
        out[i, :n] = draft_ids[start : start + n].cpu()
        out[i, n] = int(bonus_ids[i]) if n == k else int(target_argmax[start + n])
        agreed = int(by_target[start : start + n].sum())
        n_target.append(agreed)
        n_judge.append(n - agreed)
        start += k
    return out.to(draft_ids.device), n_target, n_judge
