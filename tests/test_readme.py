"""The README's generated parts match what they are generated from."""

import json
from pathlib import Path

import pytest

from tests import bad_inputs
from tests.conftest import benchmark_script


def test_bad_input_table_matches_the_tests():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert bad_inputs.readme_table(readme) == bad_inputs.table(), "run: python -m tests.bad_inputs --write"
    assert len(bad_inputs.cases()) >= 14


def test_tests_needing_a_download_are_marked_slow(request):
    """``-m "not slow"`` must select no test that uses the real packaged model, directly or through a fixture."""
    from tests.conftest import REAL_MODEL_FIXTURES

    for item in request.session.items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            assert item.get_closest_marker("slow"), f"{item.nodeid} needs a packaged model but is not marked slow"


def _readme_tables():
    return benchmark_script("readme_tables")


@pytest.mark.slow  # an earlier head's section reads the HumanEval prompts (a packaged data set, fetched once)
def test_readme_numbers_are_generated_from_committed_results():
    """Every generated README section equals what benchmarks/readme_tables.py makes from the result files."""
    tables = _readme_tables()
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for marker in tables.SECTIONS:
        assert f"<!-- {marker} -->" in readme, marker
    assert tables.generated(readme) == readme, "run: python benchmarks/readme_tables.py"


def test_generated_sections_name_their_own_report_and_every_earlier_head():
    """A lost-answers section names the file its report was written to (it named the first report's for every
    one), and the candidates' section lists what each earlier head added, in order (with three candidates it
    said "the head before it" twice)."""
    tables = _readme_tables()
    stubs = json.loads((tables.RESULTS / "lost_answers_stubs_cpu.json").read_text())
    text = tables.lost_answers_text(stubs)
    assert "(`benchmarks/results/lost_answers_stubs_cpu.json`, from the runs' records)" in text
    assert "lost_answers_cpu.json" not in text
    newest = json.loads((tables.RESULTS / tables.CANDIDATES[-1] / "training_report.json").read_text())
    shards = tables.judge_more_shards_text(newest)
    assert (
        "; the heads before it added data/judge/math-steps/seed-1008, then data/judge/math-steps/seed-1008, " in shards
    )
    assert shards.count("before it added") == 1


def test_no_result_or_shipped_file_is_ignored_by_git():
    """A file under benchmarks/results/ or the package that .gitignore hides is missing from every clean checkout.

    (A head's model.safetensors under benchmarks/results/ was ignored this way: tests passed here and failed in CI.)
    """
    import shutil
    import subprocess

    import pytest

    root = Path(__file__).parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "ls-files", "--others", "--ignored", "--exclude-standard", "benchmarks/results", "hf_judge"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    ignored = [p for p in ignored if "__pycache__" not in p]
    assert not ignored, f"present here but ignored by .gitignore, so absent from a clean checkout: {ignored}"


def test_lost_and_gained_answers_count_each_direction_against_the_target():
    """A point level with the target in quality can still lose some of its right answers and gain others."""
    lost_gained = _readme_tables()._lost_gained
    target = [1, 1, 0, 0, 1]
    assert lost_gained([1, 0, 1, 0, 1], target) == " | 1 / 1"  # level in quality, one each way
    assert lost_gained([0, 0, 0, 0, 0], target) == " | 3 / 0"
    assert lost_gained(target, target) == " | 0 / 0"


def test_a_resumed_frontier_table_says_which_run_measured_each_method():
    """tokens/s and x target compare only methods measured in the same run; a resumed bench's table said so in
    prose but did not say which methods those were, so a judge point timed sessions later on another machine read
    as twice as slow as standard SD beside it."""
    tables = _readme_tables()
    row = {"tokens_per_step": 2.0, "tokens_per_s": 5.0, "speedup_vs_target": 1.0}
    res = {
        "command": "hf-judge bench ...",
        "environment": dict.fromkeys(("device", "threads", "dtype", "torch", "transformers"), "x"),
        "config": {"max_new_tokens": 8, "limit": 2},
        "tasks": {"math-steps": {m: dict(row) for m in ("target", "sd", "judge@0.5")}},
        "runs": {
            "2026-12-02T17:26:44+00:00": ["sd", "target"],
            "2026-12-03T13:02:16+00:00": ["sd", "target"],
            "2026-12-06T04:20:26+00:00": ["judge@0.5"],
        },
    }
    lines = tables.frontier_table(res).splitlines()
    assert "| method | tokens/forward | tokens/s | x target | runs |" in lines
    assert "| target | 2.00 | 5.00 | 1.00 | 1-2 |" in lines
    assert "| judge@0.5 | 2.00 | 5.00 | 1.00 | 3 |" in lines
    res["runs"] = {"2026-12-02T17:26:44+00:00": ["judge@0.5", "sd", "target"]}  # one run: no column
    assert "| method | tokens/forward | tokens/s | x target |" in tables.frontier_table(res).splitlines()


def test_pooled_points_add_tokens_forwards_and_answers_over_disjoint_prompt_sets():
    """Two prompt sets pooled: tokens/forward from the summed tokens and forwards (not the mean of the sets'
    ratios), right answers and lost / gained over all prompts; overlapping sets are refused."""
    import pytest

    tables = _readme_tables()

    def folder(skip, rows):
        tasks = {
            m: {"new_tokens": t, "target_forwards": f, "quality:exact_match": 0, "per_item": {"quality:exact_match": q}}
            for m, (t, f, q) in rows.items()
        }
        return {"config": {"skip": skip, "limit": 2}, "tasks": {"math": tasks}}

    results = {
        "a": folder(0, {"target": (100, 100, [1, 0]), "sd": (100, 10, [1, 0]), "judge@0.5": (90, 5, [0, 1])}),
        "b": folder(2, {"target": (50, 50, [1, 1]), "sd": (50, 10, [1, 1]), "judge@0.5": (60, 5, [1, 1])}),
    }
    rows = {m: [("a", m), ("b", m)] for m in ("target", "sd", "judge@0.5")}
    lines = tables.pooled_table("math", rows, results).splitlines()
    assert "| point | tokens/forward | x SD | right (of 4) | lost / gained |" in lines
    assert "| sd | 7.50 | 1.00 | 3 | 0 / 0 |" in lines
    assert "| judge@0.5 | 15.00 | 2.00 | 3 | 1 / 1 |" in lines  # (90 + 60) / (5 + 5), not the mean of 18 and 12
    assert lines[-1] == (  # x SD to three places: a point just under a 1.2x bar must not read as 1.20
        "At matched quality (at most one fewer right than the target alone): sd (1.000x SD), judge@0.5 (2.000x SD)."
    )
    results["b"]["tasks"]["math"]["sd"]["per_item"]["quality:exact_match"] = [0.5, 1]  # not right-or-wrong
    with pytest.raises(ValueError, match="right-or-wrong"):
        tables.pooled_table("math", rows, results)
    results["b"]["tasks"]["math"]["sd"]["per_item"]["quality:exact_match"] = [1, 1]
    results["b"]["config"]["skip"] = 1  # prompts 1-2 overlap 0-1
    with pytest.raises(ValueError, match="overlap"):
        tables.pooled_table("math", rows, results)


def test_share_of_the_way_counts_target_forwards_between_sd_and_every_draft_token_kept():
    """A point's share of the way is the share of SD's forwards above the least a draft length allows that it
    removes: forwards go as 1 / (tokens per forward), so halfway in forwards is not halfway in tokens per forward."""
    share = _readme_tables()._share_of_way
    assert share(10.0, sd=10.0, ceiling=17.0) == 0.0
    assert abs(share(17.0, sd=10.0, ceiling=17.0) - 1.0) < 1e-12
    # SD 10 tokens/forward (100 forwards per 1000 tokens), ceiling 20 (50 forwards): 12.5 (80 forwards) removes 20 of 50
    assert abs(share(12.5, sd=10.0, ceiling=20.0) - 0.4) < 1e-12


def test_standing_figure_is_drawn_from_the_sets_the_standing_table_reads():
    """The figure's panels are the standing table's prompt sets, with the bars the table is judged by; every
    figure the README links is there to see (``--check`` cannot compare pixels across matplotlib versions)."""
    tables = _readme_tables()
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for figure in tables.FIGURES:
        assert f"]({figure})" in readme and (Path(__file__).parents[1] / figure).exists(), figure
    panels = tables.standing_panels(tables.V9_SETS)
    assert len(panels) == len(tables.V9_SETS)
    for panel, (folder, task, q, speed) in zip(panels, tables.V9_SETS, strict=True):
        res = json.loads((tables.RESULTS / folder / "results.json").read_text())
        rows, n = res["tasks"][task], res["config"]["limit"]
        assert panel["speed_bar"] == speed * rows["sd"]["tokens_per_step"]
        if q == "quality:win_rate":
            assert panel["quality_bar"] == 0.45
        else:  # one item fewer right than the target alone
            assert round((rows["target"][q] - panel["quality_bar"]) * n, 6) == 1
        assert panel["points"]["target"] == (1.0, rows["target"][q])
        assert {m for m in panel["points"] if not m.startswith(("judge", "sd", "target"))} == set(
            tables.lossy_peers(rows)
        )


def test_changed_answers_split_a_win_rate_into_ties_and_the_changed_answers_it_won():
    """An answer the same as the target's is a tie (0.5); the changed ones win or lose. 10 prompts, 6 changed, 2 of
    them won: win rate (4 * 0.5 + 2) / 10 = 0.4; for 0.45 the 6 must win (4.5 - 2) / 6 of themselves."""
    tables = _readme_tables()
    row = {"per_item": {"quality:win_rate": [0.5] * 4 + [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]}}
    changed, won, needed = tables.changed_answers(row["per_item"]["quality:win_rate"], 0.45)
    assert (changed, won) == (6, 2 / 6) and needed == pytest.approx(2.5 / 6)
    sd = {"per_item": {"quality:win_rate": [0.5] * 3}}  # standard SD: no answer changed
    assert tables.changed_answers(sd["per_item"]["quality:win_rate"], 0.45) is None


def test_parting_share_is_where_an_answer_first_differs_from_the_targets():
    tables = _readme_tables()
    target = [5, 6, 7, 8]
    assert tables.parting_share([9, 6, 7, 8], target) == 0.0  # from its first token
    assert tables.parting_share([5, 6, 9], target) == 0.5
    assert tables.parting_share([5, 6], target) == 0.5  # stops early: parts where it stops
    assert tables.parting_share([5, 6, 7, 8, 1], target) == 1.0  # runs on past the target's end


def test_changed_by_parting_bins_changed_answers_and_keeps_the_last_edge():
    """(share, win, rating change) -> per bin [lo, hi) (the last [lo, hi]): count, share won, mean change."""
    tables = _readme_tables()
    points = [(0.0, 1.0, 0.4), (0.05, 0.0, -0.2), (0.3, 0.0, -1.0), (1.0, 1.0, 0.1)]
    rows = tables.changed_by_parting(points, bins=(0.0, 0.1, 0.5, 1.0))
    assert rows[0] == (0.0, 0.1, 2, 0.5, pytest.approx(0.1))
    assert rows[1] == (0.1, 0.5, 1, 0.0, -1.0)
    assert rows[2] == (0.5, 1.0, 1, 1.0, 0.1)  # an answer parting at the very end falls in the last bin
    assert tables.changed_by_parting([(0.3, 1.0, 0.0)], bins=(0.0, 0.1, 0.5)) == [
        (0.1, 0.5, 1, 1.0, 0.0)
    ]  # [0, 0.1) empty: left out


def test_changed_mtbench_answers_take_each_changed_answer_once_and_refuse_a_tie_that_is_no_tie(monkeypatch):
    """Judge points of every folder, the free rules of the last only (the same rule's answers are in each folder);
    an unchanged answer (a tie) is left out; an answer the same as the target's must be a tie."""
    import hf_judge.bench.tasks

    tables = _readme_tables()
    examples = [{"id": "q1", "category": "writing"}, {"id": "q2", "category": "coding"}]
    monkeypatch.setattr(hf_judge.bench.tasks, "load_task", lambda task, limit, skip=0: examples[:limit])

    def row(wins, ratings):
        return {"per_item": {"quality:win_rate": wins, "quality:rating": ratings}}

    rows = {
        "target": row([0.5, 0.5], [7.0, 5.0]),
        "judge@0.5": row([1.0, 0.5], [8.0, 5.0]),
        "ratio:0.3": row([0.5, 0.0], [7.0, 4.0]),
    }
    records = [
        {"id": "q1", "method": "target", "new_ids": [1, 2, 3, 4]},
        {"id": "q2", "method": "target", "new_ids": [5, 6]},
        {"id": "q1", "method": "judge@0.5", "new_ids": [1, 2, 9]},
        {"id": "q2", "method": "judge@0.5", "new_ids": [5, 6]},
        {"id": "q1", "method": "ratio:0.3", "new_ids": [1, 2, 3, 4]},
        {"id": "q2", "method": "ratio:0.3", "new_ids": [8]},
    ]
    monkeypatch.setattr(tables, "_report", lambda folder, name: {"config": {"limit": 2}, "tasks": {"mt-bench": rows}})
    monkeypatch.setattr(tables, "read_records", lambda path: records)
    points, n_points = tables.changed_mtbench_answers((("v1", "a"), ("v2", "b")))
    assert n_points == 3  # judge@0.5 twice (one per folder), ratio:0.3 from the last
    judge = {"parting": 0.5, "won": 1.0, "change": 1.0, "category": "writing"}
    rule = {"parting": 0.0, "won": 0.0, "change": -1.0, "category": "coding"}
    assert points == [judge, judge, rule]
    rows["judge@0.5"] = row([1.0, 0.0], [8.0, 4.0])  # q2's answer is the target's, yet not a tie
    with pytest.raises(ValueError, match="judge@0.5 on q2 has the target's answer"):
        tables.changed_mtbench_answers((("v1", "a"),))


def test_self_preference_text_sets_the_targets_sampled_answers_beside_the_folders_points(monkeypatch):
    """The sampled answers' row from the report; each point of the folder on the same (first) prompts: tokens per
    forward from its records there, win rate and changed answers from its per-prompt figures; which side of the
    bar the sampled answers fall, and how many changing points reach their win rate."""
    import hf_judge.bench.tasks

    tables = _readme_tables()
    examples = [{"id": "q1"}, {"id": "q2"}, {"id": "q3"}]
    monkeypatch.setattr(hf_judge.bench.tasks, "load_task", lambda task, limit, skip=0: examples[:limit])
    rows = {
        "target": {"per_item": {"quality:win_rate": [0.5, 0.5, 0.5]}},
        "sd": {"per_item": {"quality:win_rate": [0.5, 0.5, 0.5]}},
        "ratio:0.3": {"per_item": {"quality:win_rate": [1.0, 0.5, 0.0]}},  # q3 is not among the first 2
        "judge@0.5": {"per_item": {"quality:win_rate": [0.0, 0.0, 1.0]}},
    }
    records = [
        {"id": q, "method": m, "new_tokens": 12, "steps": s}
        for m, s in (("target", 12), ("sd", 4), ("ratio:0.3", 3), ("judge@0.5", 2))
        for q in ("q1", "q2", "q3")
    ]
    monkeypatch.setattr(tables, "_report", lambda folder, name: {"tasks": {"mt-bench": rows}})
    monkeypatch.setattr(tables, "read_records", lambda path: records)
    res = {
        "command": "python benchmarks/self_preference.py --folder f --limit 2 --temperature 0.7 --seed 0 --out o",
        "environment": {"device": "cpu (2 cores)", "dtype": "torch.float32"},
        "folder": "benchmarks/results/f",
        "prompts": 2,
        "max_new_tokens": 256,
        "win_rate": 0.25,  # one tie, one loss
        "per_item": {"win_rate": [0.5, 0.0]},
        "rating": 6.5,
        "rating_greedy": 7.0,
        "win_rate_by_category": {"math": 0.5, "writing": 0.0},
    }
    lines = tables.self_preference_text(res).splitlines()
    table = [x for x in lines if x.startswith("| ") and "---" not in x][1:]
    assert table == [
        "| the target's own, sampled at 0.7 | 1.00 | 0.250 | 1 of 2 | 0.000 |",
        "| sd | 3.00 | 0.500 | 0 of 2 | - |",
        "| ratio:0.3 | 4.00 | 0.750 | 1 of 2 | 1.000 |",
        "| judge@0.5 | 6.00 | 0.000 | 2 of 2 | 0.000 |",
    ]
    assert "math 0.50, writing 0.00" in lines[-3]
    assert lines[-1].endswith(
        "fall below it. Of the folder's points that change answers, 1 of 2 reach at least the "
        "sampled answers' win rate on these prompts."
    )


def test_changed_answers_table_takes_a_point_that_changed_nothing(monkeypatch):
    """A judge point at threshold 1.0 changes no answer: its row says so rather than failing to unpack None."""
    tables = _readme_tables()

    def row(points, tps):
        return {
            "tokens_per_step": tps,
            "quality:win_rate": sum(points) / len(points),
            "per_item": {"quality:win_rate": points},
        }

    rows = {"target": row([0.5] * 4, 1.0), "sd": row([0.5] * 4, 4.0), "judge@1.0": row([0.5] * 4, 4.0)}
    rows |= {"ratio:0.3": row([1.0, 0.0, 0.0, 0.5], 6.0)}
    monkeypatch.setattr(tables, "_report", lambda folder, name: {"config": {"limit": 4}, "tasks": {"mt-bench": rows}})
    lines = tables.changed_answers_text({}, heads=(("v9", "f"),)).splitlines()
    assert "| v9 judge@1.0 | 4.00 | 0 | - | 0.500 | - |" in lines
    assert "| ratio:0.3 | 6.00 | 3 | 0.333 | 0.375 | 0.433 |" in lines  # (0.45 * 4 - 0.5) / 3


def test_rating_labels_text_tables_each_score_and_says_which_beat_chance_where_both_classes_are_many():
    """Each score's AUC with its interval per tolerance (just the AUC where no interval could be had, "-" with one
    class); each cut's row; the verdict reads only tolerances with at least ``least`` of each class."""
    tables = _readme_tables()
    names = ("head", "top-k", "ratio", "entropy", "-preservation_drop")
    auc = {k: {"0.0": 0.5, "0.1": 0.6, "0.5": None} for k in names}
    ci = {k: {"0.0": [0.4, 0.6], "0.1": [0.45, 0.75], "0.5": None} for k in names}
    auc["head"]["0.1"], ci["head"]["0.1"] = 0.8, [0.6, 0.9]  # above chance, and with enough of each class
    auc["ratio"]["0.0"], ci["ratio"]["0.0"] = 0.3, [0.2, 0.45]  # below it
    auc["top-k"]["0.5"] = 0.9  # an AUC without an interval (one negative)
    within = {k: {"concordance": 0.5, "interval": [0.4, 0.6]} for k in names}
    within["entropy"] = {"concordance": 0.7, "interval": [0.55, 0.8]}
    within["-preservation_drop"] = None  # no pair
    cut = {"kept": 2, "mean_delta_kept": -0.1, "mean_delta_rejected": None}
    rep = {
        "command": "python benchmarks/rating_labels.py --n-prompts 2 --head default --out o",
        "environment": {"device": "cpu (2 cores)", "dtype": "torch.float32"},
        "substitutions": 30,
        "prompts": 4,
        "seconds_per_prompt": 300.0,
        "delta_quantiles": {"0.25": -0.2, "0.5": 0.0, "0.75": 0.1},
        "kept_share": {"0.0": 0.5, "0.1": 0.6, "0.5": 0.97},
        "lowered": {"0.0": 15, "0.1": 12, "0.5": 1},
        "roc_auc": auc,
        "roc_auc_interval": ci,
        "prompt_share": 0.42,
        "within_prompt": within,
        "at_cut": {"head": {**cut, "cut": "0.5219/r0.1"}, "top-k": {**cut, "cut": 0.4}},
    }
    lines = tables.rating_labels_text(rep, least=10).splitlines()
    assert "| substitutions that lower the rating by more than t | 15 | 12 | 1 | - |" in lines
    assert "| the trained head | 0.50 (0.40-0.60) | 0.80 (0.60-0.90) | - | 0.50 (0.40-0.60) |" in lines
    assert "| top-k (1 / rank) | 0.50 (0.40-0.60) | 0.60 (0.45-0.75) | 0.90 | 0.50 (0.40-0.60) |" in lines
    assert "| entropy gate | 0.50 (0.40-0.60) | 0.60 (0.45-0.75) | - | 0.70 (0.55-0.80) |" in lines
    assert "| preservation (minus its drop) | 0.50 (0.40-0.60) | 0.60 (0.45-0.75) | - | - |" in lines
    assert any(x.startswith("0.42 of the rating changes' variance lies between prompts") for x in lines)
    assert "| the trained head | 0.522, floor 0.1 | 2 | -0.100 | - |" in lines
    assert "| top-k (1 / rank) | 0.4 | 2 | -0.100 | - |" in lines
    assert lines[-1] == (
        "Above chance (the interval wholly above 0.5): over all substitutions, where a label has at least 10 of "
        "each class, the trained head at t = 0.1; within a prompt, entropy gate. Below chance: probability ratio "
        "p(d) / max p at t = 0.0."
    )


def test_rating_probe_text_sets_each_probe_beside_the_scores_it_had_at_each_label():
    tables = _readme_tables()

    def got(a, w):
        keys = ("probe:hidden", "probe:scores", "probe:both", "head")
        return {
            "roc_auc": dict.fromkeys(keys, a),
            "roc_auc_interval": dict.fromkeys(keys, [a - 0.1, a + 0.1]),
            "within_prompt": {**dict.fromkeys(keys, {"concordance": w, "interval": [w - 0.1, w + 0.1]}), "head": None},
            "lambda_per_fold": {"hidden": [10.0, 1.0], "scores": [0.01, 1.0]},
        }

    rep = {
        "command": "python benchmarks/rating_probe.py --labels l --out o",
        "environment": {"device": "cpu (2 cores)", "dtype": "torch.float32"},
        "substitutions": 80,
        "prompts": 10,
        "hidden_layer": 18,
        "tolerances": {"0.0": got(0.6, 0.55), "0.1": got(0.7, 0.65)},
    }
    lines = tables.rating_probe_text(rep).splitlines()
    assert "(weights chosen: 0.01, 1, 10)" in lines[0] and "`hidden_states[18]`" in lines[0]
    assert lines.count("| probe on the hidden state | 0.60 (0.50-0.70) | 0.70 (0.60-0.80) |") == 1
    assert "| probe on the hidden state | 0.55 (0.45-0.65) | 0.65 (0.55-0.75) |" in lines
    assert "| the trained head | 0.60 (0.50-0.70) | 0.70 (0.60-0.80) |" in lines
    assert "| the trained head | - | - |" in lines  # no within-prompt pair
    assert not any("top-k" in x for x in lines)  # a score the report does not hold has no row
