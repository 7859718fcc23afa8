"""Does any acceptance score predict what the open-ended bench measures? Rating labels on open-ended prompts.

The open-ended bench grades an answer by the target's own rating of it (``--grader target --grading rating``)
against the rating of the target's own answer. This script labels draft/target disagreements by that very
measure: on this project's open-ended prompts (not MT-Bench's), the target answers greedily; at up to
``--max-mismatches`` positions where the draft's next token differs, the draft's token is put in, the target
writes the rest of the answer greedily, and the finished answer is rated. A substitution's rating change
``delta`` = rating(answer with the draft's token) - rating(the target's own answer); the label at tolerance
``t`` is ``delta >= -t``.

Beside each label: the scores that could keep the draft's token there, read where the verification forward
would (:func:`hf_judge.training.features.extract`): the trained head's (``--head``), the free rules' (top-k as
1 / rank, the probability ratio, the entropy gate) and the preservation drop (the teacher-forced label open-ended
data had, :func:`hf_judge.training.data.preservation`). The report gives each score's ROC-AUC for the label at
each tolerance (how well it tells the substitutions that keep the rating from those that lower it; with DeLong's
95% interval, which treats the substitutions as independent, though those of one prompt share its answer, so
it is if anything too narrow), and, per score, the mean delta of the substitutions it would keep at its usual
cut. Since substitutions in one answer share much of their change (``prompt_share``), each score's concordance
with the change within a prompt is given too: a score can tell the prompts whose answers any change lowers from
the others without telling the better tokens of one answer from the worse.

Each prompt's record (texts, ratings, scores) is appended to ``records.jsonl`` in ``--out`` as it finishes;
a rerun skips the recorded prompts (resume) and the report is rebuilt from every record.

python benchmarks/rating_labels.py --n-prompts 40 --out benchmarks/results/rating_labels_cpu
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
from datasets import Dataset
from tqdm.auto import tqdm

from hf_judge.bench.open_ended import RatingGrader
from hf_judge.bench.suite import environment
from hf_judge.registry.hardware import resolve_dtype
from hf_judge.registry.judges import load_judge
from hf_judge.registry.packaged import DEFAULT_DRAFT, DEFAULT_TARGET, cache_dir, load_model, load_tokenizer
from hf_judge.training.data import _continuation_budget, _continue_batch, _plan_item, _substituted, preservation
from hf_judge.training.features import extract
from hf_judge.training.open_prompts import open_prompts
from hf_judge.training.records import append_record, read_records
from hf_judge.training.trainer import head_proba, roc_auc, roc_auc_interval

TOLERANCES = (0.0, 0.1, 0.25, 0.5)
CUTS = {"head": None, "top-k": 0.4, "ratio": 0.3, "entropy": 0.3}  # usual cuts (head: its own; 1 / rank > 0.4: top-k:2)


def label_prompt(target, draft, tok, grader, head, item: dict, args) -> dict:
    """One prompt's record: the target's answer and rating, and per substitution its rating and scores."""
    plan = _plan_item(
        target,
        draft,
        tok,
        item,
        checker=None,
        max_new_tokens=args.max_new_tokens,
        max_mismatches=args.max_mismatches,
        instruction="",
        use_draft=True,
    )
    subs = sorted(plan["subs_to"])  # (a substituted eos would end the answer: left out)
    conts = _continue_batch(
        target,
        tok,
        [_substituted(plan, i) for i in subs],
        [_continuation_budget(args.max_new_tokens, i + 1) for i in subs],
    )
    q, ref = item["question"], plan["ref"]
    own = tok.decode(ref, skip_special_tokens=True)
    base = grader.rating(q, own)
    rows = [{"input_ids": _substituted(plan, i), "positions": [len(plan["p"]) + i], "labels": [0]} for i in subs]
    # the hidden states are kept in the features cache, for a probe trained on these labels to read back
    f = extract(
        target, Dataset.from_list(rows), progress=False, cache=cache_dir() / "features", layer=head.config.hidden_layer
    )
    scores = {"head": head_proba(head, f.X, f.F), **f.rules}  # each (len(subs),)
    drops = preservation(target, plan["p"], ref, plan["subs_to"], args.window)
    out = []
    for j, (i, cont) in enumerate(zip(subs, conts, strict=True)):
        text = tok.decode(ref[:i] + [plan["d_pred"][i]] + cont, skip_special_tokens=True)
        same = text.strip() == own.strip()
        rating = base if same else grader.rating(q, text)
        out.append(
            {
                "position": i,
                "target_token": tok.decode([ref[i]]),
                "draft_token": tok.decode([plan["d_pred"][i]]),
                "draft_id": plan["d_pred"][i],
                "same_text": same,
                "rating": rating,
                "delta": rating - base,
                "scores": {k: float(v[j]) for k, v in scores.items()},
                "preservation_drop": drops.get(i),
                "text": text,
            }
        )
    return {
        "question": q,
        "answer": own,
        "rating": base,
        "mismatches": len(plan["mism"]),
        "prompt_ids": plan["p"],
        "answer_ids": ref,
        "subs": out,
    }


def prompt_share(delta: torch.Tensor, groups: torch.Tensor) -> float:
    """The share of the rating changes' variance that lies between prompts (eta squared): near 1, a
    substitution's change says more about its prompt than about the token put in."""
    total = ((delta - delta.mean()) ** 2).sum()
    between = sum((groups == g).sum() * (delta[groups == g].mean() - delta.mean()) ** 2 for g in groups.unique())
    return float(between / total) if total > 0 else float("nan")


def _concordant(score: torch.Tensor, delta: torch.Tensor) -> tuple[float, int]:
    """(pairs ordered as the rating changes are, ties of score as half; pairs with different changes)."""
    ds = score[:, None] - score[None, :]  # (n, n)
    dd = delta[:, None] - delta[None, :]  # (n, n)
    pairs = dd > 0  # each pair once: the first with the larger change
    won = (ds[pairs] > 0).float().sum() + 0.5 * (ds[pairs] == 0).float().sum()
    return float(won), int(pairs.sum())


def concordance(score, delta, groups, resamples: int = 2000, seed: int = 0) -> tuple[float, list[float]] | None:
    """How often, of two substitutions in one prompt, the one that lowers the rating less scores higher
    (0.5 is chance; the prompts' own levels of change are left out), and
    its 95% interval, a bootstrap over the prompts; None without a pair."""
    per = [_concordant(score[groups == g], delta[groups == g]) for g in groups.unique()]
    won, n = torch.tensor([w for w, _ in per]), torch.tensor([float(k) for _, k in per])  # (G,) each
    if n.sum() == 0:
        return None
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randint(len(per), (resamples, len(per)), generator=gen)  # (R, G)
    boot = won[pick].sum(1) / n[pick].sum(1).clamp_min(1)  # (R,)
    lo, hi = boot.quantile(torch.tensor([0.025, 0.975])).tolist()
    return float(won.sum() / n.sum()), [lo, hi]


def report(records: list[dict], cuts: dict, floor: float = 0.0) -> dict:
    """Per score, ROC-AUC for the label ``delta >= -t`` at each tolerance, and what keeping at its cut keeps (the
    head's also under its plausibility ``floor``: no token with a probability ratio at most that)."""
    subs = [s for r in records for s in r["subs"]]
    delta = torch.tensor([s["delta"] for s in subs])  # (N,)
    scores = {k: torch.tensor([s["scores"][k] for s in subs]) for k in cuts}
    has_drop = torch.tensor([s["preservation_drop"] is not None for s in subs])
    scores["-preservation_drop"] = torch.tensor([-(s["preservation_drop"] or 0.0) for s in subs])
    out = {"substitutions": len(subs), "prompts": len(records), "same_text": sum(s["same_text"] for s in subs)}
    out["delta_quantiles"] = (
        {str(q): float(delta.quantile(q)) for q in (0.1, 0.25, 0.5, 0.75, 0.9)} if len(subs) else {}
    )
    out["kept_share"] = {str(t): float((delta >= -t).float().mean()) for t in TOLERANCES} if len(subs) else {}
    out["lowered"] = {str(t): int((delta < -t).sum()) for t in TOLERANCES}  # the label's negatives
    groups = torch.tensor([k for k, r in enumerate(records) for _ in r["subs"]])  # (N,) each one's prompt
    out["prompt_share"] = prompt_share(delta, groups) if len(subs) else None
    out["roc_auc"], out["roc_auc_interval"], out["within_prompt"] = {}, {}, {}
    for name, s in scores.items():
        where = has_drop if name == "-preservation_drop" else torch.ones_like(has_drop)
        got = concordance(s[where], delta[where], groups[where])
        out["within_prompt"][name] = None if got is None else {"concordance": got[0], "interval": got[1]}
        ys = {t: (delta[where] >= -t).float() for t in TOLERANCES}  # (n,) each
        both = {t: y for t, y in ys.items() if 0 < y.sum() < len(y)}  # an AUC needs both classes
        out["roc_auc"][name] = {str(t): roc_auc(s[where], both[t]) if t in both else None for t in TOLERANCES}
        cis = {t: roc_auc_interval(s[where], y) for t, y in both.items()}  # (nan, nan) with one of a class
        out["roc_auc_interval"][name] = {
            str(t): list(cis[t]) if t in cis and not math.isnan(cis[t][0]) else None for t in TOLERANCES
        }
    out["at_cut"] = {}
    for name, cut in cuts.items():
        kept = scores[name] > cut  # (N,) what the rule keeps (strictly above its threshold, as the accept rule)
        if name == "head" and floor > 0:  # as verify: a floor of 0 is none
            kept &= scores["ratio"] > floor
        out["at_cut"][name] = {
            "cut": cut if name != "head" else f"{cut}/r{floor}",
            "kept": int(kept.sum()),
            "mean_delta_kept": float(delta[kept].mean()) if kept.any() else None,
            "mean_delta_rejected": float(delta[~kept].mean()) if (~kept).any() else None,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-prompts", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", default="train", help="open_prompts split (none of them is an MT-Bench prompt)")
    ap.add_argument("--max-mismatches", type=int, default=6)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--head", default="default")
    ap.add_argument("--target", default=DEFAULT_TARGET)
    ap.add_argument("--draft", default=DEFAULT_DRAFT)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--draft-quant", default="auto", help="as hf-judge's --draft-quant (the bench's draft proposes)")
    ap.add_argument("--cpu-linear", default="auto", help="as hf-judge's --cpu-linear")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dtype = resolve_dtype(args.dtype)
    target = load_model(args.target, dtype=dtype, cpu_linear=args.cpu_linear)
    draft = load_model(args.draft, dtype=dtype, quant=args.draft_quant, cpu_linear=args.cpu_linear)
    tok, head = load_tokenizer(args.target), load_judge(args.head, target=args.target)
    grader = RatingGrader(target, tok, cache=out / RatingGrader.cache_name)
    settings = {k: v for k, v in vars(args).items() if k != "n_prompts"}
    path = out / "records.jsonl"
    records = read_records(path)
    if records and records[0] != {"settings": settings}:
        raise SystemExit(f"{path} was written with {records[0]}, not {settings}: use another --out")
    done = {r["index"] for r in records[1:]}
    items = open_prompts(args.n_prompts, seed=args.seed, split=args.split)
    for r in records[1:]:  # a record names its prompt by index: the same index must still be the same prompt
        if r["index"] < len(items) and r["question"] != items[r["index"]]["question"]:
            raise SystemExit(f"{path}: prompt {r['index']} was {r['question'][:60]!r}, now another: use another --out")
    t0 = time.perf_counter()
    with open(path, "a") as log:
        if not records:
            append_record(log, {"settings": settings})
        for k in tqdm([k for k in range(len(items)) if k not in done], desc="rating labels"):
            t = time.perf_counter()
            rec = label_prompt(target, draft, tok, grader, head, items[k], args)
            append_record(log, {"index": k, **rec, "seconds": time.perf_counter() - t})
    records = read_records(path)[1:]
    cuts = {**CUTS, "head": head.config.threshold}
    res = {
        "command": "python benchmarks/rating_labels.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "environment": environment(target),
        **report(records, cuts, head.min_ratio),
        "seconds_per_prompt": sum(r["seconds"] for r in records) / max(1, len(records)),
        "seconds_this_run": time.perf_counter() - t0,
    }
    (out / "report.json").write_text(json.dumps(res, indent=2))
    print(json.dumps({k: v for k, v in res.items() if k != "environment"}, indent=2))


if __name__ == "__main__":
    main()
