"""PNG plots: calibration curve, speed/quality trade-off, acceptance histograms."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plot_calibration", "plot_histograms", "plot_tradeoff"]


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_calibration(curve: dict, threshold: float, path) -> Path:
    """Share of errors rejected and of acceptable tokens accepted, against the threshold."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(curve["thresholds"], curve["error_recall"], label="errors rejected")
    ax.plot(curve["thresholds"], curve["good_acceptance"], label="acceptable tokens accepted")
    ax.axvline(threshold, color="grey", ls="--", label=f"threshold {threshold:.3f}")
    ax.set(xlabel="judge threshold", ylabel="share", ylim=(-0.02, 1.02), title="Judge calibration")
    ax.legend(loc="center right")
    return _save(fig, path)


def plot_tradeoff(points: list[dict], path, quality_key: str, title: str = "Speed vs quality") -> Path:
    """One point per method/threshold: x = speedup over the target alone, y = quality."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for p in points:
        ax.scatter(p["speedup"], p[quality_key], s=40)
        ax.annotate(p["label"], (p["speedup"], p[quality_key]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    judge = sorted((p for p in points if p["label"].startswith("judge")), key=lambda p: p["speedup"])
    if len(judge) > 1:
        ax.plot([p["speedup"] for p in judge], [p[quality_key] for p in judge], color="grey", lw=0.8)
    ax.set(xlabel="speedup over target alone (tokens/s ratio)", ylabel=quality_key, title=title)
    return _save(fig, path)


def plot_histograms(hists: dict[str, dict[int, int]], path, k: int | None = None) -> Path:
    """Accepted draft tokens per step, one bar group per method (shares of steps)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    top = k if k is not None else max((max(h, default=0) for h in hists.values()), default=0)
    xs = list(range(top + 1))
    width = 0.8 / max(len(hists), 1)
    for j, (name, h) in enumerate(hists.items()):
        total = sum(h.values()) or 1
        ax.bar([x + j * width for x in xs], [h.get(x, 0) / total for x in xs], width=width, label=name)
    ax.set(xlabel="draft tokens accepted per step", ylabel="share of steps", title="Acceptance histogram")
    ax.set_xticks([x + 0.4 - width / 2 for x in xs], [str(x) for x in xs])
    ax.legend()
    return _save(fig, path)
