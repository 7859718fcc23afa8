"""Can a head learn the open-ended bench's label? Probes trained on the rating labels, cross-validated by prompt.

``benchmarks/rating_labels.py`` labels draft tokens by what the open-ended bench measures: put the draft's token in,
let the target finish, rate the answer against the target's own. No score it sets beside the labels (the trained
head, the free rules, the preservation drop) predicts them well. This asks whether the target's hidden state at
the draft token holds what does: logistic probes are trained on those labels, each prompt's substitutions scored
by a probe trained on the other prompts' alone (``--folds`` folds by prompt), and the probes' out-of-fold ROC-AUC
is set beside the scores' on the same substitutions. Each probe's L2 weight is chosen by inner folds within its
training prompts, never on the prompts it scores.

Probes: ``hidden`` (the hidden state the head reads, at the draft token), ``scores`` (the head's logit, the free
rules' scores and the position in the answer), ``both``. Beside each ROC-AUC, the concordance within a prompt
(``rating_labels.concordance``: of two substitutions in one prompt, how often the one that lowers the rating less
scores higher).

The hidden states come from the features cache (``rating_labels.py`` keeps them there); a record written before
it kept its token ids is planned again (the target's greedy answer, as when it was labelled) and checked against
what it recorded.

python benchmarks/rating_probe.py --labels benchmarks/results/rating_labels_cpu \
    --out benchmarks/results/rating_probe_cpu
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch
from datasets import Dataset

from hf_judge.training.trainer import roc_auc

LAMBDAS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)  # L2 weights tried (on standardized inputs, per-example mean loss)
TOLERANCES = ("0.0", "0.1", "0.25")
SCORES = ("head", "top-k", "ratio", "entropy")


def fit_logistic(X: torch.Tensor, y: torch.Tensor, lam: float, steps: int = 100):
    """A logistic regression on ``X`` (N, D) for ``y`` (N,) in {0, 1} with L2 weight ``lam``, on inputs
    standardized by their training mean and spread; returns ``predict(X) -> (M,)`` logits."""
    mu, sd = X.mean(0), X.std(0).clamp_min(1e-6)  # (D,)
    Z = (X - mu) / sd  # (N, D)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    Z, y = Z.double(), y.double()
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def loss():
        opt.zero_grad()
        out = torch.nn.functional.binary_cross_entropy_with_logits(Z @ w + b, y) + lam * (w @ w)
        out.backward()
        return out

    opt.step(loss)
    w, b = w.detach(), b.detach()
    return lambda Xn: (((Xn - mu) / sd).double() @ w + b).float()


def _folds(groups: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """Each example's fold (N,): the groups (prompts) dealt round-robin to ``k`` folds in a seeded order."""
    ids = groups.unique()
    order = ids[torch.randperm(len(ids), generator=torch.Generator().manual_seed(seed))]
    fold_of = {int(g): i % k for i, g in enumerate(order)}
    return torch.tensor([fold_of[int(g)] for g in groups])


def cross_validated(
    X: torch.Tensor, y: torch.Tensor, groups: torch.Tensor, folds: int = 5, seed: int = 0, lambdas=LAMBDAS
) -> tuple[torch.Tensor, list[float]]:
    """Out-of-fold logits (N,): each example's from a probe trained on the other folds' groups alone, its L2 weight
    the one of ``lambdas`` with the best pooled ROC-AUC over inner folds of those groups; and each fold's weight."""
    fold = _folds(groups, min(folds, len(groups.unique())), seed)
    out, chosen = torch.empty(len(y)), []
    for f in fold.unique():
        test, train = fold == f, fold != f
        Xt, yt, gt = X[train], y[train], groups[train]
        inner = _folds(gt, min(folds, len(gt.unique())), seed + 1)
        best, best_auc = lambdas[0], -1.0
        for lam in lambdas:
            got = torch.empty(len(yt))
            for g in inner.unique():
                got[inner == g] = fit_logistic(Xt[inner != g], yt[inner != g], lam)(Xt[inner == g])
            a = roc_auc(got, yt)  # nan with one class: never chosen
            if a > best_auc:
                best, best_auc = lam, a
        out[test] = fit_logistic(Xt, yt, best)(X[test])
        chosen.append(best)
    return out, chosen


def _ids(records: list[dict], target, tok, settings: dict, store: Path) -> list[dict]:
    """Every record with its token ids: a record written before they were kept is planned again, checked against
    what it recorded, and its ids kept in ``store`` (a JSON lines file) for the next run."""
    from hf_judge.registry.hardware import resolve_dtype
    from hf_judge.registry.packaged import load_model
    from hf_judge.training.data import _plan_item
    from hf_judge.training.records import append_record, read_records

    kept = {r["index"]: r for r in read_records(store)}
    missing = [r for r in records if "answer_ids" not in r and r["index"] not in kept]
    s = settings
    if missing:
        dtype = resolve_dtype(s["dtype"])
        draft = load_model(s["draft"], dtype=dtype, quant=s["draft_quant"], cpu_linear=s["cpu_linear"])
    with open(store, "a") as log:
        for r in missing:
            plan = _plan_item(
                target,
                draft,
                tok,
                {"question": r["question"]},
                checker=None,
                max_new_tokens=s["max_new_tokens"],
                max_mismatches=s["max_mismatches"],
                instruction="",
                use_draft=True,
            )
            got = [(i, tok.decode([plan["d_pred"][i]])) for i in sorted(plan["subs_to"])]
            want = [(sub["position"], sub["draft_token"]) for sub in r["subs"]]
            if got != want or tok.decode(plan["ref"], skip_special_tokens=True) != r["answer"]:
                raise SystemExit(f"prompt {r['index']} planned again differs from its record: {got} vs {want}")
            kept[r["index"]] = {
                "index": r["index"],
                "prompt_ids": plan["p"],
                "answer_ids": plan["ref"],
                "draft_ids": [plan["d_pred"][sub["position"]] for sub in r["subs"]],
            }
            append_record(log, kept[r["index"]])
    for r in records:
        if "answer_ids" not in r:
            ids = kept[r["index"]]
            r["prompt_ids"], r["answer_ids"] = ids["prompt_ids"], ids["answer_ids"]
            for sub, d in zip(r["subs"], ids["draft_ids"], strict=True):
                sub["draft_id"] = d
    return records


def main() -> None:
    from rating_labels import concordance  # (its sibling script: this folder is on the path when run)

    from hf_judge.bench.suite import environment
    from hf_judge.registry.hardware import resolve_dtype
    from hf_judge.registry.judges import load_judge
    from hf_judge.registry.packaged import cache_dir, load_model, load_tokenizer
    from hf_judge.training.features import extract
    from hf_judge.training.records import read_records
    from hf_judge.training.trainer import head_proba, roc_auc_interval

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", required=True, help="a rating_labels.py --out folder")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    first, *records = read_records(Path(args.labels) / "records.jsonl")
    s = first["settings"]
    target = load_model(s["target"], dtype=resolve_dtype(s["dtype"]), cpu_linear=s["cpu_linear"])
    head = load_judge(s["head"], target=s["target"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = _ids(records, target, load_tokenizer(s["target"]), s, out / "replanned.jsonl")
    rows, groups, meta = [], [], []
    for r in records:
        p, ref = r["prompt_ids"], r["answer_ids"]
        for sub in r["subs"]:
            i = sub["position"]
            rows.append({"input_ids": p + ref[:i] + [sub["draft_id"]], "positions": [len(p) + i], "labels": [0]})
            groups.append(r["index"])
            meta.append((sub, i / max(1, len(ref))))
    f = extract(target, Dataset.from_list(rows), cache=cache_dir() / "features", layer=head.config.hidden_layer)
    groups = torch.tensor(groups)  # (N,)
    delta = torch.tensor([sub["delta"] for sub, _ in meta])  # (N,)
    raw = {k: torch.tensor([sub["scores"][k] for sub, _ in meta]) for k in SCORES}  # each (N,)
    again = head_proba(head, f.X, f.F)  # (N,) the head on the rebuilt rows: as when they were labelled
    if not torch.allclose(again, raw["head"], atol=1e-3):
        worst = int((again - raw["head"]).abs().argmax())
        raise SystemExit(f"substitution {worst}: the head scores {again[worst]:.4f} now, {raw['head'][worst]:.4f} then")
    logit = torch.logit(raw["head"].clamp(1e-6, 1 - 1e-6))  # (N,)
    S = torch.stack([logit, raw["top-k"], raw["ratio"], raw["entropy"], torch.tensor([x for _, x in meta])], 1)
    inputs = {"hidden": f.X, "scores": S, "both": torch.cat([f.X, S], 1)}  # (N, H) (N, 5) (N, H + 5)
    res = {
        "command": f"python benchmarks/rating_probe.py --labels {args.labels} --folds {args.folds} "
        f"--seed {args.seed} --out {args.out}",
        "environment": environment(target),
        "labels": s,
        "prompts": len(records),
        "substitutions": len(rows),
        "hidden_layer": head.config.hidden_layer,
        "lambdas": list(LAMBDAS),
        "tolerances": {},
    }
    for t in TOLERANCES:
        y = (delta >= -float(t)).float()  # (N,)
        got = {"lowered": int((y == 0).sum()), "roc_auc": {}, "roc_auc_interval": {}, "within_prompt": {}}
        got["lambda_per_fold"] = {}
        scored = dict(raw)
        for name, X in inputs.items():
            scored[f"probe:{name}"], got["lambda_per_fold"][name] = cross_validated(X, y, groups, args.folds, args.seed)
        for name, v in scored.items():
            got["roc_auc"][name] = roc_auc(v, y)
            lo, hi = roc_auc_interval(v, y)
            got["roc_auc_interval"][name] = None if math.isnan(lo) else [lo, hi]
            within = concordance(v, delta, groups)  # tells apart the substitutions of one prompt, by their change
            got["within_prompt"][name] = None if within is None else {"concordance": within[0], "interval": within[1]}
        res["tolerances"][t] = got
        print(t, {k: round(v, 3) for k, v in got["roc_auc"].items()}, flush=True)
    (out / "report.json").write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
