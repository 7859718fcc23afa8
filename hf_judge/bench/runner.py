"""Run one decoding method on one prompt and measure it (shared by the demo and the benchmark)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import torch

from ..core.decoding import AcceptanceStats, generate
from ..core.errors import InputError

__all__ = ["METHODS", "RunResult", "run_method"]

METHODS = ("target", "sd", "judge")  # target alone, stock speculative decoding, judge decoding


@dataclass
class RunResult:
    """One method on one prompt: the tokens, the wall time, and the acceptance figures of the call."""

    method: str
    new_ids: list[int]
    seconds: float
    acceptance: AcceptanceStats  # steps = target forwards

    @property
    def new_tokens(self) -> int:
        return len(self.new_ids)

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {"method": self.method, "new_ids": self.new_ids, "seconds": self.seconds, **self.acceptance.as_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> RunResult:
        return cls(d["method"], d["new_ids"], d["seconds"], AcceptanceStats.from_dict(d))


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
    num_assistant_tokens: int = 5,
    assistant_confidence_threshold: float = 0.0,
    judge_threshold: float | None = None,
    judge_min_ratio: float | None = None,
    max_new_tokens: int = 64,
    streamer=None,
    **gen_kwargs,
) -> RunResult:
    """Generate with ``method`` (one of :data:`METHODS`) and time it.

    Both speculative methods draft ``num_assistant_tokens`` per step and stop drafting early after a
    token the draft gives less than ``assistant_confidence_threshold`` (0: never).
    """
    if method not in METHODS:
        raise InputError(f"{method=} is not one of {METHODS}")
    if method != "target" and draft is None:
        raise InputError(f"{method=} needs a draft model")
    if method == "judge" and judge is None:
        raise InputError("method='judge' needs a judge head")
    kwargs = dict(max_new_tokens=max_new_tokens, streamer=streamer, **gen_kwargs)
    if method != "target":  # both speculative methods: the same draft settings, k tokens a step (constant)
        kwargs.update(
            assistant_model=draft,
            num_assistant_tokens=num_assistant_tokens,
            assistant_confidence_threshold=assistant_confidence_threshold,
        )
    if method == "judge":
        kwargs.update(
            judge=judge, judge_threshold=judge_threshold, judge_min_ratio=judge_min_ratio, return_dict_in_generate=True
        )
    with _count_forwards(target) as calls:
        t0 = time.perf_counter()
        out = generate(target, input_ids, **kwargs)
        seconds = time.perf_counter() - t0
    seq = out.sequences if method == "judge" else out
    new_ids = seq[0, input_ids.shape[1] :].tolist()
    if method == "judge":
        stats = out.acceptance
    else:  # stock generate: every target forward yields its accepted drafts (none for the target alone) + 1 token
        n, steps = len(new_ids), calls[0]
        stats = AcceptanceStats(steps=steps, new_tokens=n)
        if method == "sd":
            stats.accepted_target = n - steps
            if not assistant_confidence_threshold:  # else stock drafting may stop early: proposed is unknown
                stats.proposed = num_assistant_tokens * steps
    if stats.steps != calls[0]:
        raise RuntimeError(f"{method}: {stats.steps} verification steps but {calls[0]} target forwards were counted")
    return RunResult(method, new_ids, seconds, stats)
