"""The project's programming tasks: tests that check answers, a sandboxed runner, a held-out split."""

import pytest

from hf_judge.bench.tasks import code_program, load_task
from hf_judge.training.programs import (
    code_block_closed,
    extract_code,
    passes_stub_tests,
    passes_tests,
    programming_stubs,
    programming_tasks,
)


def _dedupe_task(split="train"):
    return next(t for t in programming_tasks(200, seed=3, split=split) if "without duplicates" in t["question"])


def test_the_tests_pass_a_right_answer_and_fail_wrong_or_runaway_ones():
    t = _dedupe_task()
    name = t["entry_point"]
    right = f"Here it is:\n```python\ndef {name}(xs):\n    return list(dict.fromkeys(xs))\n```\nDone."
    wrong = f"```python\ndef {name}(xs):\n    return sorted(set(xs))\n```"
    assert passes_tests(right, t["answer"])
    assert not passes_tests(wrong, t["answer"])  # loses the order: some test has unsorted input
    assert not passes_tests(f"```python\ndef {name}(xs):\n    while True: pass\n```", t["answer"], timeout=2)
    assert not passes_tests("no code at all", t["answer"])


def test_a_whole_function_written_indented_in_its_code_block_passes():
    """The bench's grader takes an indented whole function (``code_program``); the labeller must too, or a right
    answer is skipped and a right substitution labelled an error."""
    t = _dedupe_task()
    name = t["entry_point"]
    indented = f"```python\n    def {name}(xs):\n        return list(dict.fromkeys(xs))\n```"
    assert passes_tests(indented, t["answer"])
    assert not passes_tests(indented.replace("list(dict.fromkeys(xs))", "sorted(set(xs))"), t["answer"])


def test_the_sandbox_runs_in_an_empty_folder_without_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "x")
    monkeypatch.chdir(tmp_path)
    probe = "```python\nimport os\nopen('made.txt', 'w').write('1')\nassert 'SECRET_TOKEN' not in os.environ\n```"
    assert passes_tests(probe, "assert os.listdir('.') == ['made.txt']")
    assert not (tmp_path / "made.txt").exists()


def test_splits_are_disjoint_by_question_family_and_reproducible():
    train, test = programming_tasks(300, seed=0), programming_tasks(100, seed=0, split="test")
    family = {t["question"].replace(t["entry_point"], "f") for t in train}
    assert family.isdisjoint({t["question"].replace(t["entry_point"], "f") for t in test})
    assert programming_tasks(300, seed=0) == train and programming_tasks(300, seed=1) != train
    with pytest.raises(ValueError, match="distinct train programming tasks"):
        programming_tasks(5000)
    with pytest.raises(ValueError, match="split='dev'"):
        programming_tasks(3, split="dev")


def test_code_blocks_are_found_and_closed():
    assert extract_code("text\n```python\nx = 1\n```\nmore") == "x = 1\n"
    assert not code_block_closed("```python\ndef f():\n    return 1\n")
    assert code_block_closed("```python\ndef f():\n    return 1\n```")


def test_building_program_data_needs_the_code_opt_in(tiny_tok):
    from hf_judge.training.data import build_dataset

    for items in ("programs", "program-stubs"):
        with pytest.raises(ValueError, match=f"items='{items}'.*allow_code_exec"):
            build_dataset("auto", tiny_tok, items=items)


def test_stub_tasks_ask_the_same_tasks_as_a_function_to_complete():
    """``program-stubs``: the tasks of ``programs`` (same draw, same split) asked as HumanEval asks, a signature and
    a docstring with one of the tests as its example, inside the bench's completion prompt."""
    plain, stubs = programming_tasks(30, seed=3), programming_stubs(30, seed=3)
    assert [t["entry_point"] for t in stubs] == [t["entry_point"] for t in plain]
    assert [t["answer"]["tests"] for t in stubs] == [t["answer"] for t in plain]
    t = next(t for t in stubs if "without duplicates" in t["question"])
    name, stub = t["entry_point"], t["answer"]["stub"]
    assert (
        t["question"].startswith("Complete the following Python function") and f"```python\n{stub}```" in t["question"]
    )
    assert stub.startswith(f'def {name}(xs):\n    """Returns the elements of the list')
    call = t["answer"]["tests"].splitlines()[0].removeprefix("assert ").split(" == ")[0]
    assert f">>> {call}\n" in stub
    assert (
        programming_stubs(30, seed=3, split="test")[0]["entry_point"]
        == programming_tasks(30, seed=3, split="test")[0]["entry_point"]
    )


def test_stub_answers_are_checked_as_the_bench_grades_a_completion():
    """A whole function, or the body alone (completing the stub, as HumanEval answers may), passes; a wrong body
    fails, and so does a body that the stub cannot take (a no-``def`` body at the top level)."""
    t = next(t for t in programming_stubs(200, seed=3) if "without duplicates" in t["question"])
    name = t["entry_point"]
    whole = f"```python\ndef {name}(xs):\n    return list(dict.fromkeys(xs))\n```"
    body = "```python\n    return list(dict.fromkeys(xs))\n```"
    assert passes_stub_tests(whole, t["answer"]) and passes_stub_tests(body, t["answer"])
    assert not passes_stub_tests(body.replace("list(dict.fromkeys(xs))", "sorted(set(xs))"), t["answer"])
    assert not passes_stub_tests("```python\nreturn list(dict.fromkeys(xs))\n```", t["answer"])
    assert not passes_tests(body, t["answer"]["tests"])  # without its stub the body is no program


def test_the_bench_programs_task_is_the_held_out_split_and_runs_through_code_program():
    items = load_task("programs", 40)
    assert all(e["kind"] == "code" and e["test"].startswith("assert") for e in items)
    ex = next(e for e in items if "second largest distinct" in e["prompt"])
    name = ex["prompt"].split("`")[1].split("(")[0]
    answer = f"def {name}(xs):\n    s = sorted(set(xs))\n    return s[-2] if len(s) > 1 else None\n"
    prog = code_program(ex, f"```python\n{answer}```")
    assert passes_tests(f"```python\n{prog}```", ex["test"])


def test_a_run_that_times_out_once_is_tried_again_before_it_counts_as_failing(monkeypatch):
    """A label must not depend on the machine's load: a wall-clock timeout (a busy or paused machine) gets one
    more try with a longer timeout; code that really waits still fails."""
    import subprocess

    from hf_judge.training import programs

    t = _dedupe_task()
    right = f"```python\ndef {t['entry_point']}(xs):\n    return list(dict.fromkeys(xs))\n```"
    stock, walls = subprocess.run, []

    def slow_once(*args, **kwargs):
        walls.append(kwargs["timeout"])
        if len(walls) == 1:
            raise subprocess.TimeoutExpired(args[0], kwargs["timeout"])
        return stock(*args, **kwargs)

    monkeypatch.setattr(programs.subprocess, "run", slow_once)
    assert passes_tests(right, t["answer"], timeout=5)
    assert walls == [5, 15]
    monkeypatch.setattr(programs.subprocess, "run", stock)
    assert not passes_tests("```python\nimport time\ntime.sleep(30)\n```", "assert True", timeout=0.5)
