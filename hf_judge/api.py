"""The user-facing entry points: ``hf_judge.generate`` and ``hf_judge.enable``.

They add what the core loop leaves to its caller: ``judge=`` may be a loaded head, a local
folder, a Hub repo id, ``"default"`` (the head shipped with hf_judge for the target), or a
training-free rule (``"top-k:2"``, ``"ratio:0.3"``, ``"entropy:0.4"``).
"""

from __future__ import annotations

import os
import types

from .core import decoding
from .registry.judges import load_judge_or_rule

__all__ = ["enable", "generate", "resolve_judge"]


def resolve_judge(judge, model):
    """A loaded judge for ``judge``: a head, a folder, a Hub repo id, ``"default"``, or a training-free rule
    (``"top-k:2"``, ``"ratio:0.3"``, ``"entropy:0.4"``); heads land on ``model``'s device."""
    if isinstance(judge, str | os.PathLike):
        return load_judge_or_rule(str(judge), target=getattr(model, "name_or_path", None) or None, device=model.device)
    return judge


def generate(model, *args, judge=None, **kwargs):
    """``model.generate(*args, **kwargs)`` with judge decoding when ``judge`` is given.

    Without ``judge`` this is exactly stock ``generate`` (stock assisted generation when an
    ``assistant_model`` is passed). ``judge_threshold``, ``judge_min_ratio`` and ``num_assistant_tokens``
    (the draft length) are taken as keyword arguments, see :class:`hf_judge.JudgeAssistedGenerator`.
    """
    return decoding.generate(model, *args, judge=resolve_judge(judge, model), **kwargs)


def enable(model):
    """Let ``model.generate(..., assistant_model=draft, judge=head)`` run judge decoding.

    Patches this one model instance (not its class) and returns it.
    """
    model.generate = types.MethodType(generate, model)
    return model
