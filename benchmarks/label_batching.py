"""What the labeller's continuations cost one item per batch, and several items per batch with done rows leaving it.

The auto-labeller continues up to 16 substitutions into one answer of the target. Until now each item's
substitutions ran as one batch through transformers' ``generate``, which steps every row until the longest is
done. A decoding step on a CPU costs mostly the reading of the weights, little more for more rows: now the
substitutions of consecutive items share one batch (``--label-batch-size 48``: three items of 16), and a row
whose answer is written leaves the batch, so later steps run only the rows still writing. This replays the
continuations of built shards both ways in one run on the same machine and reports the seconds of each and
whether the labels are the same (the continuations may differ by float rounding only)::

    python benchmarks/label_batching.py --data data/judge/math-steps/seed-1005 --seed 1005 --n-groups 3 \\
        --batch-size 48 --out benchmarks/results/label_batching_cpu.json
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

from label_cost import load_replay, replay_parser

from hf_judge.bench.suite import environment
from hf_judge.training.data import _continuation_budget, _continue_batch


def main() -> None:
    ap = replay_parser(__doc__, n_groups=3)
    ap.add_argument("--batch-size", type=int, default=48, help="rows per batch of the new way")
    args = ap.parse_args()
    tok, target, checker, decided, groups = load_replay(args)
    jobs = [(it, n, r["input_ids"]) for it, n, subs in groups for r in subs]  # (item, prompt length, prefix)
    budgets = [_continuation_budget(args.label_max_new_tokens, len(x) - n) for _, n, x in jobs]  # the labeller's

    t = time.perf_counter()  # before: one item per batch, every row stepped until the longest is done
    before, per_item = [], []
    for _, _, subs in groups:
        s = time.perf_counter()
        k = len(before)
        prefixes = [r["input_ids"] for r in subs]
        before += _continue_batch(target, tok, prefixes, budgets[k : k + len(subs)], decided, drop_settled=False)
        per_item.append(time.perf_counter() - s)
    seconds_before = time.perf_counter() - t

    t = time.perf_counter()  # after: the items' rows together, done rows leaving the batch
    after = []
    for b in range(0, len(jobs), args.batch_size):
        chunk = slice(b, b + args.batch_size)
        after += _continue_batch(target, tok, [x for _, _, x in jobs[chunk]], budgets[chunk], decided)
    seconds_after = time.perf_counter() - t

    def labels(outs):
        return [
            int(checker(tok.decode(x[n:] + o, skip_special_tokens=True), it["answer"]))
            for (it, n, x), o in zip(jobs, outs, strict=True)
        ]

    built = [r["labels"][0] for _, _, subs in groups for r in subs]
    out = {
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "environment": environment(target),
        "items": len(groups),
        "rows": len(jobs),
        "new_tokens": [len(o) for o in after],
        "seconds_per_item_before": per_item,
        "seconds": {"one_item_per_batch": seconds_before, "items_together_done_rows_leave": seconds_after},
        "speedup": seconds_before / seconds_after,
        "same_continuations": sum(a == b for a, b in zip(before, after, strict=True)),
        "same_labels": sum(a == b for a, b in zip(labels(before), labels(after), strict=True)),
        "labels_as_built": sum(a == b for a, b in zip(built, labels(after), strict=True)),
        "errors_as_built": built.count(0),
    }
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(json.dumps({k: v for k, v in out.items() if k not in ("new_tokens", "environment")}))


if __name__ == "__main__":
    main()
