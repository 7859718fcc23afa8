"""What the commands share: model options and loading, chat prompts."""

from __future__ import annotations

import argparse
import math
import shlex
import sys

__all__ = ["add_model_args", "command_line", "load_models", "prompt_tensor", "setup_device"]

# the defaults of the speculative settings, chosen from benchmarks/results/speed_cpu.json (2 CPU cores):
# k=8 was fastest for both SD and judge decoding (k=5 and 12 slower); stopping the draft below 0.4
# confidence was slower at every k; the int8 draft more than halves the draft's cost
DEFAULT_K = 8
DEFAULT_CONFIDENCE = 0.0
DEFAULT_DRAFT_QUANT = "auto"


def command_line() -> str:
    """The command being run, quoted so that it can be pasted back into a shell (for result files)."""
    return "hf-judge " + shlex.join(sys.argv[1:])


def _number(kind: type, lowest: float, what: str):
    """An argparse ``type``: ``kind`` of the text, refused (naming the value) below ``lowest``."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not value >= lowest:  # also refuses NaN
            raise argparse.ArgumentTypeError(f"{text} is not {what}")
        return value

    parse.__name__ = what  # argparse names the type by it in its own messages
    return parse


positive_int = _number(int, 1, "a positive integer")
positive_float = _number(float, math.ulp(0.0), "a positive number")  # the least float above 0


def unit(name: str):
    """An argparse ``type``: a number in [0, 1], refused by the library's own check (its message names ``name``)."""
    from ..core.errors import InputError
    from ..core.verify import check_threshold

    def parse(text: str) -> float:
        try:
            return check_threshold(text, name)
        except InputError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = "a number in [0, 1]"
    return parse


def add_min_ratio_arg(p: argparse.ArgumentParser) -> None:
    """``--judge-min-ratio``: the plausibility floor of the judge (commands that run one judge point)."""
    p.add_argument(
        "--judge-min-ratio",
        type=unit("judge_min_ratio"),
        default=None,
        help="the judge keeps no draft token whose target probability ratio p(d) / max p is at most this "
        "(default: the head's own floor, min_ratio in its config; 0, none barred, if it has none)",
    )


def add_model_args(p: argparse.ArgumentParser, judge: bool = True, several_k: bool = False) -> None:
    """The model options every command shares; ``several_k``: ``-k`` takes one or more draft lengths."""
    from ..registry.hardware import DTYPES
    from ..registry.kernels import LINEAR_BACKENDS
    from ..registry.packaged import DEFAULT_DRAFT, DEFAULT_TARGET, QUANTS

    p.add_argument("--target", default=DEFAULT_TARGET, help="target: alias, Hub id or path (default: %(default)s)")
    p.add_argument("--draft", default=DEFAULT_DRAFT, help="draft: alias, Hub id or path (default: %(default)s)")
    if judge:
        p.add_argument(
            "--judge",
            default="default",
            help="judge head: path, Hub repo, or 'default' (shipped head); or a training-free rule: "
            "top-k:2, ratio:0.3, entropy:0.3",
        )
        p.add_argument(
            "--judge-threshold",
            type=unit("judge_threshold"),
            default=None,
            help="judge threshold (default: the head's own)",
        )
    p.add_argument(
        "-k",
        "--num-assistant-tokens",
        type=positive_int,
        nargs="+" if several_k else None,
        default=[DEFAULT_K] if several_k else DEFAULT_K,
        help="draft tokens per step, as transformers names it"
        + (" (several: each is a point of the sweep)" if several_k else "")
        + " (default: %(default)s)",
    )
    p.add_argument(
        "--assistant-confidence-threshold",
        type=unit("assistant_confidence_threshold"),
        default=DEFAULT_CONFIDENCE,
        help="stop drafting after a token the draft gives less probability than this (default: %(default)s)",
    )
    p.add_argument(
        "--dtype",
        default="auto",
        choices=DTYPES,
        help="model dtype (default: auto = bfloat16 where the hardware computes it natively, else float32)",
    )
    p.add_argument(
        "--draft-quant",
        default=DEFAULT_DRAFT_QUANT,
        choices=QUANTS,
        help="int8: the draft's linear layers in int8 (CPU; the target still decides every token); "
        "auto: int8 on the CPU in float32 (default: %(default)s)",
    )
    p.add_argument(
        "--cpu-linear",
        default="auto",
        choices=LINEAR_BACKENDS,
        help="float32 linear layers on the CPU: oneDNN kernels (faster for few tokens) or stock MKL "
        "(default: auto = oneDNN on the CPU in float32)",
    )
    p.add_argument("--device", default="cpu", help="torch device (default: %(default)s)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's own choice)")


def setup_device(args):
    """Apply ``--threads`` and resolve ``--dtype`` (printing what ``auto`` chose); returns the dtype."""
    import torch

    from ..registry.hardware import check_device, native_bf16, resolve_dtype

    check_device(args.device)  # before anything loads
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    dtype = resolve_dtype(args.dtype, args.device)
    if args.dtype == "auto":
        why = "native bfloat16" if native_bf16(args.device) else "no native bfloat16 matmul"
        print(
            f"[dtype auto: {str(dtype).replace('torch.', '')} ({why} on {args.device}); "
            f"{torch.get_num_threads()} threads]",
            file=sys.stderr,
        )
    return dtype


def load_models(args, need_judge: bool = True, need_draft: bool = True):
    """``(tokenizer, target, draft | None, judge | None)`` as the model options say."""
    from ..core.decoding import check_judge_fits
    from ..registry.judges import load_judge_or_rule
    from ..registry.packaged import check_tokenizers, load_model, load_tokenizer, validate_name

    dtype = setup_device(args)
    for name in (args.target, args.draft) if need_draft else (args.target,):
        validate_name(name)
    judge = load_judge_or_rule(args.judge, target=args.target, device=args.device) if need_judge else None  # first
    tok = load_tokenizer(args.target)
    if need_draft:
        check_tokenizers(tok, load_tokenizer(args.draft))
    target = load_model(args.target, dtype=dtype, device=args.device, cpu_linear=args.cpu_linear)
    draft = (
        load_model(args.draft, dtype=dtype, device=args.device, quant=args.draft_quant, cpu_linear=args.cpu_linear)
        if need_draft
        else None
    )
    if judge is not None:
        check_judge_fits(judge, target)
    return tok, target, draft, judge


def prompt_tensor(tok, text: str, chat: bool = True):
    if chat and tok.chat_template:
        return tok.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True, return_tensors="pt", return_dict=True
        )["input_ids"]
    return tok(text, return_tensors="pt")["input_ids"]
