"""Which features make the better judge? Held-out test ROC-AUC of heads trained on each, one run.

- ``target``: the target's last hidden state at the draft token (the paper's judge);
- ``target+draft_prev``: and the draft's last hidden state at the position that proposed the token
  (AutoJudge-style; the decoding loop has it for every draft token);
- ``target+draft``: and the draft's last hidden state at the token itself;
- ``target+rules``: and the free rules' scores at the token (log 1/rank, log probability ratio, gated
  entropy: what the verification forward's logits already say).

The free rules themselves (top-k, probability ratio, entropy-gated; no training) are scored on the same
test positions: a trained head that does not beat them has no reason to exist.

Same data, same split by question (train / validation / test), same trainer; the test split is
reported only. python benchmarks/judge_features.py --data data/judge/math-steps/seed-* \
    --out benchmarks/results/judge_features.json
"""

from __future__ import annotations

import argparse
import json

import torch
from tqdm.auto import tqdm

from hf_judge.bench.suite import environment
from hf_judge.core import _compat
from hf_judge.registry.hardware import resolve_dtype
from hf_judge.registry.packaged import DEFAULT_DRAFT, DEFAULT_TARGET, cache_dir, load_model
from hf_judge.training.data import load_dataset_dir
from hf_judge.training.features import extract
from hf_judge.training.split import disagreements, position_split, split_by_question
from hf_judge.training.trainer import TrainConfig, rules_auc, train_head


@torch.no_grad()
def draft_states(draft, ds) -> tuple[torch.Tensor, torch.Tensor]:
    """The draft's last hidden state at each labelled position and at the one before it: (N, Hd) each."""
    at, before = [], []
    for ex in tqdm(ds, desc="draft features"):
        pos = torch.as_tensor(ex["positions"], dtype=torch.long)
        hidden = _compat.last_hidden_states(draft, torch.tensor([ex["input_ids"]]))[0].float()  # (T, Hd)
        at.append(hidden[pos])
        before.append(hidden[pos - 1])
    return torch.cat(at), torch.cat(before)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--head-type", default="linear", choices=["linear", "mlp"])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    dtype = resolve_dtype(args.dtype)
    ds = load_dataset_dir(args.data)
    target = load_model(DEFAULT_TARGET, dtype=dtype)
    feats = extract(target, ds, cache=cache_dir() / "features")
    X, y, rows = feats.X, feats.y, feats.rows
    del target
    draft = load_model(DEFAULT_DRAFT, dtype=dtype)
    d_at, d_before = draft_states(draft, ds)
    split = position_split(split_by_question(ds), rows)  # (N,)
    disagreement = disagreements(ds, rows)  # (N,)
    logs = torch.stack([feats.rules[r].clamp_min(1e-6).log() for r in ("top-k", "ratio", "entropy")], 1)  # (N, 3)
    sets = {
        "target": X,
        "target+draft_prev": torch.cat([X, d_before], 1),
        "target+draft": torch.cat([X, d_at], 1),
        "target+rules": torch.cat([X, logs], 1),
    }
    results = {}
    for name, feats in sets.items():
        _, rep = train_head(
            feats,
            y,
            rows,
            TrainConfig(head_type=args.head_type),
            split=split,
            disagreement=disagreement,
            progress=False,
        )
        results[name] = {"val": rep.val, "test": rep.test, "test_disagreements": rep.test_disagreements}
        print(name, json.dumps({k: v and round(v["roc_auc"], 4) for k, v in results[name].items()}))
    out = {
        "command": f"python benchmarks/judge_features.py --data {' '.join(args.data)} --dtype {args.dtype} "
        f"--head-type {args.head_type} --out {args.out}",
        "environment": environment(draft),
        "positions": {s: int((split == i).sum()) for i, s in enumerate(("train", "val", "test"))},
        "disagreements": {s: int(((split == i) & disagreement).sum()) for i, s in enumerate(("train", "val", "test"))},
        "results": results,
        "free_rules": rules_auc(feats.rules, y, split == 2, disagreement),
    }
    print("free rules", json.dumps(out["free_rules"]))
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
