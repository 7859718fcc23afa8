"""``hf-judge generate`` and ``hf-judge demo``."""

from __future__ import annotations

import sys

from .common import add_model_args, load_models, prompt_tensor

__all__ = ["DEMO_PROMPTS", "add_run_commands"]

DEMO_PROMPTS = (
    "Write a Python function `is_prime(n)` that returns True if n is a prime number.",
    "Write a Python function that returns the n-th Fibonacci number iteratively.",
    "Tom has 12 apples. He gives 5 to Anna and buys 7 more. How many apples does he have now?",
)


def cmd_generate(args) -> int:
    from transformers import TextStreamer

    from ..bench.runner import run_method

    tok, target, draft, judge = load_models(args)
    ids = prompt_tensor(tok, args.prompt, chat=not args.no_chat).to(args.device)
    streamer = TextStreamer(tok, skip_prompt=True, skip_special_tokens=True)
    kw = {"do_sample": True, "temperature": args.temperature} if args.sample else {"do_sample": False}
    res = run_method(
        "judge",
        target,
        ids,
        draft=draft,
        judge=judge,
        num_assistant_tokens=args.num_assistant_tokens,
        judge_threshold=args.judge_threshold,
        max_new_tokens=args.max_new_tokens,
        streamer=streamer,
        **kw,
    )
    print(f"\n[{res.new_tokens} tokens in {res.seconds:.1f}s = {res.tokens_per_s:.1f} tok/s]", file=sys.stderr)
    print(f"[{res.acceptance.report()}]", file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    from ..bench.report import side_by_side
    from ..bench.runner import run_method

    tok, target, draft, judge = load_models(args)
    prompts = args.prompt or list(DEMO_PROMPTS)
    warm = prompt_tensor(tok, "Hi").to(args.device)
    for m in ("target", "sd", "judge"):  # warm-up, not measured
        run_method(
            m, target, warm, draft=draft, judge=judge, num_assistant_tokens=args.num_assistant_tokens, max_new_tokens=4
        )
    rows = []
    for i, text in enumerate(prompts, 1):
        ids = prompt_tensor(tok, text).to(args.device)
        results = {
            m: run_method(
                m,
                target,
                ids,
                draft=draft,
                judge=judge,
                num_assistant_tokens=args.num_assistant_tokens,
                judge_threshold=args.judge_threshold,
                max_new_tokens=args.max_new_tokens,
                do_sample=False,
            )
            for m in ("target", "sd", "judge")
        }
        print(f"\n### prompt {i}: {text}")
        for m, r in results.items():
            print(f"--- {m}: {tok.decode(r.new_ids, skip_special_tokens=True).strip()[:400]}")
        rows.append(results)
    print()
    print(side_by_side(rows))
    return 0


def add_run_commands(sub) -> None:
    p = sub.add_parser("generate", help="stream one answer with judge decoding, then acceptance statistics")
    p.add_argument("prompt", help="the user prompt")
    add_model_args(p)
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--no-chat", action="store_true", help="do not apply the chat template")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("demo", help="the main job: target alone vs standard SD vs judge decoding, side by side")
    add_model_args(p)
    p.add_argument("--prompt", action="append", help="a prompt (repeatable; default: three built-in prompts)")
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.set_defaults(func=cmd_demo)
