"""A judge head read from its folder (``config.json`` + ``model.safetensors``, as hf_judge exports it),
with plain torch: the vLLM environment does not have hf_judge's transformers."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

__all__ = ["JudgeHead", "load_head"]


def logit_features(target_logits: torch.Tensor, draft_ids: torch.Tensor) -> torch.Tensor:
    """hf_judge's ``modeling_judge.logit_features``: (N, V) logits that predict (N,) draft tokens -> (N, 3):
    log(p(d) / max p) clamped at -30, log of d's rank, entropy / log V. tests/test_vllm.py checks the two agree."""
    logp = target_logits.float().log_softmax(-1)  # (N, V)
    own = logp.gather(-1, draft_ids[..., None].to(logp.device))  # (N, 1)
    log_ratio = (own[..., 0] - logp.max(-1).values).clamp_min(-30.0)  # (N,)
    log_rank = ((logp > own).sum(-1) + 1).float().log()  # (N,)
    entropy = -(logp.exp() * logp.clamp_min(-1e4)).sum(-1) / math.log(logp.shape[-1])  # (N,)
    return torch.stack([log_ratio, log_rank, entropy], -1)  # (N, 3)


@dataclass
class JudgeHead:
    net: torch.nn.Module
    hidden_size: int
    threshold: float
    reads_logits: bool = False  # also reads logit_features of the target's logits at each draft token
    hidden_layer: int = -1  # which of the target's hidden states it reads, as transformers indexes them (-1: last)
    min_ratio: float = 0.0  # its plausibility floor: it keeps no draft token whose p(d) / max p is at most this

    def vllm_layer(self, num_layers: int) -> int | None:
        """The layer index vLLM's EAGLE-3 auxiliary outputs use for this head's hidden state (0: the embeddings,
        i: the residual stream after decoder layer i, as transformers' ``hidden_states[i]``), or None for the
        last, normed hidden state (the one vLLM turns into logits). ``num_layers``: the target's decoder layers."""
        i = self.hidden_layer if self.hidden_layer >= 0 else num_layers + 1 + self.hidden_layer
        if not 0 <= i <= num_layers:
            raise ValueError(
                f"the judge reads hidden_layer={self.hidden_layer}, not a hidden state of a target with "
                f"{num_layers} layers (-{num_layers + 1} .. {num_layers})"
            )
        return None if i == num_layers else i

    @torch.no_grad()
    def scores(
        self, hidden: torch.Tensor, target_logits: torch.Tensor | None = None, draft_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Probability that each draft token is acceptable, from the target's hidden state at it (N, H; the head's
        layer) and, for a head that reads them, the target's logits that predict it (N, V) and the draft tokens (N,)."""
        w = self.net[0].weight
        x = hidden.to(w.dtype)  # (N, H)
        if self.reads_logits:
            if target_logits is None or draft_ids is None:
                raise ValueError("this judge reads the target's logits: pass target_logits and draft_ids")
            x = torch.cat([x, logit_features(target_logits, draft_ids).to(device=x.device, dtype=w.dtype)], -1)
        return torch.sigmoid(self.net(x).squeeze(-1).float())  # (N,)


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
    h = int(cfg["hidden_size"])
    reads_logits = bool(cfg.get("logit_features", False))
    n_in = h + 3 if reads_logits else h  # the hidden state, then the three logit features
    if cfg.get("head_type", "linear") == "mlp":
        m = int(cfg["mlp_hidden_size"])
        net = torch.nn.Sequential(torch.nn.Linear(n_in, m), torch.nn.GELU(), torch.nn.Linear(m, 1))
    else:
        net = torch.nn.Sequential(torch.nn.Linear(n_in, 1))
    state = {k.removeprefix("net."): v for k, v in load_file(str(weights)).items()}  # hf_judge names it net.N
    net.load_state_dict(state)
    threshold, min_ratio = float(cfg.get("threshold", 0.5)), float(cfg.get("min_ratio", 0.0))
    return JudgeHead(net.eval(), h, threshold, reads_logits, int(cfg.get("hidden_layer", -1)), min_ratio)
