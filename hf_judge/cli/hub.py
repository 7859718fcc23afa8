"""``hf-judge export-generate``: the custom_generate folder for the Hub."""

from __future__ import annotations

from ..hub.custom_generate import write_folder

__all__ = ["add_hub_commands"]


def cmd_export_generate(args) -> int:
    out = write_folder(args.out)
    print(f"wrote {out / 'custom_generate' / 'generate.py'}, its requirements.txt and {out / 'README.md'}")
    print(f"upload with: huggingface-cli upload YOUR_NAME/judge-decoding {out} .")
    return 0


def add_hub_commands(sub) -> None:
    p = sub.add_parser(
        "export-generate",
        help="write the custom_generate folder that runs judge decoding with stock transformers (for the Hub)",
    )
    p.add_argument("out", help="folder to write (it gets custom_generate/ and README.md)")
    p.set_defaults(func=cmd_export_generate)
