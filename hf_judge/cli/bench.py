"""``hf-judge bench``."""

from __future__ import annotations

import time

from ..bench.open_ended import GRADINGS
from ..bench.suite import BenchConfig, run_bench
from ..core.errors import InputError
from .common import add_model_args, command_line, load_models

__all__ = ["add_bench_command"]


def cmd_bench(args) -> int:
    cfg = BenchConfig(
        tasks=args.tasks,
        limit=args.limit,
        skip=args.skip,
        judge_thresholds=args.judge_thresholds or [None],
        floored_judges=args.floored_judges or [],
        scorers=args.scorers or [],
        ensemble_weights=args.ensemble_weights or [],
        num_assistant_tokens=args.num_assistant_tokens,
        assistant_confidence_threshold=args.assistant_confidence_threshold,
        max_new_tokens=args.max_new_tokens,
        seed=args.seed,
        allow_code_exec=args.allow_code_exec,
        engines=["transformers", *args.engine],
    )
    if args.update_card:  # named before the models load and the bench runs, not after
        from ..training.card import check_exported

        check_exported(args.update_card)
    if args.grading is not None and args.grader is None:
        raise InputError(f"--grading {args.grading} says how a grader grades: pass --grader too")
    if args.grader not in (None, "target"):  # named before the models load
        from ..registry.packaged import validate_name

        validate_name(args.grader)
    cfg.examples(graded=args.grader is not None)  # a slice past a task's end, or a grader with nothing to grade
    tok, target, draft, judge = load_models(args)
    grader = None
    if args.grader == "target":
        grader = (target, tok)
    elif args.grader:
        from ..registry.packaged import load_model, load_tokenizer

        grader = (
            load_model(args.grader, dtype=next(target.parameters()).dtype, device=args.device),
            load_tokenizer(args.grader),
        )
    t0 = time.perf_counter()
    res = run_bench(
        target,
        draft,
        judge,
        tok,
        cfg,
        args.out,
        grader=grader,
        grading=args.grading or "pairwise",
        command=command_line(),
    )
    print(res["table"])
    print(f"\n{time.perf_counter() - t0:.0f}s; results, table and plots in {args.out}")
    if args.update_card:
        from ..training.card import add_eval_results

        print(f"model card updated: {add_eval_results(args.update_card, res)}")
    return 0


def add_bench_command(sub) -> None:
    p = sub.add_parser(
        "bench", help="quality and speed: target alone, standard SD, judge decoding and lossy peers, knob sweeps"
    )
    add_model_args(p, several_k=True)
    p.add_argument(
        "--tasks",
        nargs="+",
        default=["gsm-style", "mt-bench"],
        help="gsm-style, math-steps (step by step), gsm8k (Hub), mmath, humaneval and programs "
        "(need --allow-code-exec), mt-bench",
    )
    p.add_argument("--limit", type=int, default=5, help="examples per task (default: %(default)s)")
    p.add_argument(
        "--skip",
        type=int,
        default=0,
        help="pass over the first SKIP examples of each task: --skip 40 --limit 40 runs examples 40-79, "
        "held out from a run with --limit 40 (default: %(default)s)",
    )
    p.add_argument("--scorers", nargs="+", help="training-free peers in the judge slot: top-k:K, ratio:R, entropy:H")
    p.add_argument(
        "--ensemble-weights", type=float, nargs="+", help="transformers' assistant_ensemble_weight values (peers)"
    )
    p.add_argument(
        "--judge-thresholds",
        type=float,
        nargs="+",
        help="judge thresholds to sweep, with no floor (default: the head's own point, its own floor included)",
    )
    p.add_argument(
        "--floored-judges",
        nargs="+",
        metavar="T/rR",
        help="judge points with a plausibility floor: threshold T, and the judge keeps no draft token whose "
        "target probability ratio p(d) / max p is at most R, e.g. 0.41/r0.1",
    )
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--allow-code-exec", action="store_true", help="opt in to running model-written code (humaneval)")
    p.add_argument(
        "--grader",
        help="model (alias, Hub id, path, or 'target') that grades each MT-Bench answer against the target's own "
        "(see --grading); without one, open-ended quality is the target's NLL alone",
    )
    p.add_argument(
        "--grading",
        choices=sorted(GRADINGS),
        default=None,
        help="with --grader: pairwise (the default): the grader compares two answers, both orders (win rate + half "
        "ties); rating: it rates each answer alone 1-10 (mean rating, and the win rate of the ratings against the "
        "target's), checked against the target's answers with their words shuffled",
    )
    p.add_argument(
        "--engine",
        nargs="+",
        default=[],
        choices=["vllm"],
        help="also run target, standard SD and the judge in vLLM (the plugin in integrations/vllm, its own "
        "environment made once under the hf_judge cache), rows 'vllm:...' beside the transformers path",
    )
    p.add_argument(
        "--update-card",
        metavar="HEAD_DIR",
        help="add this run's table to an exported head's model card eval section (in place of the table of an "
        "earlier run of the same command)",
    )
    p.add_argument("--out", default="runs/bench", help="output folder; a rerun resumes it (default: %(default)s)")
    p.set_defaults(func=cmd_bench)
