"""Feature extraction: the target's last (post-norm) hidden state at each labelled position.

This is the same tensor the generate path feeds the judge (``output_hidden_states=-1`` of the
target forward, read at the draft token's own position); ``tests/test_train.py`` checks so.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from ..core import _compat
from ..core.errors import InputError

__all__ = ["extract_features"]


@torch.no_grad()
def extract_features(target, dataset, progress: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One target forward per row. Returns ``X`` (N, H) float32, ``y`` (N,) float32, ``row`` (N,) long."""
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
