"""Feature extraction: the target's hidden state at each labelled position (the last, post-norm one, or
the layer a head reads), and the training-free rules' scores at the same positions, from one target
forward per row (on the cached prefix it shares with the rows before it).

The hidden state is the tensor the generate path feeds the judge (``hidden_states[hidden_layer]`` of the
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
from ..core.decoding import check_hidden_layer
from ..core.errors import InputError
from ..core.modeling_judge import logit_features
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
    row), ``rules`` {name: (N,)} the free rules' scores at the same positions, ``F`` (N, 3) their
    :func:`~hf_judge.core.modeling_judge.logit_features` (what a head with ``logit_features`` reads)."""

    X: torch.Tensor
    y: torch.Tensor
    rows: torch.Tensor
    rules: dict[str, torch.Tensor]
    F: torch.Tensor


def _target_key(target, layer: int) -> str:
    name = f"{target.name_or_path}|{next(target.parameters()).dtype}"
    if layer != -1:  # (the last layer's key is the one caches were made under before layers could be chosen)
        name += f"|hidden_states[{layer}]"
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


class _Prefix:
    """The target's KV cache of one reference sequence: a row that shares a prefix with it runs the target
    on what follows the prefix only.

    Auto-labelled rows come in families: an answer, and substitution rows that copy its first ``p``
    tokens. A row whose new part is short (a substitution) runs on a copy of the cache, so the answer
    stays the reference for its siblings; a row whose new part is longer than the shared one (the next
    question) becomes the reference.
    """

    def __init__(self, target, layer: int = -1):
        self.target, self.layer = target, layer
        self.ids: list[int] = []
        self.cache = None

    def run(self, ids: list[int], first: int) -> tuple[int, torch.Tensor, torch.Tensor]:
        """``ids`` (the row up to its last labelled token) whose labelled positions start at ``first``:
        ``(start, hidden, logits)``, the hidden states (1, len(ids) - start, H) of ``ids[start:]`` and the
        logits (1, len(ids) - start, V) of every position; ``start <= first - 1``, so the logits that
        predict each labelled token are there."""
        shared = 0
        for a, b in zip(ids, self.ids, strict=False):
            if a != b:
                break
            shared += 1
        start = min(shared, first - 1) if self.cache is not None else 0
        if start == 0:
            self.cache, self.ids = _compat.new_cache(self.target), []
        keep = 2 * (len(ids) - start) > len(ids)  # mostly new: it becomes the reference
        cache = self.cache if keep else _compat.cropped_copy(self.cache, start)
        if keep:
            _compat.crop(cache, start)
        chunk = torch.as_tensor([ids[start:]], dtype=torch.long, device=self.target.device)  # (1, L)
        at = torch.arange(chunk.shape[1], device=chunk.device)
        hidden, logits = _compat.states_and_logits(self.target, chunk, at, cache, self.layer)  # (1, L, H), (1, L, V)
        if keep:
            self.ids = list(ids)
        return start, hidden, logits


def _check_row(ex, i: int) -> None:
    n, pos = len(ex["input_ids"]), list(ex["positions"])
    if len(ex["labels"]) != len(pos):
        raise InputError(f"row {i}: {len(ex['labels'])} labels for {len(pos)} positions")
    if max(pos) >= n or min(pos) < 1:
        raise InputError(
            f"row {i}: positions {pos} must lie in [1, {n}) (its {n} tokens; a labelled token "
            "needs one before it that predicts it)"
        )


@torch.no_grad()
def _row_features(prefix: _Prefix, ex) -> dict:
    """The hidden states and rule scores at a row's labelled positions. Nothing after its last labelled
    token changes them (a causal model), so the row is cut there."""
    pos = torch.as_tensor(ex["positions"], dtype=torch.long)  # (P,)
    ids = list(ex["input_ids"])[: int(pos.max()) + 1]
    start, hidden, logits = prefix.run(ids, int(pos.min()))
    at = (pos - start).to(hidden.device)  # (P,) into the chunk
    tokens = torch.as_tensor(ids, device=hidden.device)[pos.to(hidden.device)]  # (P,)
    scores = rule_scores(logits[0, at - 1], tokens)
    return {
        "X": hidden[0, at].float().cpu(),  # (P, H)
        "rules": {k: v.cpu() for k, v in scores.items()},
        "F": logit_features(logits[0, at - 1], tokens).cpu(),  # (P, 3)
    }


SAVE_EVERY = 64  # new rows between checkpoints of the feature cache


def extract(target, dataset, progress: bool = True, cache: str | Path | None = None, layer: int = -1) -> Features:
    """The hidden states ``hidden_states[layer]`` (-1: the last, post-norm; a head's ``hidden_layer``) and
    the free rules' scores at every row's labelled positions.

    Rows run in an order that puts rows sharing a prefix together, each on the target's cache of the
    prefix it shares (:class:`_Prefix`); the features equal one uncached forward per row up to float
    rounding. With ``cache`` (a folder) each row's features are kept there under the target, its dtype,
    the layer and the row's tokens and positions, checkpointed every ``SAVE_EVERY`` new rows and on
    interruption, and read back the next time: adding a shard to a data set runs the target on the new rows only;
    relabelling a row runs nothing.
    """
    check_hidden_layer(target, layer)
    folder = Path(cache) / _target_key(target, layer) if cache else None
    cached = _load_cache(folder)
    got: dict[int, dict] = {}
    todo, same = [], {}  # same: key -> the rows with that key (a repeated row runs once)
    for i, ex in enumerate(dataset):
        if len(ex["positions"]) == 0:
            continue
        _check_row(ex, i)
        key = _row_key(ex)
        if key in cached and "F" in cached[key]:  # (rows cached before logit features existed run again)
            got[i] = cached[key]
        elif key in same:
            same[key].append(i)
        else:
            same[key] = [i]
            todo.append((tuple(ex["input_ids"][: min(ex["positions"])]), i, key))
    todo.sort()  # a prefix sorts before what extends it: an answer's substitutions follow one another
    prefix, new = _Prefix(target, layer), {}
    try:
        for _, i, key in tqdm(todo, desc="features", disable=not progress):
            new[key] = _row_features(prefix, dataset[i])
            got.update(dict.fromkeys(same[key], new[key]))
            if folder is not None and len(new) >= SAVE_EVERY:
                _save_part(folder, new)
                new = {}
    finally:
        if folder is not None and new:
            _save_part(folder, new)
    if not got:
        raise InputError("the data set has no labelled positions")
    order = sorted(got)
    return Features(
        torch.cat([got[i]["X"] for i in order]),  # (N, H)
        torch.cat([torch.as_tensor(dataset[i]["labels"], dtype=torch.float32) for i in order]),  # (N,)
        torch.cat([torch.full((len(dataset[i]["positions"]),), i, dtype=torch.long) for i in order]),  # (N,)
        {r: torch.cat([got[i]["rules"][r] for i in order]) for r in RULES},
        torch.cat([got[i]["F"] for i in order]),  # (N, 3)
    )


def extract_features(
    target, dataset, progress: bool = True, cache: str | Path | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``X`` (N, H) float32, ``y`` (N,) float32, ``row`` (N,) long: :func:`extract` without the rules."""
    f = extract(target, dataset, progress, cache)
    return f.X, f.y, f.rows
