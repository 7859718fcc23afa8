"""Train / validation / test split by question: all positions of one question fall in one split.

A data set row does not name its question, but every row starts with its question's prompt, and
the rows of one question differ only after it: the auto-labeller's rows are the prompt plus a
prefix of the target's answer, the pairs' rows the prompt plus a response. So the token prefix
before a row's first labelled position is an extension of the shortest such prefix of its question,
and rows are grouped by that prefix relation. A group goes to a split by a hash of its tokens, so the
split of a question never changes as more shards are added, and what is reported as test is never
tuned on (validation: early stopping and calibration).
"""

from __future__ import annotations

import hashlib

import torch

from ..core.errors import InputError

__all__ = ["TRAIN_SPLITS", "disagreements", "position_split", "question_groups", "split_by_question"]

TRAIN_SPLITS = ("train", "val", "test")


def _prefixes(dataset) -> list[tuple[int, ...]]:
    """The tokens of each row before its first labelled position."""
    return [
        tuple(ids[: min(pos)]) if len(pos) else tuple(ids)
        for ids, pos in zip(dataset["input_ids"], dataset["positions"], strict=True)
    ]


def question_groups(dataset) -> list[int]:
    """A group id per row of ``dataset`` (columns ``input_ids``, ``positions``): rows of one question share it."""
    keys = _prefixes(dataset)
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    groups, root, gid = [0] * len(keys), None, -1
    for i in order:  # sorted, so a question's rows are contiguous and start with its shortest prefix
        if root is None or keys[i][: len(root)] != root:
            root, gid = keys[i], gid + 1
        groups[i] = gid
    return groups


def split_by_question(dataset, val: float = 0.15, test: float = 0.2) -> list[str]:
    """'train', 'val' or 'test' for every row, the same for every row of a question (see the module doc)."""
    if not (0 < val < 1 and 0 < test < 1 and val + test < 1):
        raise InputError(f"val={val} and test={test} must be shares in (0, 1) that leave some rows to train on")
    groups = question_groups(dataset)
    first: dict[int, tuple] = {}
    for key, g in zip(_prefixes(dataset), groups, strict=True):
        if g not in first or len(key) < len(first[g]):
            first[g] = key
    share = {g: int(hashlib.sha256(str(k).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF for g, k in first.items()}
    return ["test" if share[g] < test else "val" if share[g] < test + val else "train" for g in groups]


def position_split(row_split: list[str], rows: torch.Tensor) -> torch.Tensor:
    """The split of every position, as an index into :data:`TRAIN_SPLITS`: (N,) long, from the rows of ``rows`` (N,)."""
    per_row = torch.tensor([TRAIN_SPLITS.index(s) for s in row_split], dtype=torch.long)
    return per_row[rows]


def disagreements(dataset, rows: torch.Tensor, hard: bool = False) -> torch.Tensor:
    """(N,) bool: the positions of ``rows`` (N,) that are evenly spread draft/target disagreements (source
    ``auto:mismatch``), the mix decoding meets and reports are made on; the ``auto:mismatch:hard`` picks
    (chosen where the target likes the draft's token least) are trained on, and with ``hard`` counted too
    (a report on both: more errors to rank, though not the mix decoding meets)."""
    keep = ("auto:mismatch", "auto:mismatch:hard") if hard else ("auto:mismatch",)
    return torch.tensor([s in keep for s in dataset["source"]], dtype=torch.bool)[rows]
