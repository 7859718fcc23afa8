"""Train and calibrate a judge head on extracted features.

Weighted binary cross-entropy (the classes are imbalanced: most draft tokens are fine), early
stopping on a validation split, precision / recall / ROC-AUC, and calibration of the threshold
for a target recall of errors: the paper keeps quality by rejecting wrong tokens, so the
threshold is the highest-acceptance one that still rejects the asked share of errors.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from ..core.configuration_judge import HEAD_TYPES, JudgeHeadConfig
from ..core.errors import InputError
from ..core.modeling_judge import LOGIT_FEATURES, JudgeHead

__all__ = [
    "Calibration",
    "TrainConfig",
    "TrainReport",
    "calibrate",
    "head_proba",
    "held_out",
    "learning_curve",
    "metrics",
    "roc_auc",
    "roc_auc_interval",
    "rules_auc",
    "seed_head",
    "select_on_for",
    "train_best",
    "train_head",
]


@dataclass
class TrainConfig:
    """How a judge head is trained and calibrated."""

    head_type: str = field(default="linear", metadata={"help": f"one of {HEAD_TYPES}"})
    logit_features: bool = field(
        default=False, metadata={"help": "also read the target's logit features (log ratio, log rank, entropy)"}
    )
    mlp_hidden_size: int = field(default=256, metadata={"help": "hidden width for head_type='mlp'"})
    epochs: int = field(default=300, metadata={"help": "maximum passes over the training split"})
    lr: float = field(default=1e-2, metadata={"help": "AdamW learning rate"})
    weight_decay: float = field(default=1e-2, metadata={"help": "AdamW weight decay"})
    disagreement_weight: float = field(
        default=1.0,
        metadata={
            "help": "weight of a draft/target disagreement (train_head's disagreement=) in the loss, any other "
            "position's being 1: the judge decides only where the draft disagrees with the target"
        },
    )
    batch_size: int = field(default=512, metadata={"help": "positions per optimisation step"})
    val_fraction: float = field(default=0.2, metadata={"help": "share of rows held out for early stopping"})
    patience: int = field(default=20, metadata={"help": "epochs without validation improvement before stopping"})
    error_recall: float = field(default=0.9, metadata={"help": "calibrate: share of errors the judge must reject"})
    seed: int = field(default=0, metadata={"help": "seed of the split and the initialisation"})

    def __post_init__(self):
        if self.head_type not in HEAD_TYPES:
            raise InputError(f"head_type={self.head_type!r} is not one of {HEAD_TYPES}")
        for name in ("epochs", "batch_size", "patience", "mlp_hidden_size"):
            if getattr(self, name) <= 0:
                raise InputError(f"{name}={getattr(self, name)} must be positive")
        if not 0.0 < self.val_fraction < 1.0:
            raise InputError(f"val_fraction={self.val_fraction} must lie in (0, 1)")
        if not 0.0 < self.error_recall <= 1.0:
            raise InputError(f"error_recall={self.error_recall} must lie in (0, 1]")
        for name in ("lr", "disagreement_weight"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name}={getattr(self, name)} must be positive")
        if not self.weight_decay >= 0:  # also false for nan
            raise InputError(f"weight_decay={self.weight_decay} must be at least 0")


def _wins(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(P, N) float64: 1 where an acceptable position's score is above an error's, 0.5 on a tie, else 0."""
    pos, neg = scores[labels > 0.5], scores[labels <= 0.5]
    return (pos[:, None] > neg[None, :]).double() + 0.5 * (pos[:, None] == neg[None, :]).double()


def roc_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve (rank statistic, ties count half); nan with one class only."""
    return _auc(_wins(scores, labels))


def _auc(won: torch.Tensor) -> float:
    if not won.numel():
        return float("nan")
    return float(won.sum().float() / won.numel())  # in float32, as reports and early stopping always had it


def roc_auc_interval(scores: torch.Tensor, labels: torch.Tensor, z: float = 1.96) -> tuple[float, float]:
    """How far chance alone moves :func:`roc_auc` on these positions: DeLong's variance of the AUC, an
    interval of +- ``z`` standard errors (95% for 1.96) on the logit scale (it stays in (0, 1) and holds its
    coverage with a few errors, where the plain one does not). It treats positions as independent (the
    tokens of one answer are not), so it is if anything too narrow. (nan, nan) with fewer than two of a
    class; (auc, auc) at 0 or 1."""
    return _auc_interval(_wins(scores, labels), z)


def _auc_interval(won: torch.Tensor, z: float = 1.96) -> tuple[float, float]:
    if won.shape[0] < 2 or won.shape[1] < 2:
        return float("nan"), float("nan")
    auc = won.mean().item()
    if auc in (0.0, 1.0):
        return auc, auc
    var = won.mean(1).var().item() / won.shape[0] + won.mean(0).var().item() / won.shape[1]  # DeLong
    logit, se = math.log(auc / (1 - auc)), math.sqrt(var) / (auc * (1 - auc))
    return 1 / (1 + math.exp(-(logit - z * se))), 1 / (1 + math.exp(-(logit + z * se)))


def metrics(probs: torch.Tensor, labels: torch.Tensor, threshold: float) -> dict:
    """Precision/recall of acceptance (prob > threshold) and the share of errors rejected."""
    acc = probs > threshold
    good = labels > 0.5
    tp = (acc & good).sum().item()
    won = _wins(probs, labels)  # (P, N)
    return {
        "threshold": threshold,
        "precision": tp / max(acc.sum().item(), 1),  # accepted tokens that are acceptable
        "recall": tp / max(good.sum().item(), 1),  # acceptable tokens accepted
        "error_recall": ((~acc) & ~good).sum().item() / max((~good).sum().item(), 1),  # errors rejected
        "roc_auc": _auc(won),
        "roc_auc_95": list(_auc_interval(won)),
        "n": len(labels),
        "n_errors": int((~good).sum().item()),
    }


@dataclass
class Calibration:
    threshold: float
    error_recall: float
    good_acceptance: float
    curve: dict[str, list[float]]  # thresholds, error_recall, good_acceptance


def calibrate(probs: torch.Tensor, labels: torch.Tensor, error_recall: float = 0.9) -> Calibration:
    """The lowest threshold that rejects at least ``error_recall`` of the errors (accepts = prob > threshold)."""
    if not 0.0 < error_recall <= 1.0:
        raise InputError(f"{error_recall=} must lie in (0, 1]")
    err = probs[labels <= 0.5].sort().values
    good = probs[labels > 0.5]
    if len(err) == 0:
        raise InputError("calibration needs examples of errors (label 0); the data has none")
    t = float(err[max(math.ceil(error_recall * len(err)) - 1, 0)])
    grid = torch.linspace(0, 1, 101)
    curve = {
        "thresholds": grid.tolist(),
        "error_recall": [float((err <= g).float().mean()) for g in grid],
        "good_acceptance": [float((good > g).float().mean()) if len(good) else 0.0 for g in grid],
    }
    return Calibration(
        threshold=min(max(t, 0.0), 1.0),
        error_recall=float((err <= t).float().mean()),
        good_acceptance=float((good > t).float().mean()) if len(good) else 0.0,
        curve=curve,
    )


@dataclass
class TrainReport:
    config: dict
    epochs_run: int
    best_epoch: int | None  # None for an average of heads (each has its own: the grid's best_epoch)
    train: dict
    val: dict
    calibration: Calibration | None = None
    val_disagreements: dict | None = None  # the validation positions where the draft disagrees with the target
    history: list[dict] = field(default_factory=list)
    test: dict | None = None  # held-out questions, never tuned on (with a split by question)
    test_disagreements: dict | None = None  # the test positions where the draft disagrees with the target
    free_rules: dict | None = None  # {rule: {"test": ROC-AUC, "test_disagreements": ROC-AUC}} on the same positions
    test_by_domain: dict | None = None  # {domain: test metrics of its positions, with "free_rules": {rule: ROC-AUC}}

    def as_dict(self) -> dict:
        return asdict(self)


def _split(rows: torch.Tensor, frac: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Split positions by row (positions of one sequence never straddle the split)."""
    ids = rows.unique()
    perm = ids[torch.randperm(len(ids), generator=gen)]
    n_val = max(1, round(frac * len(ids)))
    val_rows = perm[:n_val]
    is_val = torch.isin(rows, val_rows)
    return ~is_val, is_val


def _masks(
    y: torch.Tensor, rows: torch.Tensor, split: torch.Tensor | None, cfg: TrainConfig, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The (N,) bool train / validation / test positions: ``split`` (N,) as indices into ("train", "val",
    "test"), or without it rows at random into train and validation (``cfg.val_fraction``, drawn from ``gen``)."""
    if split is None:
        tr, va = _split(rows, cfg.val_fraction, gen)
        return tr, va, torch.zeros_like(tr)
    if split.shape != y.shape:
        raise InputError(f"split must give one split per position, {tuple(y.shape)}, got {tuple(split.shape)}")
    return split == 0, split == 1, split == 2


def _inputs(X: torch.Tensor, features: torch.Tensor | None, cfg: TrainConfig) -> torch.Tensor:
    """What a head reads, float32: the hidden states ``X`` (N, H), and their logit features ``features`` (N, 3)
    beside them (N, H + 3) for a head that reads those (``cfg.logit_features``)."""
    return (torch.cat([X, features], 1) if cfg.logit_features else X).float()


def train_head(
    X: torch.Tensor,
    y: torch.Tensor,
    rows: torch.Tensor | None = None,
    config: TrainConfig | None = None,
    *,
    target_model: str | None = None,
    draft_model: str | None = None,
    hidden_layer: int = -1,
    split: torch.Tensor | None = None,
    disagreement: torch.Tensor | None = None,
    rules: dict[str, torch.Tensor] | None = None,
    domains: dict[str, torch.Tensor] | None = None,
    features: torch.Tensor | None = None,
    progress: bool = True,
) -> tuple[JudgeHead, TrainReport]:
    """Fit a judge head on features ``X`` (N, H) with labels ``y`` (N,), 1 = acceptable.

    ``split`` (N,): each position's split as an index into ``("train", "val", "test")`` (see
    :mod:`hf_judge.training.split`, by question); without it, rows are split at random into train and
    validation (``config.val_fraction``). Validation picks the epoch and the threshold; test is reported
    only, and ``disagreement`` (N,) bool marks the positions reported again on their own (draft/target
    disagreements, where a judge earns its keep), in validation and test, and weighed
    ``config.disagreement_weight`` times any other position in the loss. ``rules`` {name: (N,)}: training-free
    scores at the same positions (:func:`hf_judge.training.features.rule_scores`), whose test ROC-AUC is reported
    beside the head's: a trained judge has to beat them. ``domains`` {name: (N,) bool}: the test figures again on each
    domain's positions (math, code, open-ended...): a head may win on one and lose on another. ``features``
    (N, 3): the positions' :func:`~hf_judge.core.modeling_judge.logit_features`, needed iff
    ``config.logit_features``. ``hidden_layer``: the target's hidden state ``X`` holds (``extract``'s
    ``layer``), which the head then reads.
    """
    cfg = config or TrainConfig()
    if X.dim() != 2 or len(X) != len(y):
        raise InputError(f"X must be (N, H) and y (N,), got {tuple(X.shape)} and {tuple(y.shape)}")
    if not ((y == 0) | (y == 1)).all():
        raise InputError("labels must be 0 or 1")
    rows = torch.arange(len(y)) if rows is None else rows
    gen = torch.Generator().manual_seed(cfg.seed)
    tr, va, te = _masks(y, rows, split, cfg, gen)
    if len(rows.unique()) < 2 or tr.sum() == 0 or va.sum() == 0:
        raise InputError(
            f"need positions to train on and to validate on, got {int(tr.sum())} and {int(va.sum())}: more rows, "
            "or other split shares"
        )
    if cfg.logit_features:
        if features is None or tuple(features.shape) != (len(y), len(LOGIT_FEATURES)):
            got = None if features is None else tuple(features.shape)
            want = (len(y), len(LOGIT_FEATURES))
            raise InputError(f"logit_features=True needs features of shape {want}, got {got}")
    if cfg.disagreement_weight != 1.0 and disagreement is None:
        raise InputError(f"disagreement_weight={cfg.disagreement_weight} needs the disagreements (disagreement=)")
    H = X.shape[1]
    X, y = _inputs(X, features, cfg), y.float()  # (N, H [+ 3])
    mu, sd = X[tr].mean(0), X[tr].std(0).clamp_min(1e-6)  # standardise; folded into the first layer at the end
    Z = (X - mu) / sd

    torch.manual_seed(cfg.seed)
    head = JudgeHead(
        JudgeHeadConfig(
            hidden_size=H,
            hidden_layer=hidden_layer,
            head_type=cfg.head_type,
            logit_features=cfg.logit_features,
            mlp_hidden_size=cfg.mlp_hidden_size,
            target_model=target_model,
            draft_model=draft_model,
        )
    )
    w = torch.ones_like(y) if disagreement is None else 1.0 + (cfg.disagreement_weight - 1.0) * disagreement.float()
    w_tr, y_tr = w[tr], y[tr]  # (N_tr,)
    n_pos, n_neg = (w_tr * y_tr).sum(), (w_tr * (1 - y_tr)).sum()
    # balance the classes: each class weighs half of the (weighted) loss
    w_pos = (w_tr.sum() / (2 * n_pos)).clamp_max(1e4) if n_pos else torch.tensor(1.0)
    w_neg = (w_tr.sum() / (2 * n_neg)).clamp_max(1e4) if n_neg else torch.tensor(1.0)
    w = w * torch.where(y > 0.5, w_pos, w_neg)  # (N,)

    def loss_fn(logits, t, wt):
        return nn.functional.binary_cross_entropy_with_logits(logits, t, weight=wt)

    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    Ztr, ytr, wtr, Zva, yva, wva = Z[tr], y[tr], w[tr], Z[va], y[va], w[va]
    best, best_state, best_epoch, history, bad = float("inf"), None, 0, [], 0
    bar = tqdm(range(cfg.epochs), desc="train judge", disable=not progress)
    for epoch in bar:
        head.train()
        perm = torch.randperm(len(ytr), generator=gen)
        for i in range(0, len(perm), cfg.batch_size):
            b = perm[i : i + cfg.batch_size]
            loss = loss_fn(_logits(head, Ztr[b]), ytr[b], wtr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        head.eval()
        with torch.no_grad():
            tl = float(loss_fn(_logits(head, Ztr), ytr, wtr))
            vl = float(loss_fn(_logits(head, Zva), yva, wva)) if len(yva) else tl
        history.append({"epoch": epoch, "train_loss": tl, "val_loss": vl})
        bar.set_postfix(train=f"{tl:.3f}", val=f"{vl:.3f}")
        if vl < best - 1e-5:
            best, best_state, best_epoch, bad = vl, copy.deepcopy(head.state_dict()), epoch, 0
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    head.load_state_dict(best_state)
    _fold_standardisation(head, mu, sd)
    head.eval()
    report = _assess(head, X, y, (tr, va, te), cfg, disagreement, rules, domains)
    report.epochs_run, report.best_epoch, report.history = len(history), best_epoch, history
    return head, report


def _assess(
    head: JudgeHead,
    X: torch.Tensor,
    y: torch.Tensor,
    masks: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    cfg: TrainConfig,
    disagreement: torch.Tensor | None,
    rules: dict[str, torch.Tensor] | None,
    domains: dict[str, torch.Tensor] | None,
) -> TrainReport:
    """Calibrate a trained ``head`` on validation (it sets ``head.config.threshold``) and report it on every
    split: ``X`` (N, H [+ 3]) its raw inputs, ``y`` (N,) float labels, ``masks`` the (N,) bool train /
    validation / test positions. The epochs are the caller's to fill in."""
    tr, va, te = masks
    with torch.no_grad():
        p_tr, p_va = _logits(head, X[tr]).sigmoid(), _logits(head, X[va]).sigmoid()
    cal_p, cal_y = (p_va, y[va]) if (y[va] == 0).any() else (p_tr, y[tr])
    cal = calibrate(cal_p, cal_y, cfg.error_recall) if (cal_y == 0).any() else None
    if cal is not None:
        head.config.threshold = cal.threshold
    thr = head.config.threshold
    report = TrainReport(
        config=asdict(cfg),
        epochs_run=0,
        best_epoch=0,
        train=metrics(p_tr, y[tr], thr),
        val=metrics(p_va, y[va], thr),
        calibration=cal,
    )
    if disagreement is not None and (disagreement & va).any():
        report.val_disagreements = metrics(p_va[disagreement[va]], y[va][disagreement[va]], thr)
    if te.any():
        with torch.no_grad():
            p_te = _logits(head, X[te]).sigmoid()
        d_te = disagreement[te] if disagreement is not None else None
        _check_rules(rules or {}, y)
        rules_te = {name: s[te] for name, s in rules.items()} if rules else None
        rep = held_out(p_te, y[te], thr, d_te, rules_te)
        report.test, report.test_disagreements, report.free_rules = (
            rep["test"],
            rep.get("test_disagreements"),
            rep.get("free_rules"),
        )
        p_all = torch.zeros_like(y)
        p_all[te] = p_te
        report.test_by_domain = {
            name: {
                **metrics(p_all[m & te], y[m & te], thr),
                "free_rules": {r: roc_auc(s[m & te], y[m & te]) for r, s in (rules or {}).items()},
            }
            for name, m in (domains or {}).items()
            if (m & te).any()
        } or None
    return report


SELECT_ON = ("auto", "positions", "disagreements")


def select_on_for(
    select_on: str, y: torch.Tensor, split: torch.Tensor | None, disagreement: torch.Tensor | None
) -> str:
    """The validation positions whose ROC-AUC picks a grid's head: ``select_on`` itself, or for ``"auto"`` the
    draft/target ``disagreement`` positions (N,) bool where the validation split (``split == 1``, (N,)) holds
    disagreements of both labels (the only positions where a judge decides, and on the held-out shards the
    criterion that kept the better heads: ``benchmarks/judge_features.py --every-config``), else every
    validation position (pairs data, which mark no disagreement)."""
    if select_on not in SELECT_ON:
        raise InputError(f"select_on={select_on!r} is not one of {SELECT_ON}")
    if select_on != "auto":
        return select_on
    if disagreement is None or split is None:
        return "positions"
    labels = y[(split == 1) & disagreement]  # (N_val_dis,)
    return "disagreements" if bool((labels == 0).any() and (labels == 1).any()) else "positions"


COMBINE = ("best", "average")


def train_best(
    X: torch.Tensor,
    y: torch.Tensor,
    rows: torch.Tensor,
    configs: list[TrainConfig],
    select_on: str = "positions",
    combine: str = "best",
    **kwargs,
):
    """Train one head per config (a small grid of learning rates, weight decays and disagreement weights) and
    keep the one with the best validation ROC-AUC: on every validation position (``select_on="positions"``)
    or on the draft/target disagreements among them (``"disagreements"``, needs ``disagreement=``: the only
    positions where a judge decides); the test split plays no part in the choice. ``combine="average"``
    keeps no single one but their average: one linear head whose logit is the mean of every grid head's
    (no choice by a validation margin smaller than chance moves it), calibrated on
    validation like any head; linear heads only. ``kwargs`` go to :func:`train_head`. Returns the head, its
    report and the grid as ``[{"lr", "weight_decay", "disagreement_weight", "val_roc_auc",
    "val_disagreements_roc_auc", "best_epoch"}]``."""
    if not configs:
        raise InputError("train_best needs at least one TrainConfig")
    if select_on not in SELECT_ON[1:]:
        raise InputError(f"select_on={select_on!r} is not one of {SELECT_ON[1:]} (resolve 'auto' by select_on_for)")
    if select_on == "disagreements" and kwargs.get("disagreement") is None:
        raise InputError("select_on='disagreements' needs the disagreements (disagreement=)")
    if combine not in COMBINE:
        raise InputError(f"combine={combine!r} is not one of {COMBINE}")
    if combine == "average" and any(c.head_type != "linear" for c in configs):
        kinds = sorted({c.head_type for c in configs})
        raise InputError(f"combine='average' averages linear heads' logits; the grid has head_type {kinds}")
    progress, single = kwargs.pop("progress", True), len(configs) == 1  # one bar: the grid's, or the epochs'
    best, grid, fitted = None, [], []
    for cfg in tqdm(configs, desc="train judge (grid)", disable=single or not progress):
        head, rep = train_head(X, y, rows, cfg, progress=progress and single, **kwargs)
        fitted.append((head, rep))
        auc_dis = rep.val_disagreements["roc_auc"] if rep.val_disagreements else float("nan")
        auc = auc_dis if select_on == "disagreements" else rep.val["roc_auc"]
        grid.append(
            {
                "lr": cfg.lr,
                "weight_decay": cfg.weight_decay,
                "disagreement_weight": cfg.disagreement_weight,
                "val_roc_auc": rep.val["roc_auc"],
                "val_disagreements_roc_auc": auc_dis,
                "best_epoch": rep.best_epoch,
            }
        )
        if best is None or not (math.isnan(auc) or auc <= best[2]):  # nan (one class in val) never wins
            best = (head, rep, auc)
    if combine == "average" and not single:
        head, rep = _average(fitted, X, y, rows, **kwargs)
        return head, rep, grid
    return best[0], best[1], grid


def _average(
    fitted: list[tuple[JudgeHead, TrainReport]],
    X: torch.Tensor,
    y: torch.Tensor,
    rows: torch.Tensor,
    *,
    split: torch.Tensor | None = None,
    disagreement: torch.Tensor | None = None,
    rules: dict[str, torch.Tensor] | None = None,
    domains: dict[str, torch.Tensor] | None = None,
    features: torch.Tensor | None = None,
    **_,  # train_head's other keywords (the models' names, the layer): the fitted heads carry them
) -> tuple[JudgeHead, TrainReport]:
    """One linear head whose logit is the mean of the ``fitted`` linear heads' (their weights averaged: each
    reads raw inputs, its standardisation folded in), calibrated and reported as :func:`train_head` does.
    Its report's ``config`` is the first head's with ``lr``, ``weight_decay``, ``disagreement_weight`` and
    ``epochs`` as lists, one value per averaged head; ``epochs_run`` is their sum."""
    heads, reports = zip(*fitted, strict=True)
    cfg = TrainConfig(**reports[0].config)
    head = copy.deepcopy(heads[0])
    with torch.no_grad():
        for name in ("weight", "bias"):
            mean = torch.stack([getattr(h.net[0], name) for h in heads]).mean(0)  # (1, H [+ 3]) / (1,)
            getattr(head.net[0], name).copy_(mean)
    masks = _masks(y, rows, split, cfg, torch.Generator().manual_seed(cfg.seed))  # the masks each head had
    report = _assess(head, _inputs(X, features, cfg), y.float(), masks, cfg, disagreement, rules, domains)
    for name in ("lr", "weight_decay", "disagreement_weight"):
        report.config[name] = [r.config[name] for r in reports]
    report.config["epochs"] = [r.epochs_run for r in reports]
    report.epochs_run, report.best_epoch = sum(r.epochs_run for r in reports), None  # each has its own
    return head, report


def held_out(
    probs: torch.Tensor,
    y: torch.Tensor,
    threshold: float,
    disagreement: torch.Tensor | None = None,
    rules: dict[str, torch.Tensor] | None = None,
    hard: torch.Tensor | None = None,
) -> dict:
    """A head's report on held-out positions: ``probs``, ``y`` (N,) its probabilities and the labels,
    ``disagreement`` (N,) bool the draft/target disagreements among them, ``rules`` {name: (N,)} the free
    rules' scores there, ``hard`` (N,) bool the disagreements with the hard picks. ``test``: its metrics at
    ``threshold``; ``test_disagreements``: the same on the disagreements (where there are any);
    ``test_disagreements_and_hard``: on ``hard`` (where given and any); ``free_rules``: each rule's ROC-AUC
    on each."""
    out = {"test": metrics(probs, y, threshold)}
    if disagreement is not None and disagreement.any():
        out["test_disagreements"] = metrics(probs[disagreement], y[disagreement], threshold)
    if hard is not None and hard.any():
        out["test_disagreements_and_hard"] = metrics(probs[hard], y[hard], threshold)
    if rules:
        out["free_rules"] = rules_auc(rules, y, torch.ones_like(y, dtype=torch.bool), disagreement)
        if "test_disagreements_and_hard" in out:
            for name, s in rules.items():
                out["free_rules"][name]["test_disagreements_and_hard"] = roc_auc(s[hard], y[hard])
    return out


def _check_rules(rules: dict[str, torch.Tensor], y: torch.Tensor) -> None:
    for name, s in rules.items():
        if s.shape != y.shape:
            raise InputError(f"rule {name!r}: {tuple(s.shape)} scores for {tuple(y.shape)} positions")


def rules_auc(rules: dict[str, torch.Tensor], y: torch.Tensor, where: torch.Tensor, disagreement=None) -> dict:
    """Each free rule's ROC-AUC on the positions ``where`` (N,) bool, and on the disagreements among them."""
    _check_rules(rules, y)
    out = {}
    for name, s in rules.items():
        out[name] = {"test": roc_auc(s[where], y[where])}
        if disagreement is not None and (disagreement & where).any():
            d = disagreement & where
            out[name]["test_disagreements"] = roc_auc(s[d], y[d])
    return out


@torch.no_grad()
def head_proba(head: JudgeHead, X: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
    """The head's probabilities (N,) float32 on extracted features: hidden states ``X`` (N, H) and, for a head
    that reads them, their logit features ``F`` (N, 3) (:class:`~hf_judge.training.features.Features`)."""
    return torch.sigmoid(head(X, F if head.reads_logits else None).float())


def _logits(head: JudgeHead, X: torch.Tensor) -> torch.Tensor:
    """The head's logits (N,) on ``X`` (N, H), or (N, H + 3) for a head that reads logit features."""
    H = head.config.hidden_size
    return head(X[:, :H], X[:, H:] if head.reads_logits else None)


@torch.no_grad()
def _fold_standardisation(head: JudgeHead, mu: torch.Tensor, sd: torch.Tensor) -> None:
    """Make the head read raw hidden states: W (x - mu) / sd + b == (W / sd) x + (b - W mu / sd)."""
    first = head.net[0]
    w = first.weight / sd  # (out, H)
    first.bias -= (w * mu).sum(1)
    first.weight.copy_(w)


def seed_head(target, tokenizer, epochs: int = 50) -> JudgeHead:
    """A head trained in seconds on the shipped seed pairs: for small demos and tests, not a good judge."""
    from .data import pairs_dataset
    from .features import extract_features

    X, y, rows = extract_features(target, pairs_dataset(tokenizer), progress=False)
    head, _ = train_head(X, y, rows, TrainConfig(epochs=epochs), target_model=target.name_or_path, progress=False)
    return head


def learning_curve(
    X: torch.Tensor,
    y: torch.Tensor,
    rows: torch.Tensor,
    split: torch.Tensor,
    groups: torch.Tensor,
    disagreement: torch.Tensor,
    config: TrainConfig | list[TrainConfig] | None = None,
    fractions: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0),
    rules: dict[str, torch.Tensor] | None = None,
    features: torch.Tensor | None = None,
    combine: str = "best",
) -> list[dict]:
    """Held-out test figures against training size: does more data still help?

    The head is trained on nested shares of the training questions (``groups`` (N,): each position's
    question), validated and tested on the same validation and test questions every time. With ``rules``
    each point also carries the free rules' test ROC-AUC (the same at every point: they learn nothing).
    ``config`` a list and ``combine="average"``: every point is the average of those heads (:func:`train_best`).
    """
    configs = config if isinstance(config, list) else [config or TrainConfig()]
    train_groups = groups[split == 0].unique()
    order = train_groups[torch.randperm(len(train_groups), generator=torch.Generator().manual_seed(configs[0].seed))]
    points = []
    for f in tqdm(fractions, desc="learning curve"):
        if not 0 < f <= 1:
            raise InputError(f"learning-curve fraction {f} must lie in (0, 1]")
        chosen = order[: max(1, math.ceil(f * len(order)))]
        part = split.clone()
        part[(split == 0) & ~torch.isin(groups, chosen)] = -1  # left out of this point
        _, rep, _ = train_best(
            X,
            y,
            rows,
            configs,
            combine=combine,
            split=part,
            disagreement=disagreement,
            features=features,
            progress=False,
        )
        used = part == 0
        points.append(
            {
                "fraction": f,
                "train_questions": len(chosen),
                "train_positions": int(used.sum()),
                "train_disagreements": int((used & disagreement).sum()),
                "test_roc_auc": rep.test["roc_auc"] if rep.test else float("nan"),
                "test_disagreements_roc_auc": (
                    rep.test_disagreements["roc_auc"] if rep.test_disagreements else float("nan")
                ),
            }
        )
        if rules:
            points[-1]["free_rules"] = rules_auc(rules, y, split == 2, disagreement)
    return points
