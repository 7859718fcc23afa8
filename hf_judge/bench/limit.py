"""The limit meter: what speculative decoding can reach on this machine, for this pair and dtype.

Per step, judge decoding (like any speculative decoding) runs the draft k times and the target once
over k+1 tokens. In units of one target token (the cost of the target alone per token)::

    step cost = (t_target(k+1) + k * t_draft(1)) / t_target(1) = 1 + k (c + beta_k)

with c = t_draft(1) / t_target(1) (the draft's relative cost) and beta_k the marginal cost of verifying
one more token. A step yields E tokens (E <= k+1), so the speedup over the target alone is
E / (1 + k (c + beta_k)): no acceptance rule beats the cap (k+1) / (1 + k (c + beta_k)), and
1 / (c + beta) as k grows (Leviathan et al. 2023, with compute-bound verification).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

import torch

from ..core import _compat
from ..core.errors import InputError
from ..core.verify import check_threshold

__all__ = ["Costs", "expected_tokens", "measure_costs"]


@dataclass
class Costs:
    """Measured costs, in milliseconds, of cached forwards after a ``prompt_len``-token context."""

    target_ms: dict[int, float]  # tokens in one target forward -> ms
    draft_ms: float  # one draft token
    prompt_len: int
    threads: int
    dtype: str

    @property
    def c(self) -> float:
        """The draft's cost per token relative to the target's."""
        return self.draft_ms / self.target_ms[1]

    def beta(self, k: int) -> float:
        """Marginal cost of verifying one more token, averaged over k extra tokens."""
        return (self.target_ms[k + 1] - self.target_ms[1]) / (k * self.target_ms[1])

    def step_cost(self, k: int) -> float:
        """One step of k drafts and a (k+1)-token verification, in target-token units: 1 + k (c + beta_k)."""
        return (self.target_ms[k + 1] + k * self.draft_ms) / self.target_ms[1]

    def cap(self, k: int) -> float:
        """The speedup over the target alone if every draft token were kept (E = k+1)."""
        return (k + 1) / self.step_cost(k)

    def predicted(self, k: int, tokens_per_step: float) -> float:
        """The speedup a loop without overhead would reach at ``tokens_per_step`` tokens per target forward."""
        return tokens_per_step / self.step_cost(k)

    @property
    def ks(self) -> list[int]:
        return sorted(n - 1 for n in self.target_ms if n > 1)

    def best_k(self, acceptance: float) -> tuple[int, float]:
        """(k, predicted speedup) maximising E(acceptance, k) / step cost over the measured k."""
        return max(((k, self.predicted(k, expected_tokens(acceptance, k))) for k in self.ks), key=lambda x: x[1])

    @classmethod
    def from_dict(cls, d: dict) -> Costs:
        """The costs :meth:`as_dict` wrote (its derived figures are worked out again)."""
        target_ms = {int(n): v for n, v in d["target_ms"].items()}
        return cls(target_ms, d["draft_ms"], d["prompt_len"], d["threads"], d["dtype"])

    def as_dict(self) -> dict:
        out = asdict(self)
        out["target_ms"] = {str(n): v for n, v in self.target_ms.items()}
        out["c"] = self.c
        out["beta"] = {str(k): self.beta(k) for k in self.ks}
        out["cap"] = {str(k): self.cap(k) for k in self.ks}
        return out

    def table(self, acceptance: float | None = None) -> str:
        lines = [
            f"target 1 token {self.target_ms[1]:.1f} ms, draft 1 token {self.draft_ms:.1f} ms: c = {self.c:.3f} "
            f"({self.dtype}, {self.threads} threads, after {self.prompt_len} prompt tokens)",
            f"{'k':>3} {'verify k+1 ms':>14} {'beta_k':>7} {'step cost':>10} {'cap (all kept)':>15}"
            + (f" {'predicted @' + format(acceptance, '.2f'):>14}" if acceptance is not None else ""),
        ]
        for k in self.ks:
            line = f"{k:>3} {self.target_ms[k + 1]:>14.1f} {self.beta(k):>7.3f} {self.step_cost(k):>10.2f} "
            line += f"{self.cap(k):>14.2f}x"
            if acceptance is not None:
                line += f" {self.predicted(k, expected_tokens(acceptance, k)):>13.2f}x"
            lines.append(line)
        lines.append(f"limit as k grows: 1 / (c + beta_{self.ks[-1]}) = {1 / (self.c + self.beta(self.ks[-1])):.2f}x")
        if acceptance is not None:
            k, s = self.best_k(acceptance)
            lines.append(f"best k for a per-token acceptance of {acceptance:.2f}: k = {k} ({s:.2f}x)")
        return "\n".join(lines)


def expected_tokens(acceptance: float, k: int) -> float:
    """Tokens per step when each draft token is kept with probability ``acceptance`` (i.i.d.)."""
    acceptance = check_threshold(acceptance, "acceptance")
    if acceptance >= 1.0:
        return k + 1.0
    return (1 - acceptance ** (k + 1)) / (1 - acceptance)


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


@torch.no_grad()
def measure_costs(
    target, draft, *, prompt_len: int = 200, ks: tuple[int, ...] = (1, 2, 4, 6, 8, 12, 16), repeats: int = 5
) -> Costs:
    """Time cached forwards of the target over 1 and k+1 tokens and of the draft over one token."""
    if prompt_len < 1 or repeats < 1 or not ks or min(ks) < 1:
        raise InputError(f"prompt_len={prompt_len} and repeats={repeats} must be at least 1, and each of ks={ks}")
    vocab = min(target.config.get_text_config(decoder=True).vocab_size, 1000)
    g = torch.Generator().manual_seed(0)
    ctx = torch.randint(10, vocab, (1, prompt_len + max(ks) + 1), generator=g).to(target.device)

    def cached_forward(model, n: int):
        cache = _compat.new_cache(model)
        _compat.forward(model, ctx[:, :prompt_len], cache, 1, None)

        def step():
            _compat.forward(model, ctx[:, prompt_len : prompt_len + n], cache, 1, None)
            _compat.crop(cache, prompt_len)

        return step

    target_ms = {n: _median_ms(cached_forward(target, n), repeats) for n in sorted({1, *(k + 1 for k in ks)})}
    draft_ms = _median_ms(cached_forward(draft, 1), repeats)
    dtype = str(next(target.parameters()).dtype).replace("torch.", "")
    return Costs(target_ms, draft_ms, prompt_len, torch.get_num_threads(), dtype)
