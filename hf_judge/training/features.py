"""Feature extraction: the target's last (post-norm) hidden state at each labelled position, and the
training-free rules' scores at the same positions, from one target forward per row.

The hidden state is the tensor the generate path feeds the judge (``output_hidden_states=-1`` of the
target forward, read at the draft token's own position); ``tests/test_train.py`` checks so. The rules'
scores are those of the scorers in :mod:`hf_judge.core.scorers`, on the target's logits at the position
that predicts the token, so a trained head and the free rules are compared on the same held-out
positions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..core import _compat
from ..core.errors import InputError
from ..core.scorers import EntropyGated, ProbabilityRatio

__all__ = ["RULES", "Features", "extract", "extract_features", "rule_scores"]

# the training-free rules, each as one continuous score whose thresholds span its family
RULES = ("top-k", "ratio", "entropy")


def rule_scores(logits: torch.Tensor, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
    """The free rules' scores (P,) for ``tokens`` (P,) under the target's ``logits`` (P, V) that predict them.

    ``top-k`` is 1 / rank (the target's own choice has rank 1): ``TopK(k)`` keeps a token iff
    1 / rank >= 1 / k, so this one score's ROC holds every k. ``ratio`` and ``entropy`` are the scores
    of :class:`ProbabilityRatio` and :class:`EntropyGated` (its default ``min_ratio``) themselves.
    """
    logits = logits.float()
    own = logits.gather(-1, tokens[:, None])  # (P, 1)
    rank = (logits > own).sum(-1) + 1  # (P,)
    return {
        "top-k": 1.0 / rank.float(),
        "ratio": ProbabilityRatio().score(None, logits, tokens),
        "entropy": EntropyGated().score(None, logits, tokens),
    }


@dataclass
class Features:
    """``X`` (N, H) float32 hidden states, ``y`` (N,) float32 labels, ``rows`` (N,) long (each position's
    row), ``rules`` {name: (N,)} the free rules' scores at the same positions."""

    X: torch.Tensor
    y: torch.Tensor
    rows: torch.Tensor
    rules: dict[str, torch.Tensor]


def _target_key(target) -> str:
    name = f"{target.name_or_path}|{next(target.parameters()).dtype}"
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def _row_key(ex) -> str:
    """What a row's features depend on: its tokens and positions (not its labels)."""
    return hashlib.sha256(json.dumps([list(ex["input_ids"]), list(ex["positions"])]).encode()).hexdigest()[:24]


def _load_cache(folder: Path | None) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for part in sorted(folder.glob("*.pt")) if folder is not None and folder.is_dir() else ():
        found.update(torch.load(part))
    return found


def _save_part(folder: Path, new: dict[str, dict]) -> None:
    """New rows go to a file of their own (written whole, then renamed): nothing cached is rewritten."""
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256("".join(sorted(new)).encode()).hexdigest()[:24]
    tmp = folder / f"{name}.tmp"
    torch.save(new, tmp)
    tmp.replace(folder / f"{name}.pt")


@torch.no_grad()
def _row_features(target, ex, i: int) -> dict:
    pos = torch.as_tensor(ex["positions"], dtype=torch.long)
    ids = torch.as_tensor([ex["input_ids"]], dtype=torch.long, device=target.device)  # (1, T)
    n = ids.shape[1]
    if int(pos.max()) >= n or int(pos.min()) < 1:
        raise InputError(
            f"row {i}: positions {pos.tolist()} must lie in [1, {n}) (its {n} tokens; a labelled token "
            "needs one before it that predicts it)"
        )
    hidden, logits = _compat.states_and_logits(target, ids, (pos - 1).to(ids.device))  # (1, T, H), (1, P, V)
    scores = rule_scores(logits[0], ids[0, pos.to(ids.device)])
    return {"X": hidden[0, pos.to(hidden.device)].float().cpu(), "rules": {k: v.cpu() for k, v in scores.items()}}


def extract(target, dataset, progress: bool = True, cache: str | Path | None = None) -> Features:
    """One target forward per row: the hidden states and the free rules' scores at its labelled positions.

    With ``cache`` (a folder) each row's features are kept there under the target, its dtype and the
    row's tokens and positions, and read back the next time: adding a shard to a data set runs the
    target on the new rows only; relabelling a row runs nothing.
    """
    folder = Path(cache) / _target_key(target) if cache else None
    cached = _load_cache(folder)
    new: dict[str, dict] = {}
    xs, ys, rows, rules = [], [], [], {r: [] for r in RULES}
    for i, ex in enumerate(tqdm(dataset, desc="features", disable=not progress)):
        if len(ex["positions"]) == 0:
            continue
        if len(ex["labels"]) != len(ex["positions"]):
            raise InputError(f"row {i}: {len(ex['labels'])} labels for {len(ex['positions'])} positions")
        key = _row_key(ex)
        got = cached.get(key) or new.get(key)
        if got is None:
            got = new[key] = _row_features(target, ex, i)
        xs.append(got["X"])  # (P, H)
        ys.append(torch.as_tensor(ex["labels"], dtype=torch.float32))
        rows.append(torch.full((len(ex["positions"]),), i, dtype=torch.long))
        for r in RULES:
            rules[r].append(got["rules"][r])
    if folder is not None and new:
        _save_part(folder, new)
    if not xs:
        raise InputError("the data set has no labelled positions")
    return Features(torch.cat(xs), torch.cat(ys), torch.cat(rows), {r: torch.cat(v) for r, v in rules.items()})


def extract_features(
    target, dataset, progress: bool = True, cache: str | Path | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``X`` (N, H) float32, ``y`` (N,) float32, ``row`` (N,) long: :func:`extract` without the rules."""
    f = extract(target, dataset, progress, cache)
    return f.X, f.y, f.rows
