"""Programming tasks with unit tests, written for this project (never HumanEval): code judge data.

Each task asks for one Python function; its tests are asserts computed from a reference solution
on random inputs, so every task is checked by running the answer (AutoJudge's method). Tasks come
from templates with random parameters and function names, split into 'train' and 'test' by a hash
of the question, as the word problems are.

Running model-written code is opt-in (``allow_code_exec``): each program runs in its own Python
process, in an empty temporary folder, with a clean environment, a wall-clock timeout and limits
on CPU time and memory.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import tempfile
import textwrap

from .checkable import draw_distinct, question_split

__all__ = [
    "CODE_TEMPLATE",
    "code_block_closed",
    "extract_code",
    "passes_stub_tests",
    "passes_tests",
    "programming_stubs",
    "programming_tasks",
    "run_sandboxed",
    "with_stub",
]

_CODE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", flags=re.DOTALL)

# a function to complete from its stub (signature and docstring), as HumanEval asks
CODE_TEMPLATE = (
    "Complete the following Python function. Reply with the whole function in one code block.\n\n```python\n{}```"
)


def extract_code(text: str) -> str:
    """The first fenced code block of a response, else the response itself."""
    m = _CODE.search(text)
    return m.group(1) if m else text


def code_block_closed(text: str) -> bool:
    """Whether ``text`` holds a closed fenced code block: the program is decided from there on."""
    return _CODE.search(text) is not None


def with_stub(code: str, stub: str | None) -> str:
    """The program of ``code`` answering a prompt that gave ``stub`` (imports, helpers, the function's
    signature and docstring).

    A whole function (the stub's function defined at the top level) follows the stub, whose own body
    becomes ``pass``; a whole function written indented counts as one. Anything else is the body,
    appended to the stub. Without a stub the code is the program.
    """
    if not stub:
        return code
    name = re.findall(r"^def (\w+)\s*\(", stub, flags=re.M)
    whole = re.compile(rf"^def {re.escape(name[-1])}\s*\(" if name else r"^def ", flags=re.M)
    if not whole.search(code) and whole.search(textwrap.dedent(code)):
        code = textwrap.dedent(code)
    return f"{stub}\n    pass\n\n{code}" if "def " in code else stub + code


def _limits():  # runs in the child before exec: CPU seconds and address space
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (5, 5))
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def passes_tests(response: str, tests: str, timeout: float = 10.0, stub: str | None = None) -> bool:
    """Whether the response's code passes ``tests`` (asserts), run by :func:`run_sandboxed`; with ``stub``,
    the code completes that stub (:func:`with_stub`), as the bench grades HumanEval. Without a stub, code written
    indented as a whole in its block runs dedented, as the bench's grader
    (:func:`hf_judge.bench.tasks.code_program`) takes it.
    """
    code = extract_code(response)
    return run_sandboxed(f"{with_stub(code, stub) if stub else textwrap.dedent(code)}\n\n{tests}\n", timeout)


def run_sandboxed(program: str, timeout: float = 10.0) -> bool:
    """Whether ``program`` exits cleanly, run in its own isolated Python (``-I``) in an empty temporary folder, with
    a clean environment and limits on CPU time (5 s: a busy loop fails) and memory (1 GiB). The wall-clock
    ``timeout`` is a backstop for code that waits; since a loaded or paused machine can also run past it, a
    timed-out run is tried once more with three times the timeout before it counts as a failure (a label or a
    pass@1 is never decided by the machine's load)."""
    for wall in (timeout, 3 * timeout):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                proc = subprocess.run(
                    [sys.executable, "-I", "-c", program],
                    cwd=tmp,
                    env={"PATH": "", "PYTHONHASHSEED": "0"},
                    capture_output=True,
                    timeout=wall,
                    preexec_fn=_limits if sys.platform != "win32" else None,
                )
            except subprocess.TimeoutExpired:
                continue
        return proc.returncode == 0
    return False


def passes_stub_tests(response: str, answer: dict) -> bool:
    """The checker of :func:`programming_stubs` tasks: whether the response completes ``answer["stub"]`` into a
    function that passes ``answer["tests"]``."""
    return passes_tests(response, answer["tests"], stub=answer["stub"])


# -- templates: (question, function name, reference solution, argument generator) --------------------


def _ints(rng, n=None, lo=-20, hi=40):
    return [rng.randint(lo, hi) for _ in range(n if n is not None else rng.randint(0, 9))]


def _words(rng, n=None):
    pool = ("apple", "tree", "sky", "river", "stone", "cloud", "bird", "lamp", "road", "fire", "moon", "sand")
    return [rng.choice(pool) for _ in range(n if n is not None else rng.randint(1, 6))]


def _t_sum_divisible(rng):
    k = rng.randint(2, 7)
    name = rng.choice(("sum_divisible", "sum_multiples", "total_of_multiples"))
    q = (
        f"Write a Python function `{name}(xs)` that returns the sum of the integers in the list `xs` that are "
        f"divisible by {k}."
    )
    return q, name, lambda xs: sum(x for x in xs if x % k == 0), lambda: (_ints(rng),)


def _t_running_max(rng):
    name = rng.choice(("running_max", "prefix_max", "max_so_far"))
    q = (
        f"Write a Python function `{name}(xs)` that returns a list whose i-th element is the largest of the "
        "first i+1 elements of the list `xs` (an empty list for an empty input)."
    )

    def ref(xs):
        out, best = [], None
        for x in xs:
            best = x if best is None or x > best else best
            out.append(best)
        return out

    return q, name, ref, lambda: (_ints(rng),)


def _t_second_largest(rng):
    name = rng.choice(("second_largest", "runner_up", "second_max"))
    q = (
        f"Write a Python function `{name}(xs)` that returns the second largest distinct value in the list of "
        "integers `xs`, or None if there are fewer than two distinct values."
    )

    def ref(xs):
        s = sorted(set(xs))
        return s[-2] if len(s) >= 2 else None

    return q, name, ref, lambda: (_ints(rng, lo=0, hi=9),)


def _t_palindrome(rng):
    name = rng.choice(("is_palindrome", "reads_same_backwards", "palindromic"))
    q = (
        f"Write a Python function `{name}(s)` that returns True if the string `s` reads the same forwards and "
        "backwards when only its letters and digits are kept and case is ignored, else False."
    )

    def ref(s):
        t = [c.lower() for c in s if c.isalnum()]
        return t == t[::-1]

    def args():
        w = rng.choice(("level", "Racecar", "step on no pets", "hello", "ab", "A man, a plan", "noon!", "x1y"))
        return (w if rng.random() < 0.7 else w + rng.choice("abz"),)

    return q, name, ref, args


def _t_chunks(rng):
    n = rng.randint(2, 4)
    name = rng.choice(("chunk", "split_into_groups", "batches"))
    q = (
        f"Write a Python function `{name}(xs)` that splits the list `xs` into consecutive groups of {n} elements "
        "and returns the list of groups (lists); the last group may be shorter."
    )
    return q, name, lambda xs: [xs[i : i + n] for i in range(0, len(xs), n)], lambda: (_ints(rng),)


def _t_rotate(rng):
    k = rng.randint(1, 5)
    name = rng.choice(("rotate_left", "shift_left", "rotate"))
    q = (
        f"Write a Python function `{name}(xs)` that returns the list `xs` rotated to the left by {k} positions "
        f"(the first {k} elements move to the end, wrapping around for short lists; an empty list stays empty)."
    )

    def ref(xs):
        if not xs:
            return []
        r = k % len(xs)
        return xs[r:] + xs[:r]

    return q, name, ref, lambda: (_ints(rng),)


def _t_caesar(rng):
    k = rng.randint(1, 25)
    name = rng.choice(("caesar", "shift_letters", "encode"))
    q = (
        f"Write a Python function `{name}(s)` that shifts every lowercase letter of the string `s` forward by {k} "
        "places in the alphabet, wrapping from z to a, and leaves every other character unchanged."
    )

    def ref(s):
        return "".join(chr((ord(c) - 97 + k) % 26 + 97) if "a" <= c <= "z" else c for c in s)

    return q, name, ref, lambda: (" ".join(_words(rng)) + rng.choice(("", "!", " 42")),)


def _t_dedupe(rng):
    name = rng.choice(("unique_in_order", "dedupe", "remove_duplicates"))
    q = (
        f"Write a Python function `{name}(xs)` that returns the elements of the list `xs` without duplicates, "
        "keeping the first occurrence of each and the original order."
    )
    return q, name, lambda xs: list(dict.fromkeys(xs)), lambda: (_ints(rng, lo=0, hi=6),)


def _t_digital_root(rng):
    name = rng.choice(("digital_root", "repeated_digit_sum", "digit_root"))
    q = (
        f"Write a Python function `{name}(n)` that, for a non-negative integer `n`, repeatedly replaces n by the "
        "sum of its decimal digits until it has one digit, and returns that digit."
    )

    def ref(n):
        while n >= 10:
            n = sum(map(int, str(n)))
        return n

    return q, name, ref, lambda: (rng.randint(0, 10**6),)


def _t_merge_sorted(rng):
    name = rng.choice(("merge_sorted", "merge_lists", "combine_sorted"))
    q = (
        f"Write a Python function `{name}(a, b)` that merges two lists of integers, each sorted in increasing "
        "order, into one sorted list, without calling sort or sorted."
    )
    return q, name, lambda a, b: sorted(a + b), lambda: (sorted(_ints(rng)), sorted(_ints(rng)))


def _t_longest_run(rng):
    name = rng.choice(("longest_run", "max_streak", "longest_repeat"))
    q = (
        f"Write a Python function `{name}(xs)` that returns the length of the longest run of equal consecutive "
        "elements in the list `xs` (0 for an empty list)."
    )

    def ref(xs):
        best = cur = 0
        for i, x in enumerate(xs):
            cur = cur + 1 if i and xs[i - 1] == x else 1
            best = max(best, cur)
        return best

    return q, name, ref, lambda: (_ints(rng, lo=0, hi=2),)


def _t_pair_count(rng):
    t = rng.randint(5, 15)
    name = rng.choice(("count_pairs", "pairs_with_sum", "two_sum_count"))
    q = (
        f"Write a Python function `{name}(xs)` that returns how many pairs of positions i < j in the list `xs` "
        f"have xs[i] + xs[j] == {t}."
    )

    def ref(xs):
        return sum(1 for i in range(len(xs)) for j in range(i + 1, len(xs)) if xs[i] + xs[j] == t)

    return q, name, ref, lambda: (_ints(rng, lo=0, hi=t),)


def _t_word_lengths(rng):
    n = rng.randint(3, 5)
    name = rng.choice(("long_words", "words_longer_than", "filter_words"))
    q = (
        f"Write a Python function `{name}(text)` that returns the list of words of the string `text` (split on "
        f"whitespace) that have more than {n} characters, in their original order."
    )
    return q, name, lambda text: [w for w in text.split() if len(w) > n], lambda: (" ".join(_words(rng)),)


def _t_char_counts(rng):
    name = rng.choice(("char_counts", "letter_frequencies", "count_chars"))
    q = (
        f"Write a Python function `{name}(s)` that returns a dictionary mapping each character of the string `s` "
        "to the number of times it occurs."
    )

    def ref(s):
        out = {}
        for c in s:
            out[c] = out.get(c, 0) + 1
        return out

    return q, name, ref, lambda: (rng.choice(_words(rng, 3)) + rng.choice(("", "aa", "xyz")),)


def _t_fizz(rng):
    a, b = rng.sample((2, 3, 4, 5, 7), 2)
    w1, w2 = rng.sample(("Fizz", "Buzz", "Bang", "Pop", "Zap"), 2)
    name = rng.choice(("fizz_words", "label_numbers", "fizzbuzz"))
    q = (
        f"Write a Python function `{name}(n)` that returns a list of strings for the numbers 1 to n: "
        f"'{w1}{w2}' for multiples of both {a} and {b}, '{w1}' for multiples of {a}, '{w2}' for multiples of {b}, "
        "and the number itself as a string otherwise."
    )

    def ref(n):
        out = []
        for i in range(1, n + 1):
            s = (w1 if i % a == 0 else "") + (w2 if i % b == 0 else "")
            out.append(s or str(i))
        return out

    return q, name, ref, lambda: (rng.randint(0, 25),)


def _t_gcd(rng):
    name = rng.choice(("gcd_all", "list_gcd", "greatest_common_divisor"))
    q = (
        f"Write a Python function `{name}(xs)` that returns the greatest common divisor of a non-empty list of "
        "positive integers `xs`."
    )

    def ref(xs):
        import math

        g = 0
        for x in xs:
            g = math.gcd(g, x)
        return g

    def args():
        f = rng.randint(1, 6)
        return ([f * rng.randint(1, 12) for _ in range(rng.randint(1, 5))],)

    return q, name, ref, args


TEMPLATES = (
    _t_sum_divisible,
    _t_running_max,
    _t_second_largest,
    _t_palindrome,
    _t_chunks,
    _t_rotate,
    _t_caesar,
    _t_dedupe,
    _t_digital_root,
    _t_merge_sorted,
    _t_longest_run,
    _t_pair_count,
    _t_word_lengths,
    _t_char_counts,
    _t_fizz,
    _t_gcd,
)


def _task(rng: random.Random) -> dict:
    q, name, ref, args = rng.choice(TEMPLATES)(rng)
    calls = []
    for _ in range(5):
        a = args()
        calls.append(f"assert {name}({', '.join(map(repr, a))}) == {ref(*a)!r}")
    return {"question": q, "answer": "\n".join(calls), "entry_point": name}


def programming_tasks(n: int, seed: int = 0, split: str = "train") -> list[dict]:
    """``n`` programming tasks ``{"question", "answer" (the test asserts), "entry_point"}`` of one ``split``."""
    rng = random.Random(f"programs:{split}:{seed}")
    return draw_distinct(lambda: _task(rng), n, split, _split_of, "programming tasks")


_ASKED = re.compile(r"Write a Python function `(\w+)\((.*?)\)` that,? (.*)", flags=re.DOTALL)


def programming_stubs(n: int, seed: int = 0, split: str = "train") -> list[dict]:
    """The tasks of :func:`programming_tasks` (the same draw and split) asked as HumanEval asks: a function's
    signature and docstring (its task and one worked example) to complete (:data:`CODE_TEMPLATE`).
    ``{"question" (the whole prompt), "answer": {"stub", "tests"}, "entry_point"}``; check answers with
    :func:`passes_stub_tests`. The programs of the judge data then open as a completion's do (a body alone,
    a whole function, imports first), the place where a head trained on plain questions had no errors."""
    out = []
    for t in programming_tasks(n, seed=seed, split=split):
        name, params, task = _ASKED.fullmatch(t["question"]).groups()
        example = t["answer"].splitlines()[0].removeprefix("assert ")  # f(args) == result
        call, result = example.split(" == ", 1)
        doc = textwrap.fill(task[0].upper() + task[1:], 96, subsequent_indent="    ")
        stub = f'def {name}({params}):\n    """{doc}\n\n    >>> {call}\n    {result}\n    """\n'
        question = CODE_TEMPLATE.format(stub)
        out.append({"question": question, "answer": {"stub": stub, "tests": t["answer"]}, "entry_point": name})
    return out


def _split_of(task: dict) -> str:
    """The split of a task, by the hash of its question without the function name: tasks that differ only
    in the name fall on the same side."""
    return question_split(task["question"].replace(task["entry_point"], "f"))
