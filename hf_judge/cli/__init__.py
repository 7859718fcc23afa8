"""The ``hf-judge`` command line: the top layer; nothing in hf_judge imports it."""

from __future__ import annotations

import argparse
import sys

from ..core.errors import InputError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from .bench import add_bench_command
    from .doctor import add_doctor_command
    from .hub import add_hub_commands
    from .run import add_run_commands
    from .train import add_train_commands

    parser = argparse.ArgumentParser(
        prog="hf-judge",
        description="Judge decoding for Hugging Face transformers: speculative decoding that also keeps draft "
        "tokens a learned judge head scores correct.",
    )
    parser.add_argument("--version", action="version", version=f"hf-judge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_run_commands(sub)
    add_train_commands(sub)
    add_bench_command(sub)
    add_doctor_command(sub)
    add_hub_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (InputError, OSError) as e:  # bad input or environment; anything else is a bug: let it surface
        print(f"hf-judge: error: {e}", file=sys.stderr)
        return 2
