"""The judge head: a linear layer (or small MLP) over one of the target's hidden states (the last, as in the
paper, or the layer ``config.hidden_layer`` names), optionally joined by three features of the target's
logits at the same draft token.

Stand-alone with relative imports only, so ``AutoModel.from_pretrained(repo,
trust_remote_code=True)`` loads it from the Hub without hf_judge installed.
"""

import math

import torch
from torch import nn
from transformers import PreTrainedModel

from .configuration_judge import JudgeHeadConfig

# what logit_features() returns, in order
LOGIT_FEATURES = ("log_ratio", "log_rank", "entropy")


def logit_features(target_logits: torch.Tensor, draft_ids: torch.Tensor) -> torch.Tensor:
    """``target_logits`` (..., V), the target's logits at the position that predicts each draft token, and
    ``draft_ids`` (...,) -> (..., 3): log(p(d) / max p) (clamped at -30), log of d's rank under the target
    (0 for its own choice) and the target's entropy / log V."""
    logp = target_logits.float().log_softmax(-1)  # (..., V)
    own = logp.gather(-1, draft_ids[..., None].to(logp.device))  # (..., 1)
    log_ratio = (own[..., 0] - logp.max(-1).values).clamp_min(-30.0)  # (...,)
    log_rank = ((logp > own).sum(-1) + 1).float().log()  # (...,)
    entropy = -(logp.exp() * logp.clamp_min(-1e4)).sum(-1) / math.log(logp.shape[-1])  # (...,)
    return torch.stack([log_ratio, log_rank, entropy], -1)  # (..., 3)


class JudgeHead(PreTrainedModel):
    """Scores each draft token: the logit that it is an acceptable continuation.

    ``forward(hidden_states, features=None)`` takes the target's last (post-norm) hidden states at the
    draft positions, ``(..., H)``, and, for a head with ``config.logit_features``, their
    :func:`logit_features` ``(..., 3)``; it returns logits ``(...,)``. ``predict_proba(hidden_states,
    target_logits=None, draft_ids=None)`` returns probabilities, computing the features from the target's
    logits where the head reads them.
    """

    config_class = JudgeHeadConfig
    base_model_prefix = "judge"
    main_input_name = "hidden_states"
    _no_split_modules = []

    def __init__(self, config: JudgeHeadConfig):
        super().__init__(config)
        h = config.hidden_size + (len(LOGIT_FEATURES) if self.reads_logits else 0)
        if config.head_type == "mlp":
            self.net = nn.Sequential(
                nn.Linear(h, config.mlp_hidden_size), nn.GELU(), nn.Linear(config.mlp_hidden_size, 1)
            )
        else:
            self.net = nn.Sequential(nn.Linear(h, 1))
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)

    @property
    def threshold(self) -> float:
        return self.config.threshold

    @property
    def min_ratio(self) -> float:
        """The head's plausibility floor (``config.min_ratio``; 0 for a config saved before it existed)."""
        return float(getattr(self.config, "min_ratio", 0.0))

    @property
    def reads_logits(self) -> bool:
        """Whether the head needs the target's logits at the draft tokens besides the hidden states."""
        return bool(getattr(self.config, "logit_features", False))

    def forward(self, hidden_states: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        if hidden_states.shape[-1] != self.config.hidden_size:
            raise ValueError(
                f"hidden size {hidden_states.shape[-1]} does not match the judge's "
                f"hidden_size={self.config.hidden_size}"
            )
        w = self.net[0].weight
        x = hidden_states.to(device=w.device, dtype=w.dtype)  # (..., H)
        if self.reads_logits:
            want = (*hidden_states.shape[:-1], len(LOGIT_FEATURES))
            if features is None or tuple(features.shape) != want:
                got = None if features is None else tuple(features.shape)
                raise ValueError(f"this judge reads logit features of shape {want} beside the hidden states, got {got}")
            x = torch.cat([x, features.to(device=w.device, dtype=w.dtype)], -1)  # (..., H + 3)
        elif features is not None:
            raise ValueError("this judge reads hidden states only (config.logit_features=False): pass no features")
        return self.net(x).squeeze(-1)  # (...,)

    @torch.no_grad()
    def predict_proba(
        self,
        hidden_states: torch.Tensor,
        target_logits: torch.Tensor | None = None,
        draft_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Probabilities ``(...,)``; ``target_logits`` (..., V) and ``draft_ids`` (...,) are needed iff
        :attr:`reads_logits` (the logits that predict each draft token, before any sampling processor)."""
        features = None
        if self.reads_logits:
            if target_logits is None or draft_ids is None:
                raise ValueError("this judge reads the target's logits: pass target_logits and draft_ids")
            features = logit_features(target_logits, draft_ids)  # (..., 3)
        return torch.sigmoid(self.forward(hidden_states, features).float())  # (...,)
