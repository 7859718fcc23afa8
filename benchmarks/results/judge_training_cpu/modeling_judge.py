"""The judge head: a linear layer (or small MLP) over the target's last hidden state.

Stand-alone with relative imports only, so ``AutoModel.from_pretrained(repo,
trust_remote_code=True)`` loads it from the Hub without hf_judge installed.
"""

import torch
from torch import nn
from transformers import PreTrainedModel

from .configuration_judge import JudgeHeadConfig


class JudgeHead(PreTrainedModel):
    """Scores each draft token: the logit that it is an acceptable continuation.

    ``forward(hidden_states)`` takes the target's last (post-norm) hidden states at the
    draft positions, ``(..., H)``, and returns logits ``(...,)``; ``predict_proba`` returns
    probabilities.
    """

    config_class = JudgeHeadConfig
    base_model_prefix = "judge"
    main_input_name = "hidden_states"
    _no_split_modules = []

    def __init__(self, config: JudgeHeadConfig):
        super().__init__(config)
        h = config.hidden_size
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

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if hidden_states.shape[-1] != self.config.hidden_size:
            raise ValueError(
                f"hidden size {hidden_states.shape[-1]} does not match the judge's "
                f"hidden_size={self.config.hidden_size}"
            )
        w = self.net[0].weight
        return self.net(hidden_states.to(device=w.device, dtype=w.dtype)).squeeze(-1)  # (...,)

    @torch.no_grad()
    def predict_proba(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.forward(hidden_states).float())  # (...,)
