"""Which features make the better judge? Held-out ROC-AUC of heads trained on each, one run.

- ``target``: the target's hidden state ``hidden_states[layer]`` at the draft token (the paper's judge),
  with its logit features where ``--logit-features`` (the shipped recipe);
- ``target+draft_logits``: and the draft's own logit features for the token (log ratio, log rank,
  entropy of the draft's distribution that proposed it: how sure the draft was);
- ``target+draft_prev``: and the draft's last hidden state at the position that proposed the token
  (AutoJudge-style; the decoding loop has it for every draft token);
- ``target+draft``: and the draft's last hidden state at the token itself (the loop has it for every
  draft token but the last of a block);
- ``target+draft_prev+draft_logits``: both of the first two additions.

The free rules themselves (top-k, probability ratio, entropy-gated; no training) are scored on the same
positions: a trained head that does not beat them has no reason to exist.

Same data, same split by question (train / validation / test), same trainer and grid (learning rates and
weight decays, picked on validation: ``--select-on``); the test split is reported only, and ``--heldout``
shards (never trained or selected on) are reported on their own, with 95% intervals: all positions, the
evenly spread draft/target disagreements (what decoding meets), those and the hard picks together (more
errors to rank), and the disagreements per domain. Features are cached (``~/.cache/hf_judge/features``), so a
rerun runs no model. For example::

    python benchmarks/judge_features.py --data data/judge/math-steps/seed-100[0-4] ... \\
        --heldout data/judge/math-steps/seed-1005 ... --hidden-layer 18 --logit-features \\
        --lr 0.01 0.001 --weight-decay 0.01 1 10 --select-on disagreements --out benchmarks/results/x.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import torch

from hf_judge.bench.suite import environment
from hf_judge.registry.hardware import resolve_dtype
from hf_judge.registry.packaged import DEFAULT_DRAFT, DEFAULT_TARGET, cache_dir, load_model
from hf_judge.training.data import domain_masks, load_dataset_dir
from hf_judge.training.features import extract
from hf_judge.training.split import disagreements, position_split, question_groups, split_by_question
from hf_judge.training.trainer import (
    SELECT_ON,
    TrainConfig,
    head_proba,
    learning_curve,
    metrics,
    roc_auc,
    rules_auc,
    select_on_for,
    train_best,
    train_head,
)


def draft_states(draft, ds, progress: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The draft's last hidden state at each labelled position ``p`` and at ``p - 1`` (N, Hd) each, and its
    logit features for the token at ``p`` (N, 3), from one cached extraction over the positions
    ``[p - 1 ..., p ...]`` of every row (labels repeated, unused)."""

    def both(ex):
        pos = list(ex["positions"])
        return {"positions": [p - 1 for p in pos] + pos, "labels": list(ex["labels"]) * 2}

    f = extract(draft, ds.map(both, keep_in_memory=True), progress, cache=cache_dir() / "features", layer=-1)
    n = [len(p) for p in ds["positions"] if len(p)]
    before, at, feats = [], [], []
    for X, F in zip(f.X.split([2 * k for k in n]), f.F.split([2 * k for k in n]), strict=True):
        k = len(X) // 2
        before.append(X[:k])
        at.append(X[k:])
        feats.append(F[k:])
    return torch.cat(at), torch.cat(before), torch.cat(feats)


FEATURE_SETS = ("target", "target+draft_logits", "target+draft_prev", "target+draft", "target+draft_prev+draft_logits")


def plot_curves(curves: list[list[dict]], rules: dict[str, float], path: Path) -> None:
    """Held-out disagreement ROC-AUC against training disagreements (log scale): each seed's curve faint, their
    mean bold, the free rules' levels on the same held-out disagreements dotted."""
    from hf_judge.bench.plots import plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for c in curves:
        ax.plot(
            [p["train_disagreements"] for p in c],
            [p["test_disagreements_roc_auc"] for p in c],
            "o-",
            c="C0",
            alpha=0.25,
        )
    xs = [sum(c[i]["train_disagreements"] for c in curves) / len(curves) for i in range(len(curves[0]))]
    ys = [sum(c[i]["test_disagreements_roc_auc"] for c in curves) / len(curves) for i in range(len(curves[0]))]
    ax.plot(xs, ys, "o-", c="C0", lw=2.5, label=f"judge head, mean of {len(curves)} seeds")
    for i, (rule, auc) in enumerate(sorted(rules.items())):
        ax.axhline(auc, color=f"C{i + 2}", ls=":", label=f"free rule {rule}")
    ax.set_xscale("log")
    ax.set(xlabel="training disagreements (log scale)", ylabel="ROC-AUC, held-out disagreements")
    ax.set_title("Math judge: held-out learning curve")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def every_config(Xs, y, rows, F, split, disagreement, held, configs, hidden_layer: int) -> list[dict]:
    """Each config's head (trained as the grid trains it) with its validation ROC-AUC on every position and on
    the disagreements, and its ROC-AUC on the held-out disagreements (95% interval): which validation criterion
    picks a head that ranks unseen disagreements well."""
    out, where = [], held & disagreement  # where: (N,) the held-out disagreements
    for cfg in configs:
        head, rep = train_head(
            Xs[~held],
            y[~held],
            rows[~held],
            cfg,
            split=split[~held],
            disagreement=disagreement[~held],
            features=F[~held],
            hidden_layer=hidden_layer,
            progress=False,
        )
        p = head_proba(head, Xs[where], F[where])  # (N_where,)
        out.append(
            {
                "lr": cfg.lr,
                "weight_decay": cfg.weight_decay,
                "disagreement_weight": cfg.disagreement_weight,
                "best_epoch": rep.best_epoch,
                "val_roc_auc": rep.val["roc_auc"],
                # nan where the validation split holds no disagreement, as in train_best's grid
                "val_disagreements_roc_auc": rep.val_disagreements["roc_auc"] if rep.val_disagreements else math.nan,
                "heldout_disagreements": metrics(p, y[where], head.config.threshold),
            }
        )
        print(
            f"  lr {cfg.lr:g} wd {cfg.weight_decay:g}: val {out[-1]['val_roc_auc']:.3f}, val disagreements "
            f"{out[-1]['val_disagreements_roc_auc']:.3f}, held-out disagreements "
            f"{out[-1]['heldout_disagreements']['roc_auc']:.3f}",
            flush=True,
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True, help="data set folders to train, validate and test on")
    ap.add_argument("--heldout", nargs="*", default=[], help="data set folders reported only")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--head-type", default="linear", choices=["linear", "mlp"])
    ap.add_argument("--hidden-layer", type=int, default=-1)
    ap.add_argument("--logit-features", action="store_true", help="every head also reads the target's logit features")
    ap.add_argument("--lr", type=float, nargs="+", default=[1e-2])
    ap.add_argument("--weight-decay", type=float, nargs="+", default=[1e-2])
    ap.add_argument("--select-on", default="positions", choices=SELECT_ON)
    ap.add_argument(
        "--every-config",
        action="store_true",
        help="also every grid config's head on the --heldout shards (``every_config``): does the head the "
        "validation picks rank the held-out disagreements as well as the grid's best?",
    )
    ap.add_argument("--sets", nargs="+", choices=FEATURE_SETS, help="feature sets to train (default: all)")
    ap.add_argument(
        "--learning-curve",
        type=int,
        default=0,
        metavar="SEEDS",
        help="each set's chosen config trained again on 1/8, 1/4, 1/2 and all of the training questions, "
        "tested on the --heldout shards (would more data of this kind still help?), once per seed 0..SEEDS-1 "
        "(the seed picks the shares' questions and the initialisation)",
    )
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    dtype = resolve_dtype(args.dtype)
    paths = list(args.data) + list(args.heldout)
    ds = load_dataset_dir(paths)
    target = load_model(DEFAULT_TARGET, dtype=dtype)
    feats = extract(target, ds, cache=cache_dir() / "features", layer=args.hidden_layer)
    X, y, rows, F = feats.X, feats.y, feats.rows, feats.F
    env = environment(target)
    del target
    names = [n for n in FEATURE_SETS if not args.sets or n in args.sets]
    parts = {"target": X}
    if any("draft" in n for n in names):  # the draft runs only where a set reads it
        d_at, d_before, d_logits = draft_states(load_model(DEFAULT_DRAFT, dtype=dtype), ds)
        parts.update(draft_logits=d_logits, draft_prev=d_before, draft=d_at)
    n_train_rows = len(load_dataset_dir(args.data))
    held = rows >= n_train_rows  # (N,)
    split = position_split(split_by_question(ds), rows)  # (N,)
    split[held] = 3  # neither trained, validated nor tested on inside the grid
    groups = torch.tensor(question_groups(ds))[rows]  # (N,) each position's question
    disagreement = disagreements(ds, rows)  # (N,)
    # and the hard picks (where the target likes the draft's token least): more errors to rank, reported only
    every_mismatch = disagreements(ds, rows, hard=True)  # (N,)
    domains = domain_masks(paths, rows)  # {domain: (N,) bool}
    sets = {n: torch.cat([parts[k] for k in n.split("+")], 1) for n in names}  # (N, H [+ Hd] [+ 3])
    configs = [
        TrainConfig(head_type=args.head_type, logit_features=args.logit_features, lr=lr, weight_decay=wd)
        for lr, wd in itertools.product(args.lr, args.weight_decay)
    ]

    def report(p, thr, where):
        """Metrics at threshold ``thr`` (ROC-AUC with its 95% interval) on ``where`` (N,) bool."""
        return metrics(p[where], y[where], thr) if where.any() else None

    select_on = select_on_for(args.select_on, y[~held], split[~held], disagreement[~held])
    results = {}
    for name, Xs in sets.items():
        head, rep, grid = train_best(
            Xs[~held],
            y[~held],
            rows[~held],
            configs,
            select_on=select_on,
            split=split[~held],
            disagreement=disagreement[~held],
            features=F[~held],
            hidden_layer=args.hidden_layer,
            progress=False,
        )
        p = head_proba(head, Xs, F)  # (N,)
        thr = head.config.threshold
        res = {
            "grid": grid,
            "val_disagreements": rep.val_disagreements,
            "test": rep.test,
            "test_disagreements": rep.test_disagreements,
            "heldout": report(p, thr, held),
            "heldout_disagreements": report(p, thr, held & disagreement),
            "heldout_disagreements_and_hard": report(p, thr, held & every_mismatch),
            "heldout_by_domain": {
                d: {"all": report(p, thr, held & m), "disagreements": report(p, thr, held & m & disagreement)}
                for d, m in domains.items()
                if (held & m).any()
            },
        }
        if args.every_config and held.any():
            res["every_config"] = every_config(Xs, y, rows, F, split, disagreement, held, configs, args.hidden_layer)
        if args.learning_curve and held.any():
            # the held-out shards take the test split's place (the grid's own test questions sit out)
            part = split.clone()
            part[split == 2] = -1
            part[held] = 2
            cfg = TrainConfig(**rep.config)
            res["heldout_learning_curves"] = [
                learning_curve(Xs, y, rows, part, groups, disagreement, replace(cfg, seed=seed), features=F)
                for seed in range(args.learning_curve)
            ]
        results[name] = res
        short = {
            k: res[k] and round(res[k]["roc_auc"], 4)
            for k in ("test_disagreements", "heldout", "heldout_disagreements", "heldout_disagreements_and_hard")
        }
        print(name, json.dumps(short), flush=True)
    out = {
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "environment": env,
        "positions": {s: int((split == i).sum()) for i, s in enumerate(("train", "val", "test", "heldout"))},
        "disagreements": {
            s: int(((split == i) & disagreement).sum()) for i, s in enumerate(("train", "val", "test", "heldout"))
        },
        "select_on": select_on,
        "results": results,
        "free_rules": {
            "test": rules_auc(feats.rules, y, split == 2, disagreement),
            "heldout": rules_auc(feats.rules, y, held, disagreement),
            "heldout_disagreements_and_hard": {
                r: roc_auc(s[held & every_mismatch], y[held & every_mismatch]) for r, s in feats.rules.items()
            },
            "heldout_by_domain": {
                d: {r: roc_auc(s[held & m & disagreement], y[held & m & disagreement]) for r, s in feats.rules.items()}
                for d, m in domains.items()
                if (held & m & disagreement).any()
            },
        },
    }
    print("free rules", json.dumps(out["free_rules"]))
    Path(args.out).write_text(json.dumps(out, indent=2))
    if args.learning_curve and held.any():
        rules = {r: m["test_disagreements"] for r, m in out["free_rules"]["heldout"].items()}
        for name, res in results.items():
            suffix = "" if len(results) == 1 else "_" + name.replace("+", "_")
            plot_curves(
                res["heldout_learning_curves"], rules, Path(args.out).with_name(Path(args.out).stem + suffix + ".png")
            )


if __name__ == "__main__":
    main()
