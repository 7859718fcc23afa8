"""Finding judge heads: the ones shipped with hf_judge, local folders and Hub repos."""

from __future__ import annotations

from pathlib import Path

from safetensors import SafetensorError

from ..core.errors import InputError
from ..core.modeling_judge import JudgeHead
from ..core.scorers import SCORERS, scorer_from_spec
from .packaged import same_model

__all__ = ["SHIPPED", "load_judge", "load_judge_or_rule", "shipped_head_dir"]

_HEADS = Path(__file__).parent / "heads"
SHIPPED = {  # target alias -> folder under hf_judge/heads
    "qwen2.5-coder-1.5b-instruct": "qwen2.5-coder-1.5b--0.5b",
}


def shipped_head_dir(target: str) -> Path:
    name = next((folder for alias, folder in SHIPPED.items() if same_model(alias, target)), None)
    if name is None or not (_HEADS / name / "config.json").exists():
        raise FileNotFoundError(
            f"no judge head ships for target {target!r} (shipped: {sorted(SHIPPED)}); "
            "train one with `hf-judge train` and pass --judge PATH"
        )
    return _HEADS / name


def load_judge(name_or_path: str = "default", target: str | None = None) -> JudgeHead:
    """``'default'`` (the head shipped for ``target``), a local folder, or a Hub repo id.

    A folder that is not a judge head (no ``config.json`` or ``model.safetensors``), damaged weights,
    or a head trained for another target than ``target`` are errors that name the folder and models.
    """
    if name_or_path == "default":
        if target is None:
            raise InputError("judge='default' needs the target's name to pick the shipped head")
        name_or_path = str(shipped_head_dir(target))
    folder = Path(name_or_path)
    if folder.exists():
        for needed in ("config.json", "model.safetensors"):
            if not (folder / needed).is_file():
                raise InputError(f"{folder} is not a judge head folder: it has no {needed}")
    elif name_or_path.startswith(("/", ".", "~")) or name_or_path.count("/") > 1:  # a path, not org/name
        raise InputError(f"no judge head folder at {name_or_path} (and it is no Hub repo id, which reads org/name)")
    try:
        head = JudgeHead.from_pretrained(name_or_path).eval()
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise InputError(
            f"could not load the judge head from {name_or_path}: {e} "
            "(a truncated or corrupted model.safetensors, or a config.json that is not a judge head's)"
        ) from e
    trained_for = head.config.target_model
    if target is not None and trained_for and not same_model(trained_for, target):
        raise InputError(
            f"the judge head at {name_or_path} was trained for target {trained_for!r}, not {target!r}: "
            "its scores mean nothing for another model; train one for this target with `hf-judge train`"
        )
    return head


def load_judge_or_rule(name: str, target: str | None = None, device=None):
    """What a judge's name means: a training-free rule for a spec (``"top-k:2"``, ``"ratio:0.3"``,
    ``"entropy:0.4"``), else the head :func:`load_judge` finds for ``target`` (moved to ``device`` if given)."""
    if name.partition(":")[0] in SCORERS:
        return scorer_from_spec(name)
    head = load_judge(name, target=target)
    return head if device is None else head.to(device)
