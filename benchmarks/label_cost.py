"""What the labeller's continuations cost, with and without one shared prefill of the answer.

The auto-labeller substitutes up to 16 draft tokens into one answer of the target and lets the target
continue each in one left-padded batch. Prefilling that batch runs the answer's tokens 16 times; starting
each row from its share of one forward over the answer runs them once. This replays the continuations of
built shards, item by item (the rows of one item: its evenly spread and hard substitutions), both ways in
one run on the same machine, and reports the seconds of each and whether the continuations, and the labels
they give, are the same (they may differ by float rounding only)::

    python benchmarks/label_cost.py --data data/judge/math-steps/seed-1005 --seed 1005 --n-groups 2 \\
        --out benchmarks/results/label_cost_cpu.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from hf_judge.bench.suite import environment
from hf_judge.registry.hardware import resolve_dtype
from hf_judge.registry.packaged import DEFAULT_TARGET, load_model, load_tokenizer
from hf_judge.training.checkable import is_correct_number
from hf_judge.training.data import (
    MATH_INSTRUCTION,
    _continuation_budget,
    _continue_batch,
    auto_items,
    load_dataset_dir,
    prompt_ids,
)
from hf_judge.training.recheck import _item_of


def item_rows(rows: list[dict], items: list[dict], instruction: str, tokenizer, eos: int) -> list[tuple]:
    """``[(item, prompt length, its substitution rows)]`` for the items with more than one, matched by prompt
    as ``hf-judge recheck`` matches them."""
    prompts = {tuple(prompt_ids(tokenizer, f"{it['question']} {instruction}".strip())): it for it in items}
    by_item: dict[int, tuple] = {}
    for r, row in enumerate(rows):
        if row["source"].startswith("auto:mismatch") and row["input_ids"][-1] != eos:
            n, it = _item_of(row["input_ids"], prompts, r)
            by_item.setdefault(id(it), (it, n, []))[2].append(row)
    return [g for g in by_item.values() if len(g[2]) > 1]


def replay_parser(doc: str, n_groups: int) -> argparse.ArgumentParser:
    """The options of a replay of built items (this script's and ``label_batching.py``'s)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--data", required=True, help="a built auto-labelled shard")
    ap.add_argument("--items", default="math-steps")
    ap.add_argument("--seed", type=int, required=True, help="the seed the shard was built with")
    ap.add_argument("--n-items", type=int, default=20, help="the shard's --n-items")
    ap.add_argument("--label-max-new-tokens", type=int, default=320, help="the shard's --label-max-new-tokens")
    ap.add_argument("--n-groups", type=int, default=n_groups, help="items to replay")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--out", required=True)
    return ap


def load_replay(args) -> tuple:
    """``(tokenizer, target, checker, decided, groups)`` for a replay: the first ``--n-groups`` items of the shard
    with their substitution rows, the target loaded as build-data loads it, warmed up."""
    items, how = auto_items(args.items, args.n_items, args.seed)
    tok = load_tokenizer(DEFAULT_TARGET)
    checker = how.get("checker", is_correct_number)  # auto_label's defaults where the items keep them
    if checker is None:
        raise SystemExit(f"--items {args.items} has no answer to check: nothing to replay")
    target = load_model(DEFAULT_TARGET, dtype=resolve_dtype(args.dtype), cpu_linear="auto")
    rows = load_dataset_dir(args.data).to_list()
    groups = item_rows(rows, items, how.get("instruction", MATH_INSTRUCTION), tok, tok.eos_token_id)
    groups = groups[: args.n_groups]
    _continue_batch(target, tok, [groups[0][2][0]["input_ids"][:8]] * 2, [2, 2])  # warm-up, not timed
    return tok, target, checker, how.get("decided"), groups


def main() -> None:
    args = replay_parser(__doc__, n_groups=2).parse_args()
    tok, target, checker, decided, groups = load_replay(args)
    results = []
    for it, n_prompt, subs in groups:
        prefixes = [r["input_ids"] for r in subs]
        budgets = [_continuation_budget(args.label_max_new_tokens, len(x) - n_prompt) for x in prefixes]
        timed, outs = {}, {}
        for share in (False, True):
            t = time.perf_counter()
            outs[share] = _continue_batch(
                target, tok, prefixes, budgets, decided, share_prefix=share, drop_settled=False
            )
            timed[share] = time.perf_counter() - t
        labels = {
            share: [
                int(checker(tok.decode(x[n_prompt:] + o, skip_special_tokens=True), it["answer"]))
                for x, o in zip(prefixes, outs[share], strict=True)
            ]
            for share in outs
        }
        results.append(
            {
                "rows": len(prefixes),
                "prefix_tokens": [len(x) for x in prefixes],
                "new_tokens": [len(o) for o in outs[True]],
                "seconds_batch_prefill": timed[False],
                "seconds_shared_prefill": timed[True],
                "speedup": timed[False] / timed[True],
                "same_continuations": sum(a == b for a, b in zip(outs[False], outs[True], strict=True)),
                "same_labels": sum(a == b for a, b in zip(labels[False], labels[True], strict=True)),
                "labels_as_built": sum(r["labels"] == [lab] for r, lab in zip(subs, labels[True], strict=True)),
            }
        )
        print(
            json.dumps({k: v for k, v in results[-1].items() if k not in ("prefix_tokens", "new_tokens")}), flush=True
        )
    total = {s: sum(r[f"seconds_{s}"] for r in results) for s in ("batch_prefill", "shared_prefill")}
    out = {
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "environment": environment(target),
        "groups": results,
        "seconds": total,
        "speedup": total["batch_prefill"] / total["shared_prefill"],
    }
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(json.dumps({"seconds": total, "speedup": out["speedup"]}))


if __name__ == "__main__":
    main()
