"""The ``hf-judge`` command line."""

from __future__ import annotations

import argparse
import sys

from .errors import InputError

__all__ = ["main"]

DEMO_PROMPTS = (
    "Write a Python function `is_prime(n)` that returns True if n is a prime number.",
    "Write a Python function that returns the n-th Fibonacci number iteratively.",
    "Tom has 12 apples. He gives 5 to Anna and buys 7 more. How many apples does he have now?",
)


def _add_models(p: argparse.ArgumentParser, judge: bool = True) -> None:
    from .models import DEFAULT_DRAFT, DEFAULT_TARGET

    p.add_argument("--target", default=DEFAULT_TARGET, help="target: alias, Hub id or path (default: %(default)s)")
    p.add_argument("--draft", default=DEFAULT_DRAFT, help="draft: alias, Hub id or path (default: %(default)s)")
    if judge:
        p.add_argument("--judge", default="default", help="judge head: path, Hub repo, or 'default' (shipped head)")
        p.add_argument("--threshold", type=float, default=None, help="judge threshold (default: the head's own)")
    p.add_argument("-k", "--draft-tokens", type=int, default=5, help="draft tokens per step (default: %(default)s)")
    p.add_argument(
        "--dtype",
        default="bfloat16",
        choices=["float32", "bfloat16", "float16"],
        help="model dtype (default: %(default)s, the fastest on CPU too; float32 for bit-exact comparisons)",
    )
    p.add_argument("--device", default="cpu", help="torch device (default: %(default)s)")


def _load(args, need_judge: bool = True):
    import torch

    from .decoding import check_judge_fits
    from .heads import load_judge
    from .models import check_tokenizers, load_model, load_tokenizer, validate_name

    dtype = getattr(torch, args.dtype)
    validate_name(args.target)
    validate_name(args.draft)
    judge = load_judge(args.judge, target=args.target).to(args.device) if need_judge else None  # cheap: first
    tok = load_tokenizer(args.target)
    check_tokenizers(tok, load_tokenizer(args.draft))
    target = load_model(args.target, dtype=dtype, device=args.device)
    draft = load_model(args.draft, dtype=dtype, device=args.device)
    if judge is not None:
        check_judge_fits(judge, target)
    return tok, target, draft, judge


def _prompt_ids(tok, text: str, chat: bool = True):
    if chat and tok.chat_template:
        return tok.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True, return_tensors="pt", return_dict=True
        )["input_ids"]
    return tok(text, return_tensors="pt")["input_ids"]


def cmd_generate(args) -> int:
    from transformers import TextStreamer

    from .runner import run_method

    tok, target, draft, judge = _load(args)
    ids = _prompt_ids(tok, args.prompt, chat=not args.no_chat).to(args.device)
    streamer = TextStreamer(tok, skip_prompt=True, skip_special_tokens=True)
    kw = {"do_sample": True, "temperature": args.temperature} if args.sample else {"do_sample": False}
    res = run_method(
        "judge",
        target,
        ids,
        draft=draft,
        judge=judge,
        k=args.draft_tokens,
        threshold=args.threshold,
        max_new_tokens=args.max_new_tokens,
        streamer=streamer,
        **kw,
    )
    print(
        f"\n[{res.new_tokens} tokens in {res.seconds:.1f}s = {res.tokens_per_s:.1f} tok/s | "
        f"{res.target_forwards} target forwards, {res.accepted_per_step:.2f} accepted/step "
        f"({res.accepted - res.judge_only} by the target, {res.judge_only} by the judge only)]",
        file=sys.stderr,
    )
    return 0


def cmd_demo(args) -> int:
    from .report import side_by_side
    from .runner import run_method

    tok, target, draft, judge = _load(args)
    prompts = args.prompt or list(DEMO_PROMPTS)
    warm = _prompt_ids(tok, "Hi").to(args.device)
    for m in ("target", "sd", "judge"):  # warm-up, not measured
        run_method(m, target, warm, draft=draft, judge=judge, k=args.draft_tokens, max_new_tokens=4)
    rows = []
    for i, text in enumerate(prompts, 1):
        ids = _prompt_ids(tok, text).to(args.device)
        results = {
            m: run_method(
                m,
                target,
                ids,
                draft=draft,
                judge=judge,
                k=args.draft_tokens,
                threshold=args.threshold,
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hf-judge",
        description="Judge decoding for Hugging Face transformers: speculative decoding that also keeps draft "
        "tokens a learned judge head scores correct.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("generate", help="stream one answer with judge decoding, then acceptance statistics")
    p.add_argument("prompt", help="the user prompt")
    _add_models(p)
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--no-chat", action="store_true", help="do not apply the chat template")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("demo", help="the main job: target alone vs standard SD vs judge decoding, side by side")
    _add_models(p)
    p.add_argument("--prompt", action="append", help="a prompt (repeatable; default: three built-in prompts)")
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.set_defaults(func=cmd_demo)

    from .bench import add_bench_command
    from .train_cli import add_train_commands

    add_train_commands(sub)
    add_bench_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (InputError, OSError) as e:  # bad input or environment; anything else is a bug: let it surface
        print(f"hf-judge: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
