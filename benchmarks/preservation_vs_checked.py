"""Does the open-ended label agree with a checked one? Preservation against checked labels on math data.

Open-ended judge data are labelled by :func:`hf_judge.training.data.preservation` (the drop in the
target's likelihood of its own next tokens after a draft token is substituted), since nothing in
the answer can be checked. On the math-steps shards every substitution also has a checked label
(the target's continuation still reaches the right boxed answer). This script computes the
preservation drop of every such substitution and reports how well it predicts the checked label
(ROC-AUC of -drop) and the agreement at each tolerance.

python benchmarks/preservation_vs_checked.py --data data/judge/math-steps/seed-1000 \
    --out benchmarks/results/preservation_vs_checked.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import torch
from tqdm.auto import tqdm

from hf_judge.bench.suite import environment
from hf_judge.registry.hardware import resolve_dtype
from hf_judge.registry.packaged import DEFAULT_TARGET, load_model
from hf_judge.training.data import load_dataset_dir, preservation
from hf_judge.training.split import question_groups
from hf_judge.training.trainer import roc_auc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--target", default=DEFAULT_TARGET)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    dtype = resolve_dtype(args.dtype)
    target = load_model(args.target, dtype=dtype)
    ds = load_dataset_dir(args.data)
    groups = question_groups(ds)
    full = {g: ids for ids, src, g in zip(ds["input_ids"], ds["source"], groups, strict=True) if src == "auto:target"}
    subs = defaultdict(list)  # question -> (position in its answer sequence, draft token, checked label)
    for ids, src, lab, g in zip(ds["input_ids"], ds["source"], ds["labels"], groups, strict=True):
        if src == "auto:mismatch" and g in full:
            subs[g].append((len(ids) - 1, ids[-1], lab[0]))
    drops, labels = [], []
    t0 = time.perf_counter()
    for g, items in tqdm(subs.items(), desc="preservation"):
        start = min(pos for pos, _, _ in items)
        seq = full[g]
        got = preservation(target, seq[:start], seq[start:], {pos - start: d for pos, d, _ in items}, args.window)
        for pos, _, lab in items:
            if pos - start in got:
                drops.append(got[pos - start])
                labels.append(lab)
    d, y = torch.tensor(drops), torch.tensor(labels, dtype=torch.float32)
    tolerances = [0.1, 0.25, 0.5, 1.0, 2.0]
    res = {
        "command": "python benchmarks/preservation_vs_checked.py "
        + " ".join(
            f"--{k.replace('_', '-')} {' '.join(v) if isinstance(v, list) else v}" for k, v in vars(args).items()
        ),
        "environment": environment(target),
        "substitutions": len(y),
        "checked_errors": int((y == 0).sum()),
        "roc_auc_of_minus_drop": roc_auc(-d, y),
        "agreement": {
            str(t): {
                "accuracy": float(((d <= t).float() == y).float().mean()),
                "errors_caught": float((d[y == 0] > t).float().mean()) if (y == 0).any() else float("nan"),
                "acceptable_kept": float((d[y == 1] <= t).float().mean()) if (y == 1).any() else float("nan"),
            }
            for t in tolerances
        },
        "seconds": time.perf_counter() - t0,
    }
    with open(args.out, "w") as f:
        json.dump(res, f, indent=2)
    print(json.dumps({k: v for k, v in res.items() if k != "environment"}, indent=2))


if __name__ == "__main__":
    main()
