import importlib.util
from pathlib import Path

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


def benchmark_script(name: str):
    """A script of ``benchmarks/`` (not a package) loaded as a module, to test its functions."""
    path = Path(__file__).parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def set_draft_len(draft, k: int) -> None:
    draft.generation_config.num_assistant_tokens = k
    draft.generation_config.num_assistant_tokens_schedule = "constant"
    draft.generation_config.assistant_confidence_threshold = 0.0


@pytest.fixture
def prompt():
    torch.manual_seed(123)
    return torch.randint(1, VOCAB, (1, 7))


SMOL = "smollm2-135m-instruct"
REAL_MODEL_FIXTURES = {"smol", "smol_tok"}  # tests using these (directly or not) are marked slow


def pytest_collection_modifyitems(config, items):
    """Mark every test that needs the real packaged model slow, whether it asks for it directly or through
    another fixture, so that ``-m "not slow"`` runs offline."""
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_configure(config):
    """Under ``-m "not slow"`` the run is offline: an empty model cache, no package index, no Hub, so a test
    that needs a packaged model or data set fails loudly unless it is marked slow."""
    if "not slow" in (config.option.markexpr or ""):
        import os
        import tempfile

        os.environ["HF_JUDGE_CACHE"] = tempfile.mkdtemp(prefix="hf_judge_offline_")  # no converted model is found
        os.environ["PIP_NO_INDEX"] = "1"  # pip download fails
        os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def tiny_tok():
    """A 300-token byte-level BPE tokenizer with a chat template, trained in a second: no download."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers, trainers
    from tokenizers import models as tok_models
    from transformers import PreTrainedTokenizerFast

    corpus = [
        "Tom has 12 apples. He gives 5 to Anna and buys 7 more. How many apples does he have now?",
        "def add(x, y):\n    return x + y\n",
        "The answer is \\boxed{42}. Reply in one or two short sentences with the final number.",
    ]
    bpe = Tokenizer(tok_models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(corpus * 3, trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", bos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )
    tok.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    return tok


@pytest.fixture(scope="session")
def smol_tok():
    """The real SmolLM2-135M-Instruct tokenizer (converted once from its PyPI package)."""
    from hf_judge.registry.packaged import load_tokenizer

    return load_tokenizer(SMOL)


@pytest.fixture(scope="session")
def smol():
    """The real SmolLM2-135M-Instruct model, fp32."""
    from hf_judge.registry.packaged import load_model

    return load_model(SMOL)


def tiny_for(tok, layers: int = 1, seed: int = 0, hidden: int = HIDDEN):
    """A tiny random llama sharing ``tok``'s vocabulary."""
    return tiny_model("llama", layers=layers, seed=seed, hidden=hidden, vocab=len(tok))
