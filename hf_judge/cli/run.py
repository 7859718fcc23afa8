"""``hf-judge generate`` and ``hf-judge demo``."""

from __future__ import annotations

import sys

from ..core.errors import InputError
from .common import add_min_ratio_arg, add_model_args, load_models, positive_float, positive_int, prompt_tensor

__all__ = ["DEMO_PROMPTS", "add_run_commands"]

DEMO_PROMPTS = (
    "Write a Python function `is_prime(n)` that returns True if n is a prime number.",
    "Write a Python function that returns the n-th Fibonacci number iteratively.",
    "Tom has 12 apples. He gives 5 to Anna and buys 7 more. How many apples does he have now?",
)


def cmd_generate(args) -> int:
    from transformers import TextStreamer

    from ..bench.runner import run_method

    if args.temperature is not None and not args.sample:
        raise InputError(f"--temperature {args.temperature} applies to sampling: pass --sample too (greedy has none)")
    tok, target, draft, judge = load_models(args)
    ids = prompt_tensor(tok, args.prompt, chat=not args.no_chat).to(args.device)
    streamer = TextStreamer(tok, skip_prompt=True, skip_special_tokens=True)
    kw = {"do_sample": True, "temperature": args.temperature or 0.7} if args.sample else {"do_sample": False}
    res = run_method(
        "judge",
        target,
        ids,
        draft=draft,
        judge=judge,
        num_assistant_tokens=args.num_assistant_tokens,
        assistant_confidence_threshold=args.assistant_confidence_threshold,
        judge_threshold=args.judge_threshold,
        judge_min_ratio=args.judge_min_ratio,
        max_new_tokens=args.max_new_tokens,
        streamer=streamer,
        **kw,
    )
    print(f"\n[{res.new_tokens} tokens in {res.seconds:.1f}s = {res.tokens_per_s:.1f} tok/s]", file=sys.stderr)
    print(f"[{res.acceptance.report()}]", file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    from tqdm.auto import tqdm

    from ..bench.limit import measure_costs
    from ..bench.report import add_limits, add_speedups, aggregate, format_table
    from ..bench.runner import run_method
    from ..core.scorers import Scorer
    from .doctor import limit_report

    tok, target, draft, judge = load_models(args)
    prompts = args.prompt or list(DEMO_PROMPTS)
    methods = ("target", "sd", "judge")
    rule = isinstance(judge, Scorer)  # a training-free rule named by --judge: its row carries its name, as in bench
    label = {"target": "target", "sd": "sd", "judge": args.judge if rule else "judge"}
    settings = dict(
        draft=draft,
        judge=judge,
        num_assistant_tokens=args.num_assistant_tokens,
        assistant_confidence_threshold=args.assistant_confidence_threshold,
        judge_threshold=args.judge_threshold,
        judge_min_ratio=args.judge_min_ratio,
        do_sample=False,
    )
    warm = prompt_tensor(tok, "Hi").to(args.device)
    for m in methods:  # warm-up, not measured
        run_method(m, target, warm, max_new_tokens=4, **settings)
    runs = {label[m]: [] for m in methods}
    bar = tqdm(total=len(prompts) * len(methods), desc="demo", leave=False)
    for i, text in enumerate(prompts, 1):
        ids = prompt_tensor(tok, text).to(args.device)
        results = {}
        for m in methods:
            results[label[m]] = run_method(m, target, ids, max_new_tokens=args.max_new_tokens, **settings)
            runs[label[m]].append(results[label[m]])
            bar.update()
        bar.clear()
        print(f"\n### prompt {i}: {text}")
        for m, r in results.items():
            print(f"--- {m}: {tok.decode(r.new_ids, skip_special_tokens=True).strip()[:400]}")
    bar.close()
    rows = add_speedups({name: aggregate(r) for name, r in runs.items()})
    costs = None
    if not args.no_limit:
        costs = measure_costs(target, draft, ks=(args.num_assistant_tokens,), repeats=3)
        add_limits(rows, costs, args.num_assistant_tokens)
    print()
    print(format_table(rows))
    if costs is not None:
        print()
        print(limit_report(costs, args.num_assistant_tokens, rows))
    print(memory_report(target, draft))
    return 0


def memory_report(*models) -> str:
    """Peak resident memory of this process next to the models' weights."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # bytes (Linux reports KiB)
    weights = sum(model_bytes(m) for m in models)
    return (
        f"memory: peak resident {peak / 2**30:.2f} GiB for {weights / 2**30:.2f} GiB of weights ({peak / weights:.2f}x)"
    )


def model_bytes(model) -> int:
    """Bytes of a model's weights as held in memory: parameters, buffers (oneDNN-layout weights too) and the
    packed weights of int8-quantized layers, each storage counted once."""
    import torch

    tensors = [*model.parameters(), *model.buffers()]
    for module in model.modules():
        packed = getattr(module, "_packed_params", None)
        if packed is not None and hasattr(packed, "_weight_bias"):
            tensors += [t for t in packed._weight_bias() if isinstance(t, torch.Tensor)]
    total, seen = 0, set()
    for t in tensors:
        size = t.numel() * t.element_size()
        key = id(t) if (t.is_mkldnn or t.is_quantized) else (t.untyped_storage().data_ptr(), size)
        if key not in seen:
            seen.add(key)
            total += size
    return total


def add_run_commands(sub) -> None:
    p = sub.add_parser("generate", help="stream one answer with judge decoding, then acceptance statistics")
    p.add_argument("prompt", help="the user prompt")
    add_model_args(p)
    add_min_ratio_arg(p)
    p.add_argument("--max-new-tokens", type=positive_int, default=128)
    p.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument(
        "--temperature", type=positive_float, default=None, help="with --sample: sampling temperature (default: 0.7)"
    )
    p.add_argument("--no-chat", action="store_true", help="do not apply the chat template")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("demo", help="the main job: target alone vs standard SD vs judge decoding, side by side")
    add_model_args(p)
    add_min_ratio_arg(p)
    p.add_argument("--prompt", action="append", help="a prompt (repeatable; default: three built-in prompts)")
    p.add_argument("--max-new-tokens", type=positive_int, default=96)
    p.add_argument("--no-limit", action="store_true", help="skip the limit meter after the runs")
    p.set_defaults(func=cmd_demo)
