"""Readable tables and plots of decoding runs."""

from __future__ import annotations

from ..core.decoding import AcceptanceStats
from .runner import RunResult

__all__ = ["add_limits", "add_speedups", "aggregate", "format_table"]


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


def add_speedups(rows: dict[str, dict], baselines: tuple[str, str] = ("target", "sd")) -> dict[str, dict]:
    """Add ``speedup_vs_target`` and ``speedup_vs_sd`` (tokens/s ratios within this run) to every row; nan
    where a baseline is missing."""
    base_t = rows.get(baselines[0], {}).get("tokens_per_s") or float("nan")
    base_s = rows.get(baselines[1], {}).get("tokens_per_s") or float("nan")
    for r in rows.values():
        r["speedup_vs_target"] = r["tokens_per_s"] / base_t
        r["speedup_vs_sd"] = r["tokens_per_s"] / base_s
    return rows


def add_limits(rows: dict[str, dict], costs, k: int) -> dict[str, dict]:
    """Add the limit meter's figures to every speculative row (after :func:`add_speedups`).

    ``cap``: the speedup over the target alone if every draft token were kept at this k;
    ``predicted``: what a loop without overhead reaches at the row's tokens per target forward;
    ``of_cap`` and ``of_predicted``: the achieved speedup as a share of each.
    """
    for name, r in rows.items():
        if name == "target":
            continue
        r["cap"] = costs.cap(k)
        r["predicted"] = costs.predicted(k, r["tokens_per_step"])
        r["of_cap"] = r["speedup_vs_target"] / r["cap"]
        r["of_predicted"] = r["speedup_vs_target"] / r["predicted"]
    return rows


def format_table(rows: dict[str, dict]) -> str:
    """A fixed-width table of aggregated rows, with speedups over the two baselines when present."""
    rows = add_speedups({m: dict(r) for m, r in rows.items()})
    head = f"{'method':<16}{'tokens':>8}{'tok/s':>9}{'fwd':>6}{'tok/step':>10}{'acc/step':>10}{'judge/step':>11}"
    head += f"{'x target':>10}{'x SD':>8}"
    limits = any("of_cap" in r for r in rows.values())
    if limits:
        head += f"{'of cap':>8}"
    extra = [k for k in next(iter(rows.values()), {}) if k.startswith("quality:")]
    head += "".join(f"{k[8:]:>14}" for k in extra)
    lines = [head, "-" * len(head)]
    for name, r in rows.items():
        line = (
            f"{name:<16}{r['new_tokens']:>8}{r['tokens_per_s']:>9.2f}{r['target_forwards']:>6}"
            f"{r['tokens_per_step']:>10.2f}{r['accepted_per_step']:>10.2f}{r['judge_only_per_step']:>11.2f}"
            f"{r['speedup_vs_target']:>10.2f}{r['speedup_vs_sd']:>8.2f}"
        )
        if limits:
            line += f"{r['of_cap']:>8.0%}" if "of_cap" in r else f"{'':>8}"
        line += "".join(f"{r.get(k, float('nan')):>14.3f}" for k in extra)
        lines.append(line)
    return "\n".join(lines)
