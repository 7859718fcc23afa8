"""Run one decoding method on one prompt and measure it (shared by the demo and the benchmark)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import torch

from ..core.decoding import generate
from ..core.errors import InputError

__all__ = ["METHODS", "RunResult", "draft_config", "run_method"]

METHODS = ("target", "sd", "judge")  # target alone, stock speculative decoding, judge decoding


@dataclass
class RunResult:
    method: str
    new_ids: list[int]
    seconds: float
    target_forwards: int
    accepted: int = 0  # draft tokens accepted (standard + judge)
    judge_only: int = 0
    proposed: int = 0
    histogram: dict[int, int] = field(default_factory=dict)

    @property
    def new_tokens(self) -> int:
        return len(self.new_ids)

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0

    @property
    def tokens_per_step(self) -> float:
        """Tokens produced per target forward (1.0 for the target alone)."""
        return self.new_tokens / self.target_forwards if self.target_forwards else 0.0

    @property
    def accepted_per_step(self) -> float:
        return self.accepted / self.target_forwards if self.target_forwards else 0.0


@contextlib.contextmanager
def draft_config(draft, k: int):
    """Draft exactly ``k`` tokens per step (constant schedule, no early exit); restored afterwards."""
    gc = draft.generation_config
    saved = (gc.num_assistant_tokens, gc.num_assistant_tokens_schedule, gc.assistant_confidence_threshold)
    gc.num_assistant_tokens, gc.num_assistant_tokens_schedule, gc.assistant_confidence_threshold = k, "constant", 0.0
    try:
        yield
    finally:
        gc.num_assistant_tokens, gc.num_assistant_tokens_schedule, gc.assistant_confidence_threshold = saved


@contextlib.contextmanager
def _count_forwards(model):
    calls = [0]
    handle = model.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    try:
        yield calls
    finally:
        handle.remove()


def run_method(
    method: str,
    target,
    input_ids: torch.Tensor,
    *,
    draft=None,
    judge=None,
    k: int = 5,
    threshold: float | None = None,
    max_new_tokens: int = 64,
    streamer=None,
    **gen_kwargs,
) -> RunResult:
    """Generate with ``method`` (one of :data:`METHODS`) and time it."""
    if method not in METHODS:
        raise InputError(f"{method=} is not one of {METHODS}")
    if method != "target" and draft is None:
        raise InputError(f"{method=} needs a draft model")
    if method == "judge" and judge is None:
        raise InputError("method='judge' needs a judge head")
    kwargs = dict(max_new_tokens=max_new_tokens, streamer=streamer, **gen_kwargs)
    if method != "target":
        kwargs["assistant_model"] = draft
    if method == "judge":
        kwargs.update(judge=judge, judge_threshold=threshold, return_dict_in_generate=True)
    with draft_config(draft, k) if draft is not None else contextlib.nullcontext(), _count_forwards(target) as calls:
        t0 = time.perf_counter()
        out = generate(target, input_ids, **kwargs)
        seconds = time.perf_counter() - t0
    seq = out.sequences if method == "judge" else out
    new_ids = seq[0, input_ids.shape[1] :].tolist()
    res = RunResult(method, new_ids, seconds, calls[0])
    if method == "judge":
        s = out.acceptance
        res.accepted, res.judge_only, res.proposed, res.histogram = (
            s.accepted,
            s.accepted_judge_only,
            s.proposed,
            dict(s.histogram),
        )
    elif method == "sd":  # stock assisted generation: every forward yields its accepted drafts + 1 target token
        res.accepted = res.new_tokens - res.target_forwards
        res.proposed = k * res.target_forwards
    return res
