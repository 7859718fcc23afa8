"""hf_judge: judge decoding (Bachmann et al., ICLR 2025) for Hugging Face transformers."""

from transformers import AutoConfig, AutoModel

from .api import enable, generate
from .core.configuration_judge import JudgeHeadConfig
from .core.decoding import AcceptanceStats, JudgeAssistedGenerator, JudgeGenerateOutput, judge_decode
from .core.errors import InputError
from .core.modeling_judge import JudgeHead
from .core.scorers import EntropyGated, ProbabilityRatio, Scorer, TopK
from .core.verify import Verdict, verify
from .registry.judges import load_judge
from .registry.packaged import load_model, load_tokenizer

__version__ = "0.1.0"

__all__ = [
    "AcceptanceStats",
    "EntropyGated",
    "JudgeAssistedGenerator",
    "JudgeGenerateOutput",
    "JudgeHead",
    "JudgeHeadConfig",
    "ProbabilityRatio",
    "Scorer",
    "TopK",
    "InputError",
    "Verdict",
    "enable",
    "generate",
    "judge_decode",
    "load_judge",
    "load_model",
    "load_tokenizer",
    "verify",
]

# installed users load heads with AutoModel without trust_remote_code; saved heads carry
# auto_map and the two code files so the Hub loads them without hf_judge installed
AutoConfig.register(JudgeHeadConfig.model_type, JudgeHeadConfig, exist_ok=True)
AutoModel.register(JudgeHeadConfig, JudgeHead, exist_ok=True)
JudgeHeadConfig.register_for_auto_class()
JudgeHead.register_for_auto_class("AutoModel")
