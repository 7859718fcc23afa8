"""Speed of the default pair on this machine: the landed defaults against the new ones, in one run.

    python benchmarks/speed_cpu.py --out benchmarks/results/speed_cpu.json

Each configuration loads the pair its way, then runs target alone, standard SD and judge decoding
(greedy) on the demo's prompts; the limit meter measures c and beta for it. Quality beside speed: the
answers of every method are stored, and for greedy decoding the tokens of SD must equal the target's.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import sys
import time

import torch
import transformers

from hf_judge.bench.limit import measure_costs
from hf_judge.bench.report import aggregate
from hf_judge.bench.runner import run_method
from hf_judge.bench.suite import head_id
from hf_judge.cli.common import prompt_tensor
from hf_judge.cli.run import DEMO_PROMPTS
from hf_judge.registry.judges import load_judge
from hf_judge.registry.packaged import DEFAULT_DRAFT, DEFAULT_TARGET, load_model, load_tokenizer

CONFIGS = {
    # the defaults that had landed: bfloat16, stock kernels, float draft, k=5
    "before": {"dtype": torch.bfloat16, "cpu_linear": "stock", "quant": "none", "points": [(5, 0.0)]},
    # float32 on oneDNN kernels, int8 draft; k and the draft-confidence stop swept to pick the defaults
    "after": {
        "dtype": torch.float32,
        "cpu_linear": "onednn",
        "quant": "int8",
        "points": [(5, 0.0), (8, 0.0), (12, 0.0), (5, 0.4), (8, 0.4), (12, 0.4)],
    },
}


def run_config(name, cfg, tok, judge, max_new_tokens):
    target = load_model(DEFAULT_TARGET, dtype=cfg["dtype"], cpu_linear=cfg["cpu_linear"])
    draft = load_model(DEFAULT_DRAFT, dtype=cfg["dtype"], cpu_linear=cfg["cpu_linear"], quant=cfg["quant"])
    prompts = [prompt_tensor(tok, p) for p in DEMO_PROMPTS]
    warm = prompt_tensor(tok, "Hi")
    for m in ("target", "sd", "judge"):
        run_method(m, target, warm, draft=draft, judge=judge, max_new_tokens=4, do_sample=False)
    out = {"settings": {k: str(v) for k, v in cfg.items() if k != "points"}, "points": {}}
    base = [run_method("target", target, ids, max_new_tokens=max_new_tokens, do_sample=False) for ids in prompts]
    out["target"] = {**aggregate(base), "texts": [tok.decode(r.new_ids, skip_special_tokens=True) for r in base]}
    ks = sorted({k for k, _ in cfg["points"]})
    costs = measure_costs(target, draft, ks=tuple(ks), repeats=3)
    out["costs"] = costs.as_dict()
    for k, conf in cfg["points"]:
        for method in ("sd", "judge"):
            runs = [
                run_method(
                    method,
                    target,
                    ids,
                    draft=draft,
                    judge=judge,
                    num_assistant_tokens=k,
                    assistant_confidence_threshold=conf,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                )
                for ids in prompts
            ]
            row = aggregate(runs)
            row["speedup_vs_target"] = row["tokens_per_s"] / out["target"]["tokens_per_s"]
            row["cap"] = costs.cap(k)
            row["predicted"] = costs.predicted(k, row["tokens_per_step"])
            row["same_tokens_as_target"] = [r.new_ids == b.new_ids for r, b in zip(runs, base, strict=True)]
            row["texts"] = [tok.decode(r.new_ids, skip_special_tokens=True) for r in runs]
            out["points"][f"{method} k={k} conf={conf}"] = row
            print(
                f"{name:>6} {method:>5} k={k:<2} conf={conf}: {row['tokens_per_s']:.2f} tok/s, "
                f"{row['speedup_vs_target']:.2f}x target, {row['tokens_per_step']:.2f} tok/step, "
                f"cap {row['cap']:.2f}x, same tokens as target {row['same_tokens_as_target']}",
                flush=True,
            )
    out["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    del target, draft
    gc.collect()
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.add_argument("--configs", nargs="+", default=list(CONFIGS))
    p.add_argument("--judge", default="default", help="judge head: a folder, or 'default' (the shipped head)")
    args = p.parse_args()
    tok = load_tokenizer(DEFAULT_TARGET)
    judge = load_judge(args.judge, target=DEFAULT_TARGET)
    t0 = time.time()
    result = {
        "command": " ".join(["python", *sys.argv]),
        "environment": {
            "device": f"cpu ({torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()})",
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
        "max_new_tokens": args.max_new_tokens,
        "judge": {"head": args.judge, "id": head_id(judge), "threshold": judge.threshold, "min_ratio": judge.min_ratio},
        "configs": {},
    }
    for name in args.configs:
        result["configs"][name] = run_config(name, CONFIGS[name], tok, judge, args.max_new_tokens)
        result["seconds"] = time.time() - t0
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
