"""hf_judge: judge decoding (Bachmann et al., ICLR 2025) for Hugging Face transformers."""

from transformers import AutoConfig, AutoModel

from .configuration_judge import JudgeHeadConfig
from .decoding import AcceptanceStats, JudgeAssistedGenerator, JudgeGenerateOutput, enable, generate, judge_decode
from .modeling_judge import JudgeHead
from .verify import Verdict, verify

__version__ = "0.1.0"

__all__ = [
    "AcceptanceStats",
    "JudgeAssistedGenerator",
    "JudgeGenerateOutput",
    "JudgeHead",
    "JudgeHeadConfig",
    "Verdict",
    "enable",
    "generate",
    "judge_decode",
    "verify",
]

# installed users load heads with AutoModel without trust_remote_code; saved heads carry
# auto_map and the two code files so the Hub loads them without hf_judge installed
AutoConfig.register(JudgeHeadConfig.model_type, JudgeHeadConfig, exist_ok=True)
AutoModel.register(JudgeHeadConfig, JudgeHead, exist_ok=True)
JudgeHeadConfig.register_for_auto_class()
JudgeHead.register_for_auto_class("AutoModel")
