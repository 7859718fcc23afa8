"""PNG plots: calibration curve, quality/speed frontier, acceptance histograms."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plot_calibration", "plot_frontier", "plot_histograms", "plot_learning_curve"]


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


def plot_frontier(rows: dict[str, dict], quality_key: str, path, title: str = "Quality vs speed") -> Path:
    """x = tokens per target forward, y = quality: one curve per method (its knob values, at each draft
    length), the target alone and standard SD as single points. Up is better; NLL's axis is flipped."""
    from .report import QUALITY, family

    curves: dict[str, list[tuple[float, float, str]]] = {}
    for label, r in rows.items():
        base, _, floor = label.split("/k")[0].partition("/r")  # judge@T/rR: a judge with a plausibility floor
        knob = base.partition("@")[2] or base.partition(":")[2]
        name = family(label) + (f" r>{floor}" if floor else "")
        name += f" k={r['k']}" if "k" in r and family(label) != "sd" else ""
        curves.setdefault(name, []).append((r["tokens_per_step"], r[quality_key], knob))
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for name, pts in sorted(curves.items()):
        pts.sort()
        style = {"marker": "*", "ms": 12, "ls": "none"} if name in ("target", "sd") else {"marker": "o", "lw": 1.2}
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=name, **style)
        for x, y, knob in pts:
            if knob:
                ax.annotate(knob, (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7)
    if not dict(QUALITY)[quality_key]:
        ax.invert_yaxis()
    ax.set(
        xlabel="tokens per target forward",
        ylabel=quality_key[8:] + ("" if dict(QUALITY)[quality_key] else " (lower is better)"),
        title=title,
    )
    ax.legend(fontsize=7, loc="best")
    return _save(fig, path)


def plot_learning_curve(points: list[dict], path) -> Path:
    """Held-out test ROC-AUC against the number of training disagreements (log scale), with the free
    rules' level on the same test disagreements where the points carry it."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    # data without disagreements (hand-written pairs): by training positions, which a log axis can show
    size = "train_disagreements" if all(p["train_disagreements"] > 0 for p in points) else "train_positions"
    xs = [p[size] for p in points]
    ax.plot(xs, [p["test_disagreements_roc_auc"] for p in points], "o-", label="test: disagreements only")
    ax.plot(xs, [p["test_roc_auc"] for p in points], "s--", label="test: all positions")
    for i, (rule, auc) in enumerate(sorted(((points[-1].get("free_rules") if points else None) or {}).items())):
        if "test_disagreements" in auc:  # a free rule learns nothing: one level, same test disagreements
            ax.axhline(auc["test_disagreements"], color=f"C{i + 2}", ls=":", label=f"free rule {rule}: disagreements")
    ax.set_xscale("log")
    what = "disagreements" if size == "train_disagreements" else "positions"
    ax.set(xlabel=f"training {what} (log scale)", ylabel="ROC-AUC", title="Judge learning curve")
    ax.legend()
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
