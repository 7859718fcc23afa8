"""What the commands share: model options and loading, chat prompts."""

from __future__ import annotations

import argparse

__all__ = ["add_model_args", "load_models", "prompt_tensor"]


def add_model_args(p: argparse.ArgumentParser, judge: bool = True) -> None:
    from ..registry.packaged import DEFAULT_DRAFT, DEFAULT_TARGET

    p.add_argument("--target", default=DEFAULT_TARGET, help="target: alias, Hub id or path (default: %(default)s)")
    p.add_argument("--draft", default=DEFAULT_DRAFT, help="draft: alias, Hub id or path (default: %(default)s)")
    if judge:
        p.add_argument("--judge", default="default", help="judge head: path, Hub repo, or 'default' (shipped head)")
        p.add_argument("--judge-threshold", type=float, default=None, help="judge threshold (default: the head's own)")
    p.add_argument(
        "-k",
        "--num-assistant-tokens",
        type=int,
        default=5,
        help="draft tokens per step, as transformers names it (default: %(default)s)",
    )
    p.add_argument(
        "--dtype",
        default="bfloat16",
        choices=["float32", "bfloat16", "float16"],
        help="model dtype (default: %(default)s, the fastest on CPU too; float32 for bit-exact comparisons)",
    )
    p.add_argument("--device", default="cpu", help="torch device (default: %(default)s)")


def load_models(args, need_judge: bool = True):
    import torch

    from ..core.decoding import check_judge_fits
    from ..registry.judges import load_judge
    from ..registry.packaged import check_tokenizers, load_model, load_tokenizer, validate_name

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


def prompt_tensor(tok, text: str, chat: bool = True):
    if chat and tok.chat_template:
        return tok.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True, return_tensors="pt", return_dict=True
        )["input_ids"]
    return tok(text, return_tensors="pt")["input_ids"]
