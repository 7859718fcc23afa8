"""Checkable tasks: GSM8K-style word problems with known answers, and answer extraction."""

from __future__ import annotations

import random
import re

__all__ = ["extract_number", "gsm_style_items", "is_correct_number"]

_NAMES = ("Tom", "Anna", "Lena", "Omar", "Sara", "Ken", "Mia", "Ravi", "Lucy", "Ben")
_THINGS = ("apples", "books", "marbles", "stickers", "pencils", "cookies", "coins", "cards")


def _item(rng: random.Random) -> dict:
    name, thing = rng.choice(_NAMES), rng.choice(_THINGS)
    a, b, c = rng.randint(3, 40), rng.randint(2, 15), rng.randint(2, 20)
    kind = rng.randrange(4)
    if kind == 0:
        b = min(b, a)
        q = f"{name} has {a} {thing}. {name} gives away {b} and then gets {c} more. "
        q += f"How many {thing} does {name} have now?"
        ans = a - b + c
    elif kind == 1:
        q = f"{name} buys {b} boxes of {thing} with {c} {thing} in each box. How many {thing} is that in total?"
        ans = b * c
    elif kind == 2:
        people, per = rng.randint(2, 6), rng.randint(2, 12)
        total = people * per + rng.randint(0, people - 1)
        q = (
            f"{name} shares {total} {thing} equally among {people} children; each child gets as many as possible "
            f"and the rest are kept. How many {thing} does each child get?"
        )
        ans = per
    else:
        q = f"A shelf holds {a} {thing}. {b} more shelves hold {c} {thing} each. How many {thing} are there altogether?"
        ans = a + b * c
    return {"question": q, "answer": str(ans)}


def gsm_style_items(n: int, seed: int = 0) -> list[dict]:
    """``n`` arithmetic word problems ``{"question", "answer"}``, reproducible from ``seed``."""
    rng = random.Random(seed)
    return [_item(rng) for _ in range(n)]


_NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def extract_number(text: str) -> str | None:
    """The final answer of a response: a boxed number, else the number after 'answer', else the last number."""
    for pat in (r"\\boxed\{([^}]*)\}", r"answer(?: is)?[:\s]*\**\s*(-?\d[\d,]*(?:\.\d+)?)"):
        m = re.findall(pat, text, flags=re.IGNORECASE)
        if m and _NUM.search(m[-1]):
            return _norm(_NUM.findall(m[-1])[-1])
    nums = _NUM.findall(text)
    return _norm(nums[-1]) if nums else None


def _norm(x: str) -> str:
    x = x.replace(",", "")
    return x[:-2] if x.endswith(".0") else x


def is_correct_number(response: str, answer: str) -> bool:
    got = extract_number(response)
    return got is not None and got == _norm(str(answer))
