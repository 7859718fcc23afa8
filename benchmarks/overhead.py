"""Per-step overhead of the judge path against stock assisted generation, measured in one run.

Both run greedy on the same prompts with the same draft length; the judge never accepts
(threshold 1.0), so both produce the same tokens with the same number of target forwards and
the difference is the cost of hf_judge's loop plus the judge head. Reports the ratio of
seconds per target forward (judge path / stock), alternating the two to spread noise.

    python benchmarks/overhead.py --target qwen2.5-coder-1.5b-instruct --draft qwen2.5-coder-0.5b-instruct
"""

import argparse
import statistics

import torch

from hf_judge import JudgeHead, JudgeHeadConfig
from hf_judge.bench.runner import run_method
from hf_judge.cli.common import prompt_tensor
from hf_judge.cli.run import DEMO_PROMPTS
from hf_judge.registry.packaged import load_model, load_tokenizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--draft", default="qwen2.5-coder-0.5b-instruct")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--dtype", default="bfloat16", choices=["float32", "bfloat16", "float16"])
    args = ap.parse_args()

    tok = load_tokenizer(args.target)
    dtype = getattr(torch, args.dtype)
    target, draft = load_model(args.target, dtype=dtype), load_model(args.draft, dtype=dtype)
    never = JudgeHead(JudgeHeadConfig(hidden_size=target.config.hidden_size, threshold=1.0))
    warm = prompt_tensor(tok, "Hi")
    for m in ("sd", "judge"):
        run_method(m, target, warm, draft=draft, judge=never, num_assistant_tokens=args.k, max_new_tokens=4)

    per_step = {"sd": [], "judge": []}
    for _ in range(args.repeats):
        for text in DEMO_PROMPTS:
            ids = prompt_tensor(tok, text)
            out = {}
            for m in ("sd", "judge"):
                r = run_method(
                    m,
                    target,
                    ids,
                    draft=draft,
                    judge=never,
                    num_assistant_tokens=args.k,
                    max_new_tokens=args.max_new_tokens,
                )
                per_step[m].append(r.seconds / r.acceptance.steps)
                out[m] = r
            same = out["sd"].new_ids == out["judge"].new_ids
            print(
                f"{text[:40]!r:44} stock {per_step['sd'][-1] * 1e3:7.1f} ms/step  judge path "
                f"{per_step['judge'][-1] * 1e3:7.1f} ms/step  forwards {out['sd'].acceptance.steps}/"
                f"{out['judge'].acceptance.steps}  same tokens: {same}"
            )
    ratio = statistics.median(j / s for j, s in zip(per_step["judge"], per_step["sd"], strict=True))
    print(
        f"\nmedian per-step time ratio, judge path / stock assisted generation: {ratio:.3f} "
        f"({torch.get_num_threads()} threads, {next(target.parameters()).dtype})"
    )


if __name__ == "__main__":
    main()
