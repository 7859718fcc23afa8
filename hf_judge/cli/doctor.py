"""``hf-judge doctor``: the limit meter for a pair on this machine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..core.verify import check_threshold
from .common import add_model_args, load_models, prompt_tensor

__all__ = ["add_doctor_command", "limit_report"]


def limit_report(costs, k: int, rows: dict[str, dict]) -> str:
    """Achieved speedups next to what the measured costs allow at this k, one line per method (rows as
    :func:`hf_judge.bench.report.add_limits` leaves them)."""
    lines = [
        f"limit meter (k={k}): c = {costs.c:.3f}, beta_{k} = {costs.beta(k):.3f}, step cost = "
        f"{costs.step_cost(k):.2f} target tokens, cap = {costs.cap(k):.2f}x (every draft token kept)"
    ]
    for name, r in rows.items():
        if "of_cap" in r:
            lines.append(
                f"  {name:<8} {r['tokens_per_step']:.2f} tokens/step -> predicted {r['predicted']:.2f}x, achieved "
                f"{r['speedup_vs_target']:.2f}x = {r['of_cap']:.0%} of the cap, "
                f"{r['of_predicted']:.0%} of the prediction"
            )
    return "\n".join(lines)


def cmd_doctor(args) -> int:
    from ..bench.limit import measure_costs
    from ..bench.runner import run_method
    from .run import DEMO_PROMPTS

    if args.acceptance is not None:
        check_threshold(args.acceptance, "--acceptance")
    if args.out:  # made before minutes of measurement, not found missing after them
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    tok, target, draft, _ = load_models(args, need_judge=False)
    ks = tuple(sorted({1, 2, 4, 6, 8, 12, 16, args.num_assistant_tokens}))
    print("measuring cached forwards ...", file=sys.stderr)
    costs = measure_costs(target, draft, prompt_len=args.prompt_len, ks=ks, repeats=args.repeats)
    acceptance = args.acceptance
    if acceptance is None:  # measure it: standard SD on a built-in prompt
        res = run_method(
            "sd",
            target,
            prompt_tensor(tok, DEMO_PROMPTS[0]).to(args.device),
            draft=draft,
            num_assistant_tokens=8,
            max_new_tokens=64,
            do_sample=False,
        )
        acceptance = res.acceptance.acceptance_rate
        print(f"per-token acceptance of standard SD on a built-in prompt (k=8): {acceptance:.2f}")
    print(costs.table(acceptance))
    if args.out:
        Path(args.out).write_text(json.dumps({"costs": costs.as_dict(), "acceptance": acceptance}, indent=2))
    return 0


def add_doctor_command(sub) -> None:
    p = sub.add_parser("doctor", help="the limit meter: draft and verification costs, the speedup cap, the best k")
    add_model_args(p, judge=False)
    p.add_argument("--prompt-len", type=int, default=200, help="context length of the timed forwards")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per measurement (median)")
    p.add_argument("--acceptance", type=float, help="per-token acceptance to plan for (default: measured)")
    p.add_argument("--out", help="write the measurements as JSON")
    p.set_defaults(func=cmd_doctor)
