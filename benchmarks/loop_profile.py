"""Where a judge-decoding step spends its time: model forwards vs everything else (the loop's own work).

    python benchmarks/loop_profile.py --out benchmarks/results/loop_profile.json

Times every forward of the target, the draft and the judge with hooks while judge decoding runs on the
demo's prompts; the rest of each call (logits processors, the accept rule, cache crops, bookkeeping) is
the loop's overhead. The goal: under 3% of a step.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import torch
import transformers

from hf_judge.bench.runner import run_method
from hf_judge.cli.common import prompt_tensor
from hf_judge.cli.run import DEMO_PROMPTS
from hf_judge.registry.judges import load_judge
from hf_judge.registry.packaged import DEFAULT_DRAFT, DEFAULT_TARGET, load_model, load_tokenizer


def timed(model, bucket: list[float]):
    """Accumulate the wall time of every forward of ``model`` into ``bucket[0]``."""
    start = {}

    def pre(*_):
        start["t"] = time.perf_counter()

    def post(*_):
        bucket[0] += time.perf_counter() - start["t"]

    return model.register_forward_pre_hook(pre), model.register_forward_hook(post)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("-k", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.add_argument("--draft-quant", default="int8")
    args = p.parse_args()
    tok = load_tokenizer(DEFAULT_TARGET)
    target = load_model(DEFAULT_TARGET, cpu_linear="auto")
    draft = load_model(DEFAULT_DRAFT, cpu_linear="auto", quant=args.draft_quant)
    judge = load_judge("default", target=DEFAULT_TARGET)
    run_method("judge", target, prompt_tensor(tok, "Hi"), draft=draft, judge=judge, max_new_tokens=4)
    buckets = {"target": [0.0], "draft": [0.0], "judge": [0.0]}
    hooks = [*timed(target, buckets["target"]), *timed(draft, buckets["draft"]), *timed(judge, buckets["judge"])]
    total, steps = 0.0, 0
    for text in DEMO_PROMPTS:
        r = run_method(
            "judge",
            target,
            prompt_tensor(tok, text),
            draft=draft,
            judge=judge,
            num_assistant_tokens=args.k,
            max_new_tokens=args.max_new_tokens,
            do_sample=False,
        )
        total += r.seconds
        steps += r.acceptance.steps
    for h in hooks:
        h.remove()
    forwards = sum(b[0] for b in buckets.values())
    result = {
        "command": " ".join(["python", *sys.argv]),
        "environment": {
            "device": f"cpu ({torch.get_num_threads()} threads)",
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
        "steps": steps,
        "seconds": total,
        "ms_per_step": {k: 1e3 * b[0] / steps for k, b in buckets.items()} | {"total": 1e3 * total / steps},
        "overhead_share": (total - forwards) / total,
    }
    print(json.dumps(result, indent=1))
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
