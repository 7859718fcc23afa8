"""PNG plots: calibration curve, quality/speed frontier, a head's standing over several prompt sets, acceptance
histograms, learning curve."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..core.errors import InputError  # noqa: E402

__all__ = ["plot_calibration", "plot_frontier", "plot_histograms", "plot_learning_curve", "plot_standing"]


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


def plot_standing(panels: list[dict], path, title: str = "") -> Path:
    """One panel per prompt set: quality against tokens per target forward for every method, with the
    matched-quality and speed bars a judge point must clear together shaded.

    Each panel: ``title``, ``quality`` (the axis name), ``points`` ({row label: (tokens per forward,
    quality)}: ``target``, ``sd``, judge points ``judge@T`` / ``judge@T/rR``, free rules), ``quality_bar``
    (or None: no bar) and ``speed_bar`` (tokens per forward). Judge points are joined by floor, in order
    of tokens per forward, each labelled with its threshold; each free rule is a marker, the same in every panel,
    labelled with its knob."""
    from .report import family

    if not panels:
        raise InputError("plot_standing needs at least one panel")
    for panel in panels:
        if not any(label != "target" for label in panel["points"]):
            raise InputError(f"standing panel {panel['title']!r} has no point besides the target's to draw")
    style = {  # (marker, colour, size) of each single-point method, the same in every panel
        "sd": ("*", "grey", 12),
        "top-k": ("v", "C0", 7),
        "ratio": ("^", "C1", 7),
        "entropy": ("D", "C2", 6),
        "ensemble": ("s", "C5", 6),
    }
    cols = min(len(panels), 3)
    rows = -(-(len(panels) + 1) // cols)  # one cell more, for the legend
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 3.6 * rows), squeeze=False)
    cells = list(axes.flat)
    handles: dict[str, object] = {}
    colours: dict[str, str] = {}  # judge curve -> its colour
    for ax, panel in zip(cells, panels, strict=False):
        pts, q_bar = dict(panel["points"]), panel["quality_bar"]
        target = pts.pop("target", None)  # one token per forward: drawn as its quality level, not a point
        xs = [x for x, _ in pts.values()] + [panel["speed_bar"]]
        x_lo, x_hi = min(xs) * 0.9, max(xs) * 1.06
        ys = [y for _, y in pts.values()] + [v for v in (q_bar, target and target[1]) if v is not None]
        pad = max(max(ys) - min(ys), 0.05) * 0.12
        y_lo, y_hi = min(ys) - pad, max(ys) + pad
        if target is not None:
            handles.setdefault("target alone (its quality)", ax.axhline(target[1], color="black", ls=":", lw=1))
        ax.axvline(panel["speed_bar"], color="green", ls="--", lw=0.8)
        if q_bar is not None:
            ax.axhline(q_bar, color="green", ls="--", lw=0.8)
            shade = ax.fill_between([panel["speed_bar"], x_hi], q_bar, y_hi, color="green", alpha=0.12, lw=0)
            handles.setdefault("both bars cleared", shade)
        judges: dict[str, list[tuple[float, float, str]]] = {}
        for label, (x, y) in pts.items():
            if family(label) == "judge":
                threshold, _, floor = label.partition("@")[2].partition("/r")
                judges.setdefault(f"judge, floor r>{floor}" if floor else "judge", []).append((x, y, threshold))
                continue
            name = family(label)  # a free rule: its family in the legend, its knob beside the point
            marker, colour, size = style.get(name, ("o", "C7", 6))
            (dot,) = ax.plot([x], [y], ls="none", marker=marker, ms=size, color=colour, label=name)
            handles.setdefault(name, dot)
            if knob := label.partition("@")[2] or label.partition(":")[2]:
                ax.annotate(knob, (x, y), textcoords="offset points", xytext=(3, -9), fontsize=7, color=colour)
        for name, curve in sorted(judges.items()):
            curve.sort()
            colour = colours.setdefault(name, ("C3", "C4", "C6", "C8")[len(colours) % 4])  # one per floor, every panel
            (line,) = ax.plot(
                [c[0] for c in curve], [c[1] for c in curve], marker="o", lw=1.4, color=colour, label=name
            )
            handles.setdefault(name, line)
            for x, y, threshold in curve:
                ax.annotate(threshold, (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7)
        ax.set(xlim=(x_lo, x_hi), ylim=(y_lo, y_hi), xlabel="tokens per target forward", ylabel=panel["quality"])
        ax.set_title(panel["title"], fontsize=9)
    for ax in cells[len(panels) :]:
        ax.axis("off")
    cells[-1].legend(list(handles.values()), list(handles), loc="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
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
