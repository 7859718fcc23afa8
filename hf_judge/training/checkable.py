"""Checkable tasks: GSM8K-style word problems with known answers, and answer extraction."""

from __future__ import annotations

import hashlib
import random
import re
from fractions import Fraction

from ..core.errors import InputError

__all__ = [
    "SPLITS",
    "boxed_answer_written",
    "boxed_contents",
    "draw_distinct",
    "extract_number",
    "gsm_style_items",
    "is_correct_number",
    "norm_answer",
    "norm_fraction",
    "norm_number",
    "question_split",
    "word_problems",
]

SPLITS = ("train", "test")

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


_PEOPLE = (
    "Tom",
    "Anna",
    "Lena",
    "Omar",
    "Sara",
    "Ken",
    "Mia",
    "Ravi",
    "Lucy",
    "Ben",
    "Priya",
    "Jonas",
    "Aiko",
    "Diego",
)


def _word_problem(rng: random.Random) -> dict:
    """One multi-step word problem (two to four operations) with an integer answer."""
    name, other = rng.sample(_PEOPLE, 2)
    thing = rng.choice(_THINGS)
    r = rng.randint
    kind = rng.randrange(12)
    if kind == 0:
        a, p, b, q = r(2, 9), r(2, 15), r(2, 9), r(2, 15)
        bill = ((a * p + b * q) // 10 + r(1, 5)) * 10
        q_ = (
            f"{name} buys {a} notebooks at ${p} each and {b} pens at ${q} each, and pays with ${bill}. "
            f"How much change does {name} get?"
        )
        ans = bill - a * p - b * q
    elif kind == 1:
        s1, h1, s2, h2 = r(3, 12), r(2, 6), r(3, 12), r(1, 5)
        q_ = (
            f"{name} cycles at {s1} km per hour for {h1} hours, then at {s2} km per hour for {h2} more hours. "
            f"How many kilometres does {name} cycle in total?"
        )
        ans = s1 * h1 + s2 * h2
    elif kind == 2:
        price, off, n = r(2, 30) * 20, rng.choice((10, 20, 25, 50)), r(2, 6)
        q_ = (
            f"A jacket costs ${price}. During a sale it is {off}% off. "
            f"{name} buys {n} jackets at the sale price. How much does {name} pay?"
        )
        ans = price * (100 - off) // 100 * n
    elif kind == 3:
        gap, young, later = r(2, 30), r(4, 40), r(1, 15)
        q_ = (
            f"{name} is {gap} years older than {other}. {other} is {young} years old. "
            f"What will the sum of their ages be in {later} years?"
        )
        ans = 2 * young + gap + 2 * later
    elif kind == 4:
        per_hour, hours, days, price = r(3, 20), r(2, 8), r(2, 6), r(2, 9)
        q_ = (
            f"{name} makes {per_hour} {thing} an hour and works {hours} hours a day for {days} days, "
            f"then sells every one for ${price}. How much money does {name} earn?"
        )
        ans = per_hour * hours * days * price
    elif kind == 5:
        k, lost = rng.choice((2, 3, 4, 5)), r(1, 9)
        total = k * r(4, 30)
        lost = min(lost, total - total // k)
        q_ = (
            f"{name} has {total} {thing} and gives 1/{k} of them to {other}. "
            f"Then {name} loses {lost} of the rest. How many {thing} does {name} have left?"
        )
        ans = total - total // k - lost
    elif kind == 6:
        save, weeks, spend = r(3, 25), r(4, 20), r(5, 60)
        spend = min(spend, save * weeks)
        q_ = (
            f"{name} saves ${save} every week for {weeks} weeks and then spends ${spend} on a gift. "
            f"How many dollars does {name} have left?"
        )
        ans = save * weeks - spend
    elif kind == 7:
        cups, serves, mult = r(2, 6), r(2, 6), r(2, 6)
        q_ = (
            f"A soup recipe needs {cups} cups of water for {serves} people. "
            f"How many cups of water are needed for {serves * mult} people?"
        )
        ans = cups * mult
    elif kind == 8:
        seats, students, adults = r(20, 50), r(40, 200), r(2, 12)
        q_ = (
            f"A school trip has {students} students and {adults} teachers. Each bus holds {seats} people. "
            f"How many buses are needed?"
        )
        ans = -(-(students + adults) // seats)
    elif kind == 9:
        length, width, cost = r(3, 20), r(2, 15), r(2, 12)
        q_ = (
            f"A room is {length} metres long and {width} metres wide. "
            f"Flooring costs ${cost} per square metre. How much does flooring the whole room cost?"
        )
        ans = length * width * cost
    elif kind == 10:
        a, b, c = r(10, 60), r(2, 5), r(3, 30)
        q_ = (
            f"{other} has {a} {thing}. {name} has {b} times as many as {other}, minus {c}. "
            f"How many {thing} do they have together?"
        )
        ans = a + a * b - c
    else:
        start, per_day, days, used = r(20, 200), r(2, 15), r(3, 14), r(1, 30)
        q_ = (
            f"A tank holds {start} litres of water. "
            f"Each day {per_day} litres are added, and after {days} days {used} litres are used. "
            "How many litres are in the tank now?"
        )
        ans = start + per_day * days - used
    return {"question": q_, "answer": str(ans)}


def word_problems(n: int, seed: int = 0, split: str = "train") -> list[dict]:
    """``n`` multi-step word problems ``{"question", "answer"}`` of one ``split``, reproducible from ``seed``.

    The split is decided by the question text alone (a hash), so the 'test' items the bench asks
    can never appear in 'train', whatever seeds either side uses.
    """
    rng = random.Random(f"{split}:{seed}")
    return draw_distinct(lambda: _word_problem(rng), n, split, lambda x: question_split(x["question"]), "word problems")


def draw_distinct(make, n: int, split: str, split_of, what: str) -> list[dict]:
    """``n`` items ``make()`` of ``split`` (by ``split_of(item)``) with distinct questions, in drawing order."""
    if split not in SPLITS:
        raise InputError(f"split={split!r} is not one of {SPLITS}")
    out, seen, misses = [], set(), 0
    while len(out) < n:
        x = make()
        if split_of(x) == split and x["question"] not in seen:
            seen.add(x["question"])
            out.append(x)
            misses = 0
        elif (misses := misses + 1) > 20_000:  # the templates have run out of new questions
            raise InputError(f"only {len(out)} distinct {split} {what} found for n={n}: ask for fewer")
    return out


def question_split(question: str) -> str:
    """'test' for one question in five (by hash of its text), else 'train'."""
    return "test" if hashlib.sha256(question.encode()).digest()[0] % 5 == 0 else "train"


_NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def boxed_contents(text: str) -> list[str]:
    """The contents of every ``\\boxed{...}`` in ``text``, nested braces kept (``\\boxed{\\frac{3}{4}}``)."""
    out, i, opening = [], 0, "\\boxed{"
    while (start := text.find(opening, i)) != -1:
        depth, j = 1, start + len(opening)
        while j < len(text) and depth:
            depth += (text[j] == "{") - (text[j] == "}")
            j += 1
        if depth == 0:
            out.append(text[start + len(opening) : j - 1])
        i = start + len(opening)
    return out


def extract_number(text: str) -> str | None:
    """The final answer of a response, as :func:`norm_answer` spells it: the last ``\\boxed{...}`` holding a digit
    (read whole: a fraction is not its numerator), else the number after 'answer', else the last number."""
    boxed = [b for b in boxed_contents(text) if re.search(r"\d", b)]
    if boxed:
        return norm_answer(boxed[-1])
    m = re.findall(r"answer(?: is)?[:\s]*\**\s*(-?\d[\d,]*(?:\.\d+)?)", text, flags=re.IGNORECASE)
    if m:
        return norm_number(m[-1])
    nums = _NUM.findall(text)
    return norm_number(nums[-1]) if nums else None


# what a final answer may carry that is not its value: spaces, $...$, LaTeX spacing, units in \text{}, percent, degrees
_DECOR = re.compile(
    r"\\(?:text|mathrm|mbox|textbf)\{[^{}]*\}|\\?\$|\\?%|\\[!,;: ]|\\left|\\right|\^\{?\\circ\}?|\\circ|\s"
)
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]+(?![\dA-Za-z])")  # a word, not a LaTeX command nor 1.5e3's e


def norm_answer(x: str) -> str:
    """One spelling per final answer, the gold one and the model's alike: decoration dropped (spaces,
    ``$...$``, ``\\text{...}`` units, ``\\%``, degrees, words beside a number), the value after a last ``=``
    (``5 + 7 = 12``, ``x = -3``), then a number or a fraction of two numbers by value (:func:`norm_number`,
    :func:`norm_fraction`) or an expression as written (``\\dfrac`` and ``\\tfrac`` as ``\\frac``)."""
    t = _DECOR.sub("", str(x)).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").rsplit("=", 1)[-1]
    return norm_fraction(norm_number(_WORD.sub("", t) if re.search(r"\d", t) else t))  # words beside a number go


_FRACTION = re.compile(r"([+-]?)(?:\\frac\{([+-]?[\d.]+)\}\{([+-]?[\d.]+)\}|([+-]?[\d.]+)/([+-]?[\d.]+))")


def norm_fraction(x: str) -> str:
    """A fraction of two numbers (``\\frac{3}{4}``, ``3/4``, ``-\\frac{6}{8}``) by value: as :func:`norm_number`
    spells its decimal where that ends (``0.75``, ``-0.75``), else in lowest terms (``1/3``); anything else as
    it came."""
    m = _FRACTION.fullmatch(x)
    if m is None:
        return x
    try:
        num, den = Fraction(m.group(2) or m.group(4)), Fraction(m.group(3) or m.group(5))
    except ValueError:  # "1.2.3"
        return x
    if den == 0:
        return x
    v = num / den * (-1 if m.group(1) == "-" else 1)
    twos = fives = 0
    q = v.denominator
    while q % 2 == 0:
        q, twos = q // 2, twos + 1
    while q % 5 == 0:
        q, fives = q // 5, fives + 1
    if q == 1:  # a terminating decimal, written exactly: 3/4 is 0.75
        n = max(twos, fives)
        scaled = abs(v.numerator) * 10**n // v.denominator
        sign = "-" if v < 0 else ""
        return norm_number(f"{sign}{scaled // 10**n}.{scaled % 10**n:0{n}d}" if n else f"{sign}{scaled}")
    return f"{v.numerator}/{v.denominator}"


def norm_number(x: str) -> str:
    """One spelling per number: commas, a plus sign, leading zeros and trailing decimal zeros dropped
    (``"+018.50"`` -> ``"18.5"``, ``"1,200.0"`` -> ``"1200"``, ``"-0"`` -> ``"0"``); anything that is not a
    number comes back stripped of spaces and commas only."""
    t = str(x).strip().replace(",", "")
    m = re.fullmatch(r"([+-]?)(\d*)(?:\.(\d*))?", t)
    if m is None or not (m.group(2) or m.group(3)):
        return t
    whole, frac = m.group(2).lstrip("0") or "0", (m.group(3) or "").rstrip("0")
    num = whole + ("." + frac if frac else "")
    return "-" + num if m.group(1) == "-" and num != "0" else num


_BOXED = re.compile(r"\\boxed\{[^{}]*\}")


def boxed_answer_written(text: str) -> bool:
    """Whether ``text`` already holds a closed ``\\boxed{...}``: the answer is decided from there on."""
    return _BOXED.search(text) is not None


def is_correct_number(response: str, answer: str) -> bool:
    got = extract_number(response)
    return got is not None and got == norm_answer(str(answer))
