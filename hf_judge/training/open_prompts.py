"""Open-ended prompts written for this project (never MT-Bench): writing, role-play, explanation,
advice, comparison, reasoning and code explanation, from templates and topic lists.

Nothing in their answers can be checked, so their judge data are labelled by whether a draft token
keeps the target's own answer (:func:`hf_judge.training.data.preservation`). Split into 'train'
and 'test' by a hash of the prompt, as the other item sources are.
"""

from __future__ import annotations

import random

from .checkable import draw_distinct, question_split

__all__ = ["open_prompts"]

_TOPICS = (
    "volcanoes",
    "honey bees",
    "the printing press",
    "rainforests",
    "black holes",
    "the water cycle",
    "public libraries",
    "electric cars",
    "the Silk Road",
    "coral reefs",
    "vaccines",
    "the Moon landing",
    "recycling",
    "jazz music",
    "chess",
    "bridges",
    "solar panels",
    "sleep",
    "glaciers",
    "the internet",
)
_ACTIVITIES = (
    "learning a new language",
    "running a first marathon",
    "keeping houseplants alive",
    "saving money",
    "preparing for a job interview",
    "starting to cook at home",
    "reading more books",
    "taking better photos",
    "working from home",
    "planning a trip on a budget",
    "learning to play the guitar",
    "studying for exams",
)
_ROLES = (
    ("a museum guide", "a group of visitors at the entrance"),
    ("a ship's captain", "the crew before a storm"),
    ("a friendly librarian", "a child looking for a first book"),
    ("a personal trainer", "a client on their first day"),
    ("a medieval innkeeper", "a tired traveller"),
    ("a tour guide in Rome", "tourists at the Colosseum"),
    ("a chef", "kitchen staff before a busy evening"),
    ("a science teacher", "students on the first day of school"),
)
_PAIRS = (
    ("trains", "planes"),
    ("cats", "dogs"),
    ("paper books", "e-books"),
    ("tea", "coffee"),
    ("city life", "country life"),
    ("Python", "JavaScript"),
    ("renting", "buying a home"),
    ("summer", "winter"),
    ("walking", "cycling to work"),
    ("email", "phone calls"),
)
_SNIPPETS = (
    "def f(xs):\n    return [x for x in xs if x % 2 == 0]",
    "def f(s):\n    return s[::-1] == s",
    "def f(d):\n    return sorted(d, key=d.get, reverse=True)[:3]",
    "def f(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a",
    "def f(words):\n    counts = {}\n    for w in words:\n        counts[w] = counts.get(w, 0) + 1\n    return counts",
    "def f(xs):\n    seen = set()\n    return [x for x in xs if not (x in seen or seen.add(x))]",
    "def f(path):\n    with open(path) as fh:\n        return sum(1 for line in fh if line.strip())",
    "def f(a, b):\n    while b:\n        a, b = b, a % b\n    return a",
)
_PUZZLES = (
    "If all bloops are razzies and all razzies are lazzies, are all bloops lazzies? Explain your reasoning.",
    "A farmer has 17 sheep and all but 9 run away. How many are left? Explain briefly.",
    "Which is heavier, a kilogram of feathers or a kilogram of iron? Explain.",
    "If it takes 5 machines 5 minutes to make 5 widgets, how long do 100 machines take to make 100 widgets?",
    "Anna is taller than Ben, and Ben is taller than Chris. Who is the shortest? Explain.",
    "A clock shows 3:15. What is the angle between the hour and the minute hands? Explain your steps.",
)


_AUDIENCES = ("a general audience", "a school newsletter", "a travel magazine", "engineers", "curious teenagers")
_COUNTS = ("two", "three", "four", "five")
_ROLE_TASKS = ("tell them what to expect", "answer their most common question", "give them one warning and one tip")
_COMPARE = ("give two advantages of each", "say which you would pick and why", "list their main differences")
_CODE_ASKS = (
    "Explain what this Python function does and give an example call",
    "Suggest a better name for this Python function and write a docstring for it",
    "Describe the running time of this Python function and how it could fail",
)
_POEMS = ("a four-line poem", "a haiku", "a limerick", "a short rhyming couplet")


def _prompt(rng: random.Random) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return f"Write a short paragraph about {rng.choice(_TOPICS)} for {rng.choice(_AUDIENCES)}."
    if kind == 1:
        return f"Explain {rng.choice(_TOPICS)} to {rng.choice(_AUDIENCES)} in a few sentences."
    if kind == 2:
        return f"Give {rng.choice(_COUNTS)} practical tips for {rng.choice(_ACTIVITIES)}."
    if kind == 3:
        role, who = rng.choice(_ROLES)
        return f"You are {role}. Greet {who} and {rng.choice(_ROLE_TASKS)}, in character."
    if kind == 4:
        a, b = rng.choice(_PAIRS)
        return f"Compare {a} and {b}: {rng.choice(_COMPARE)}."
    if kind == 5:
        return f"{rng.choice(_CODE_ASKS)}:\n\n{rng.choice(_SNIPPETS)}"
    if kind == 6:
        return rng.choice(_PUZZLES)
    return f"Write {rng.choice(_POEMS)} about {rng.choice(_TOPICS)}."


def open_prompts(n: int, seed: int = 0, split: str = "train") -> list[dict]:
    """``n`` distinct open-ended prompts ``{"question"}`` of one ``split``, reproducible from ``seed``."""
    rng = random.Random(f"open:{split}:{seed}")
    return draw_distinct(
        lambda: {"question": _prompt(rng)}, n, split, lambda x: question_split(x["question"]), "open-ended prompts"
    )
