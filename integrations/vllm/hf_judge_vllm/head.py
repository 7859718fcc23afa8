"""A judge head read from its folder (``config.json`` + ``model.safetensors``, as hf_judge exports it),
with plain torch: the vLLM environment does not have hf_judge's transformers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

__all__ = ["JudgeHead", "load_head"]


@dataclass
class JudgeHead:
    net: torch.nn.Module
    hidden_size: int
    threshold: float

    @torch.no_grad()
    def scores(self, hidden: torch.Tensor) -> torch.Tensor:
        """Probability that each draft token is acceptable, from the target's last hidden state at it."""
        w = self.net[0].weight
        return torch.sigmoid(self.net(hidden.to(w.dtype)).squeeze(-1).float())  # (N,)


def load_head(folder: str | Path) -> JudgeHead:
    """The head in ``folder`` (a local folder, or a Hub repo id when ``huggingface_hub`` can reach it)."""
    folder = Path(folder)
    hub_id = not folder.is_dir() and not folder.is_absolute() and len(folder.parts) == 2
    if hub_id:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(str(folder), allow_patterns=["config.json", "model.safetensors"]))
    cfg_path, weights = folder / "config.json", folder / "model.safetensors"
    if not cfg_path.is_file() or not weights.is_file():
        raise FileNotFoundError(f"{folder} is not a judge head folder: it needs config.json and model.safetensors")
    cfg = json.loads(cfg_path.read_text())
    if cfg.get("model_type") != "judge_head":
        raise ValueError(f"{cfg_path} has model_type={cfg.get('model_type')!r}, not 'judge_head'")
    if cfg.get("logit_features", False):
        raise ValueError(
            f"{cfg_path} is a head that also reads the target's logit features (logit_features=true): the vLLM "
            "integration runs heads on hidden states only; use hf_judge's generate for this head"
        )
    h = int(cfg["hidden_size"])
    if cfg.get("head_type", "linear") == "mlp":
        m = int(cfg["mlp_hidden_size"])
        net = torch.nn.Sequential(torch.nn.Linear(h, m), torch.nn.GELU(), torch.nn.Linear(m, 1))
    else:
        net = torch.nn.Sequential(torch.nn.Linear(h, 1))
    state = {k.removeprefix("net."): v for k, v in load_file(str(weights)).items()}  # hf_judge names it net.N
    net.load_state_dict(state)
    return JudgeHead(net.eval(), h, float(cfg.get("threshold", 0.5)))
