"""Readable tables and plots of decoding runs."""

from __future__ import annotations

import math

import torch

from ..core.decoding import AcceptanceStats
from .runner import RunResult

__all__ = [
    "add_limits",
    "add_speedups",
    "aggregate",
    "at_matched_quality",
    "dominance",
    "engine_prefix",
    "family",
    "format_table",
    "interval",
    "lossy_peers",
    "matched_bar",
    "matching_point",
    "mean",
    "sd_row",
    "quality_keys",
    "quality_text",
]


def aggregate(runs: list[RunResult]) -> dict:
    """Sum a method's runs over prompts into one row of speed figures."""
    stats = sum((r.acceptance for r in runs), AcceptanceStats())
    secs = sum(r.seconds for r in runs)
    return {
        "new_tokens": stats.new_tokens,
        "seconds": secs,
        "tokens_per_s": stats.new_tokens / secs if secs else 0.0,
        "target_forwards": stats.steps,
        "tokens_per_step": stats.tokens_per_step,
        "accepted_per_step": stats.mean_accepted,
        "judge_only_per_step": stats.accepted_judge_only / stats.steps if stats.steps else 0.0,
        "histogram": {int(k): v for k, v in sorted(stats.histogram.items())},
    }


def mean(values: list[float]) -> float:
    """The mean of per-item quality figures (nan for none; an item's nan, as an empty answer's NLL, stays)."""
    return sum(values) / len(values) if values else math.nan


def interval(values: list[float], level: float = 0.95, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """The ``level`` interval of the mean of per-item figures (``values``, one per prompt), by the percentile
    bootstrap over prompts: how far a figure could move on another draw of as many prompts. Seeded, so the
    same figures give the same interval; nan for fewer than two items or a nan item."""
    x = torch.tensor(values, dtype=torch.float64)  # (N,)
    if len(values) < 2 or x.isnan().any():
        return math.nan, math.nan
    gen = torch.Generator().manual_seed(seed)
    means = x[torch.randint(len(values), (resamples, len(values)), generator=gen)].mean(1)  # (R,)
    lo, hi = torch.quantile(means, torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64))
    return float(lo), float(hi)


def add_speedups(rows: dict[str, dict]) -> dict[str, dict]:
    """Add ``speedup_vs_target`` and ``speedup_vs_sd`` (tokens/s ratios within this run) to every row; nan
    where a baseline is missing. A row's SD is standard SD at the row's own draft length (``sd`` or ``sd/kN``),
    in the row's own engine (``vllm:`` rows against ``vllm:target`` and ``vllm:sd``)."""
    for name, r in rows.items():
        e = engine_prefix(name)  # each engine's rows against that engine's own baselines
        base_t = rows.get(f"{e}target", {}).get("tokens_per_s") or float("nan")
        sd = sd_row(rows, name) or {}
        r["speedup_vs_target"] = r["tokens_per_s"] / base_t
        r["speedup_vs_sd"] = r["tokens_per_s"] / (sd.get("tokens_per_s") or float("nan"))
    return rows


def sd_row(rows: dict[str, dict], name: str) -> dict | None:
    """Standard SD's row for row ``name``: at the row's own draft length (``sd`` or ``sd/kN``), in its engine."""
    e = engine_prefix(name)
    return rows.get(f"{e}sd") or rows.get(f"{e}sd/k{rows[name].get('k')}")


def add_limits(
    rows: dict[str, dict], costs, k: int | None = None, timed_with: set[str] | None = None
) -> dict[str, dict]:
    """Add the limit meter's figures to every speculative row (after :func:`add_speedups`), at ``k`` or at
    each row's own ``k``.

    ``cap``: the speedup over the target alone if every draft token were kept at this k;
    ``predicted``: what a loop without overhead reaches at the row's tokens per target forward;
    ``of_cap`` and ``of_predicted``: the achieved speedup as a share of each, only for the rows in
    ``timed_with`` (None: all), the methods timed in the meter's own run: a speedup timed on another run
    (another machine, another load) is no share of this run's cap. Without the target among them, none.
    """
    for name, r in rows.items():
        if name == "target" or engine_prefix(name):  # the meter measured the transformers path
            continue
        at = r.get("k", k)
        r["cap"] = costs.cap(at)
        r["predicted"] = costs.predicted(at, r["tokens_per_step"])
        if timed_with is None or {name, "target"} <= timed_with:
            r["of_cap"] = r["speedup_vs_target"] / r["cap"]
            r["of_predicted"] = r["speedup_vs_target"] / r["predicted"]
    return rows


# quality figures in order of preference, and whether higher is better
QUALITY = (
    ("quality:exact_match", True),
    ("quality:pass@1", True),
    ("quality:win_rate", True),
    ("quality:rating", True),
    ("quality:nll", False),
)


def quality_keys(rows: dict[str, dict]) -> list[str]:
    """The quality figures a task's rows carry, the preferred first: checked quality, the grader's, NLL."""
    first = next(iter(rows.values()), {})
    return [q for q, _ in QUALITY if q in first]


def quality_text(row: dict, q: str, base: dict | None = None) -> str:
    """A row's quality figure ``q``, and where both keep their per-prompt figures, its difference from
    ``base`` (the target alone) with that difference's 95% interval, paired prompt by prompt:
    ``"6.380 (-0.036 [-0.169, +0.108])"``; the figure alone for the base itself or results from before."""
    text = f"{row[q]:.3f}"
    a, b = row.get("per_item", {}).get(q), (base or {}).get("per_item", {}).get(q)
    if a is not None and b is not None and base is not row:
        diff = [x - y for x, y in zip(a, b, strict=True)]  # (N,) prompt by prompt
        lo, hi = interval(diff)
        text += f" ({mean(diff):+.3f} [{lo:+.3f}, {hi:+.3f}])"
    return text


def engine_prefix(label: str) -> str:
    """``"vllm:"`` for a row of the vLLM engine (``vllm:judge@0.5``), ``""`` for the transformers path."""
    return "vllm:" if label.startswith("vllm:") else ""


def family(label: str) -> str:
    """The method of a row label: ``judge@0.5/k8`` -> judge, ``top-k:2`` -> top-k, ``ensemble@0.5`` -> ensemble;
    a vLLM row keeps its engine: ``vllm:judge@0.5`` -> vllm:judge."""
    e = engine_prefix(label)
    return e + label[len(e) :].split("/k")[0].split("@")[0].split(":")[0]


def _at_least(q: str):
    """``(a, b) -> a is at least as good as b`` by quality ``q`` (lower is better for NLL)."""
    higher = dict(QUALITY)[q]
    return (lambda a, b: a >= b) if higher else (lambda a, b: a <= b)


def lossy_peers(rows: dict[str, dict]) -> list[str]:
    """The rows a judge must beat: the training-free scorers and the ensemble, within the transformers path."""
    return [m for m in rows if family(m) not in ("judge", "sd", "target") and not engine_prefix(m)]


def matching_point(rows: dict[str, dict], q: str, peer: str) -> str | None:
    """The fastest judge point with at least ``peer``'s quality ``q`` and at least its tokens per target
    forward, or None."""
    at_least, p = _at_least(q), rows[peer]
    wins = [
        m
        for m, r in rows.items()
        if family(m) == "judge" and at_least(r[q], p[q]) and r["tokens_per_step"] >= p["tokens_per_step"]
    ]
    return max(wins, key=lambda m: rows[m]["tokens_per_step"], default=None)


def dominance(rows: dict[str, dict], q: str) -> dict[str, str]:
    """For every lossy peer (a training-free scorer or the ensemble), the judge point that matches it, with
    at least its quality ``q`` and at least its tokens per target forward, or a plain 'not matched'
    (within the transformers path: the vLLM rows are the same methods in another engine); where not
    matched, the best judge point with at least its tokens per forward, and (rows with per-prompt figures)
    its difference from the peer, paired prompt by prompt, with that difference's 95% interval."""
    higher = dict(QUALITY)[q]
    judges = {m: r for m, r in rows.items() if family(m) == "judge"}
    out = {}
    for peer in lossy_peers(rows):
        p, best = rows[peer], matching_point(rows, q, peer)
        figures = f"{q[8:]} {p[q]:.3f}, {p['tokens_per_step']:.2f} tokens/forward"
        if best is None:
            out[peer] = f"NOT matched by any judge point ({figures})"
            fast = [m for m, r in judges.items() if r["tokens_per_step"] >= p["tokens_per_step"]]
            near = max(fast, key=lambda m: judges[m][q] if higher else -judges[m][q], default=None)
            if near is not None:  # how far the best judge point as fast falls short, paired against the peer
                out[peer] += f"; the best judge point as fast: {near}, {q[8:]} {quality_text(judges[near], q, p)}"
        else:
            b = judges[best]
            out[peer] = f"matched by {best}: {q[8:]} {b[q]:.3f}, {b['tokens_per_step']:.2f} tokens/forward ({figures})"
    return out


def matched_bar(rows: dict[str, dict], q: str, n: int) -> tuple[float, str] | None:
    """Issue 12's matched-quality bar for quality ``q`` over ``n`` items, and its words: at most one of the ``n``
    items fewer right than the target alone (exact match, pass@1), or a win rate + half ties of at least 0.45
    against the target's answers; None for a figure without such a bar (NLL, or no target row)."""
    if q == "quality:win_rate":
        return 0.45, "a win rate of at least 0.450"
    if q in ("quality:exact_match", "quality:pass@1") and "target" in rows:
        return rows["target"][q] - 1 / n - 1e-9, f"at most one of {n} fewer right than the target alone"
    return None


def at_matched_quality(rows: dict[str, dict], q: str, n: int) -> str | None:
    """The fastest judge point at issue 12's matched quality (:func:`matched_bar`), as a multiple of standard
    SD's tokens per target forward (its goals: 1.2x on math and code, 1.5x on open-ended prompts, at k=16); None
    for a figure without a bar. Transformers-path rows only; each judge point against SD at its own draft
    length."""
    if (found := matched_bar(rows, q, n)) is None:
        return None
    bar, bar_text = found
    fits = {m: r for m, r in rows.items() if family(m) == "judge" and r[q] >= bar}
    best = max(fits, key=lambda m: fits[m]["tokens_per_step"], default=None)
    if best is None:
        return f"no judge point with {bar_text}"
    sd, b = sd_row(rows, best), rows[best]
    vs_sd = ""
    if sd:
        vs_sd = f", {b['tokens_per_step'] / sd['tokens_per_step']:.3f}x standard SD's {sd['tokens_per_step']:.2f}"
    return f"{best} ({bar_text}): {q[8:]} {b[q]:.3f}, {b['tokens_per_step']:.2f} tokens/forward{vs_sd}"


def format_table(rows: dict[str, dict]) -> str:
    """A fixed-width table of aggregated rows, with speedups over the two baselines when present."""
    rows = add_speedups({m: dict(r) for m, r in rows.items()})
    head = f"{'method':<20}{'tokens':>8}{'tok/s':>9}{'fwd':>6}{'tok/step':>10}{'acc/step':>10}{'judge/step':>11}"
    head += f"{'x target':>10}{'x SD':>8}"
    limits = any("of_cap" in r for r in rows.values())
    if limits:
        head += f"{'of cap':>8}"
    extra = [k for k in next(iter(rows.values()), {}) if k.startswith("quality:")]
    head += "".join(f"{k[8:]:>14}" for k in extra)
    lines = [head, "-" * len(head)]
    for name, r in rows.items():
        line = (
            f"{name:<20}{r['new_tokens']:>8}{r['tokens_per_s']:>9.2f}{r['target_forwards']:>6}"
            f"{r['tokens_per_step']:>10.2f}{r['accepted_per_step']:>10.2f}{r['judge_only_per_step']:>11.2f}"
            f"{r['speedup_vs_target']:>10.2f}{r['speedup_vs_sd']:>8.2f}"
        )
        if limits:
            line += f"{r['of_cap']:>8.0%}" if "of_cap" in r else f"{'':>8}"
        line += "".join(f"{r.get(k, float('nan')):>14.3f}" for k in extra)
        lines.append(line)
    return "\n".join(lines)
