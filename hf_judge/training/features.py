"""Feature extraction: the target's last (post-norm) hidden state at each labelled position.

This is the same tensor the generate path feeds the judge (``output_hidden_states=-1`` of the
target forward, read at the draft token's own position); ``tests/test_train.py`` checks so.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..core import _compat
from ..core.errors import InputError

__all__ = ["extract_features"]


def _cache_key(target, dataset) -> str:
    digest = hashlib.sha256(f"{target.name_or_path}|{next(target.parameters()).dtype}".encode())
    for col in ("input_ids", "positions", "labels"):
        digest.update(json.dumps(list(dataset[col])).encode())
    return digest.hexdigest()[:24]


@torch.no_grad()
def extract_features(
    target, dataset, progress: bool = True, cache: str | Path | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One target forward per row. Returns ``X`` (N, H) float32, ``y`` (N,) float32, ``row`` (N,) long.

    With ``cache`` (a folder) the result is kept there under a digest of the target, its dtype and the
    data, and read back the next time instead of running the target again.
    """
    path = Path(cache) / f"{_cache_key(target, dataset)}.pt" if cache else None
    if path is not None and path.exists():
        got = torch.load(path)
        return got["X"], got["y"], got["rows"]
    X, y, rows = _extract(target, dataset, progress)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save({"X": X, "y": y, "rows": rows}, tmp)
        tmp.replace(path)
    return X, y, rows


def _extract(target, dataset, progress: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    xs, ys, rows = [], [], []
    for i, ex in enumerate(tqdm(dataset, desc="features", disable=not progress)):
        pos = torch.as_tensor(ex["positions"], dtype=torch.long)
        if len(pos) == 0:
            continue
        n = len(ex["input_ids"])
        if int(pos.max()) >= n or int(pos.min()) < 0:
            raise InputError(f"row {i}: positions {pos.tolist()} fall outside its {n} tokens")
        ids = torch.as_tensor([ex["input_ids"]], dtype=torch.long, device=target.device)
        hidden = _compat.last_hidden_states(target, ids)[0]  # (T, H)
        xs.append(hidden[pos.to(hidden.device)].float().cpu())  # (P, H)
        ys.append(torch.as_tensor(ex["labels"], dtype=torch.float32))
        rows.append(torch.full((len(pos),), i, dtype=torch.long))
    if not xs:
        raise InputError("the data set has no labelled positions")
    return torch.cat(xs), torch.cat(ys), torch.cat(rows)
