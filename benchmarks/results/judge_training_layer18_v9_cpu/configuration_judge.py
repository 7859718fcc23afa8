"""Configuration of a judge head (stand-alone: shipped to the Hub with the weights)."""

from transformers import PretrainedConfig

HEAD_TYPES = ("linear", "mlp")


def _unit(name: str, value) -> float:
    """``value`` as a float in [0, 1], or a ValueError naming ``name`` and the value."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} must be a number in [0, 1]") from None
    if not 0.0 <= x <= 1.0:  # also false for NaN
        raise ValueError(f"{name}={value!r} must lie in [0, 1]")
    return x


class JudgeHeadConfig(PretrainedConfig):
    """Configuration of a :class:`JudgeHead`.

    Args:
        hidden_size: size of the target model's hidden state the head reads; must equal
            the target's ``config.hidden_size``.
        hidden_layer: which of the target's hidden states it reads, as transformers indexes
            ``hidden_states``: -1 (the default, the paper's) the last, post-norm one; ``i`` the output of
            decoder layer ``i`` (0: the embeddings). The verification forward returns the one asked for
            at no extra cost. Must lie in [-(L + 1), L] for a target of L layers (checked when the head
            meets its target).
        head_type: ``"linear"`` (the paper's judge) or ``"mlp"`` (one hidden layer).
        logit_features: also read three features of the target's own logits at the position that predicts
            the draft token (``LOGIT_FEATURES`` of ``modeling_judge``: log probability ratio, log rank,
            normalised entropy), which the verification forward has at no extra cost: the head then sees what
            the free rules see, besides the hidden state.
        mlp_hidden_size: width of the hidden layer when ``head_type="mlp"``.
        threshold: default decision threshold on the judge's probability that a draft
            token is correct; a score strictly above it accepts. 1.0 never accepts.
        min_ratio: default plausibility floor: the judge keeps no draft token whose target probability ratio
            p(d) / max p is at most this (standard verification still keeps the target's own choice). 0, the
            default, bars none. Like ``threshold``, a setting of the head that a call may override
            (``judge_min_ratio=``).
        target_model: name or path of the target model the head was trained on.
        draft_model: name or path of the draft model the head was trained for.
    """

    model_type = "judge_head"

    def __init__(
        self,
        hidden_size: int = 4096,
        hidden_layer: int = -1,
        head_type: str = "linear",
        logit_features: bool = False,
        mlp_hidden_size: int = 256,
        threshold: float = 0.5,
        min_ratio: float = 0.0,
        target_model: str | None = None,
        draft_model: str | None = None,
        **kwargs,
    ):
        if head_type not in HEAD_TYPES:
            raise ValueError(f"{head_type=} is not one of {HEAD_TYPES}")
        for name, size in (("hidden_size", hidden_size), ("mlp_hidden_size", mlp_hidden_size)):
            if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
                raise ValueError(f"{name}={size!r} must be a positive int")
        threshold = _unit("threshold", threshold)
        min_ratio = _unit("min_ratio", min_ratio)
        if not isinstance(logit_features, bool):
            raise ValueError(f"{logit_features=} must be True or False")
        if not isinstance(hidden_layer, int) or isinstance(hidden_layer, bool):
            raise ValueError(f"{hidden_layer=} must be an int: an index into the target's hidden states")
        self.hidden_size = hidden_size
        self.hidden_layer = hidden_layer
        self.head_type = head_type
        self.logit_features = logit_features
        self.mlp_hidden_size = mlp_hidden_size
        self.threshold = threshold
        self.min_ratio = min_ratio
        self.target_model = target_model
        self.draft_model = draft_model
        super().__init__(**kwargs)
