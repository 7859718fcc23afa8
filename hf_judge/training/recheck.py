"""Recheck the errors of an auto-labelled data set with more continuations than the labeller's one.

The labeller (:func:`~hf_judge.training.data.auto_label`) substitutes the draft's token, lets the target
continue greedily once, and labels the token an error when that one answer is wrong. On step-by-step math
many of the errors it finds read like rewordings ("To solve" where the target wrote "To determine", "we
can" for "we need"): did the token lead the target astray, or did its one greedy path happen to go wrong?
More answers from the same prefix tell the two apart. (On the held-out math shards most errors stayed
errors: see the README's "Rechecked labels".)

Here each such error gets ``samples`` more continuations of the same prefix, sampled from the target at
``temperature``. With the greedy one (wrong, or it would not be an error) they are ``1 + samples`` votes,
and the token stays an error only if at most half of them are right: with 4 samples, 3 of 4 sampled
answers right make it acceptable. Acceptable labels are not rechecked (their greedy answer is right, and
a token the target recovers from is one a judge may keep), nor a substituted end of text (its answer has
no continuation). Only rows of checkable items (math, programs) have errors to recheck.

Sampling is seeded per chunk of rows, and a chunk is fixed by its place among the errors, so a resumed
run (``checkpoint``) gives the labels an uninterrupted one gives.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..core.errors import InputError
from .checkable import is_correct_number
from .data import _continuation_budget, _continue_batch, _fingerprint, _models_key, _resume, _to_dataset, prompt_ids
from .records import append_record

__all__ = ["recheck_errors", "votes_to_label"]


def votes_to_label(right: int, samples: int) -> int:
    """1 (acceptable) iff more than half of the ``1 + samples`` answers are right, the greedy one counted wrong."""
    if not 0 <= right <= samples:
        raise InputError(f"right={right} must lie in [0, samples={samples}]")
    return int(2 * right > samples + 1)


@torch.no_grad()
def recheck_errors(
    target,
    tokenizer,
    dataset,
    items: list[dict],
    *,
    checker=is_correct_number,
    instruction: str = "",
    decided=None,
    max_new_tokens: int = 96,
    samples: int = 4,
    temperature: float = 0.7,
    batch_size: int = 16,
    seed: int = 0,
    progress: bool = True,
    checkpoint: str | Path | None = None,
):
    """``dataset`` with its errors rechecked (see the module), and a report of what changed.

    ``items``, ``checker``, ``instruction``, ``decided`` and ``max_new_tokens``: those the data set was
    labelled with (:func:`~hf_judge.training.data.auto_items` gives the first four from the build's
    ``--items``, ``--n-items`` and ``--seed``); every error row must begin with the prompt of one of
    ``items``. The continuations of ``batch_size // samples`` errors run in one batch.
    """
    if samples < 1 or batch_size < samples:
        raise InputError(f"samples={samples} must be at least 1 and at most batch_size={batch_size}")
    if not temperature > 0:
        raise InputError(f"temperature={temperature} must be positive")
    if checker is None:
        raise InputError("recheck_errors needs a checker: rows labelled by preservation have no answer to check")
    eos = tokenizer.eos_token_id
    prompts = {tuple(prompt_ids(tokenizer, f"{it['question']} {instruction}".strip())): it for it in items}
    rows = dataset.to_list()
    errors = [
        r
        for r, ex in enumerate(rows)
        if ex["source"].startswith("auto:mismatch") and list(ex["labels"]) == [0] and ex["input_ids"][-1] != eos
    ]
    of_row = {r: _item_of(rows[r]["input_ids"], prompts, r) for r in errors}  # (prompt length, item)
    per = batch_size // samples
    chunks = [errors[c : c + per] for c in range(0, len(errors), per)]
    how = dict(
        checker=checker, decided=decided, max_new_tokens=max_new_tokens, samples=samples, temperature=temperature
    )
    settings = {**how, "instruction": instruction, "batch_size": batch_size, "seed": seed}
    settings["models"] = _models_key(target, None)  # what the labels depend on beyond the settings
    done = _resume(checkpoint, chunks, settings)
    with open(checkpoint, "a") if checkpoint else contextlib.nullcontext() as log:
        if log is not None and not done:
            append_record(log, {"fingerprint": _fingerprint(chunks, settings)})
        todo = [c for c in range(len(chunks)) if c not in done]
        for c in tqdm(todo, desc="recheck errors", disable=not progress, initial=len(done), total=len(chunks)):
            right = _right_answers(target, tokenizer, rows, chunks[c], of_row, seed + c, **how)
            done[c] = {"item": c, "right": right}
            if log is not None:
                append_record(log, done[c])
    right = {int(r): k for c in range(len(chunks)) for r, k in done[c]["right"]}
    for r, k in right.items():
        rows[r]["labels"] = [votes_to_label(k, samples)]
    return _to_dataset(rows, tokenizer), _report(rows, errors, right, samples, temperature)


def _item_of(ids: list[int], prompts: dict[tuple, dict], r: int) -> tuple[int, dict]:
    for p, item in prompts.items():
        if tuple(ids[: len(p)]) == p:
            return len(p), item
    raise InputError(
        f"row {r} begins with none of the items' prompts: recheck with the --items, --n-items and --seed the data "
        "set was built with"
    )


def _right_answers(
    target, tokenizer, rows, chunk, of_row, seed, *, checker, decided, max_new_tokens, samples, temperature
):
    """[[row, how many of its ``samples`` sampled answers are right]] for the rows of one chunk."""
    prefixes, budgets = [], []
    for r in chunk:
        ids, (n, _) = rows[r]["input_ids"], of_row[r]
        prefixes += [ids] * samples
        budgets += [_continuation_budget(max_new_tokens, len(ids) - n)] * samples  # the labeller's budget for this row
    torch.manual_seed(seed)
    outs = _continue_batch(target, tokenizer, prefixes, budgets, decided, temperature=temperature)
    got = []
    for j, r in enumerate(chunk):
        ids, (n, item) = rows[r]["input_ids"], of_row[r]
        answers = outs[j * samples : (j + 1) * samples]
        texts = [tokenizer.decode(ids[n:] + out, skip_special_tokens=True) for out in answers]
        got.append([r, sum(bool(checker(t, item["answer"])) for t in texts)])
    return got


def _report(rows, errors, right, samples, temperature) -> dict:
    by_source = Counter(rows[r]["source"] for r in errors)
    kept = Counter(rows[r]["source"] for r in errors if rows[r]["labels"] == [0])
    return {
        "samples": samples,
        "temperature": temperature,
        "rechecked": len(errors),
        "kept": sum(kept.values()),
        "by_source": {s: {"rechecked": n, "kept": kept[s]} for s, n in sorted(by_source.items())},
        "right_answers": {str(k): n for k, n in sorted(Counter(right.values()).items())},
        "errors_after": sum(x == 0 for ex in rows for x in ex["labels"]),
    }
