"""The hf-judge command line."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hf_judge.cli import build_parser, main
from hf_judge.training.data import load_dataset_dir
from hf_judge.training.split import split_by_question


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("generate", "demo", "build-data", "recheck", "train", "calibrate", "test-head", "bench"):
        assert cmd in out


def test_console_script_is_installed():
    r = subprocess.run([sys.executable, "-m", "hf_judge.cli", "bench", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--allow-code-exec" in r.stdout


def test_recorded_command_pastes_back_into_a_shell(monkeypatch):
    import shlex

    from hf_judge.cli.common import command_line

    argv = ["hf-judge", "train", "--dataset-name", "math and programs (data/judge)", "--out", "a b"]
    monkeypatch.setattr(sys, "argv", argv)
    assert shlex.split(command_line()) == ["hf-judge", *argv[1:]]


def test_train_names_each_rows_domain_by_the_folder_holding_its_data(tmp_path):
    import torch
    from datasets import Dataset

    from hf_judge.cli.train import _domains
    from hf_judge.training.data import FEATURES, domain_masks

    row = {"input_ids": [1, 2, 3], "positions": [1, 2], "labels": [1, 0], "source": "t"}
    for folder, n in (("math-steps/seed-1", 2), ("math-steps/seed-2", 1), ("pairs/open-ended", 3)):
        Dataset.from_list([row] * n, features=FEATURES).save_to_disk(str(tmp_path / folder))
    paths = [tmp_path / f for f in ("math-steps/seed-1", "math-steps/seed-2", "pairs/open-ended")]
    rows = torch.tensor([0, 0, 2, 3, 5])  # (N,): each position's row
    got = _domains(paths, rows)
    assert list(got) == ["math-steps", "pairs"]
    assert got["math-steps"].tolist() == [True, True, True, False, False] and torch.equal(
        got["pairs"], ~got["math-steps"]
    )
    assert _domains(paths[:2], rows[:3]) is None  # one domain: nothing to break down
    one = domain_masks(paths[:2], rows[:3])  # the masks themselves, one domain or more
    assert list(one) == ["math-steps"] and one["math-steps"].tolist() == [True, True, True]


def test_building_pairs_loads_no_model(tmp_path, tiny_tok, monkeypatch):
    import hf_judge.registry.packaged as packaged

    def no_model(*a, **k):
        raise AssertionError("build-data --source pairs loaded a model")

    monkeypatch.setattr(packaged, "load_model", no_model)
    tiny_tok.save_pretrained(tmp_path / "tok")
    pairs = tmp_path / "p.jsonl"
    pairs.write_text(json.dumps({"prompt": "Capital of France?", "correct": "Paris.", "wrong": "Lyon."}) + "\n")
    args = ["build-data", "--source", "pairs", "--pairs", str(pairs), "--target", str(tmp_path / "tok")]
    assert main([*args, "--out", str(tmp_path / "d")]) == 0
    assert (tmp_path / "d" / "dataset_info.json").exists()


def test_recheck_writes_the_rechecked_data_and_its_report_and_skips_a_finished_folder(
    tmp_path, tiny_tok, monkeypatch, capsys
):
    """`hf-judge recheck` on a math-steps shard: the items come from --items/--n-items/--seed, the data set and
    recheck.json (counts, command) go to --out whole, the checkpoint is removed, and a second run does nothing."""
    import hf_judge.cli.train as cli_train
    from hf_judge.training.data import STEPS_INSTRUCTION, auto_items, load_dataset_dir
    from tests.conftest import tiny_for
    from tests.test_train import _recheck_rows

    items, _ = auto_items("math-steps", 3, 7)
    _recheck_rows(tiny_tok, items, STEPS_INSTRUCTION).save_to_disk(str(tmp_path / "math-steps" / "seed-7"))
    target = tiny_for(tiny_tok, layers=1, seed=0)
    monkeypatch.setattr(cli_train, "_models", lambda args, need_draft: (tiny_tok, target, None))
    out = tmp_path / "rechecked" / "seed-7"
    args = ["recheck", "--data", str(tmp_path / "math-steps" / "seed-7"), "--items", "math-steps", "--n-items", "3"]
    args += ["--seed", "7", "--label-max-new-tokens", "12", "--samples", "2", "--batch-size", "4", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", ["hf-judge", *args])
    assert main(args) == 0
    report = json.loads((out / "recheck.json").read_text())
    assert report["rechecked"] == 6 and report["samples"] == 2 and report["command"].startswith("hf-judge recheck")
    assert (
        report["kept"] == sum(ex["labels"] == [0] for ex in load_dataset_dir(out) if ex["source"] != "auto:target") - 3
    )
    assert not out.with_name("seed-7.progress.jsonl").exists()
    assert main(args) == 0 and "already rechecked" in capsys.readouterr().out
    bad = [*args[:-2], "--seed", "8", "--out", str(tmp_path / "other")]  # another seed: other questions
    assert main(bad) == 2 and "begins with none of the items' prompts" in capsys.readouterr().err


def test_unknown_alias_is_a_clean_error(capsys):
    assert main(["generate", "hi", "--target", "no-such-model"]) == 2
    assert "unknown model alias 'no-such-model'" in capsys.readouterr().err


def test_missing_judge_for_target_is_a_clean_error(capsys):
    code = main(["generate", "hi", "--target", "smollm2-135m-instruct", "--draft", "smollm2-135m-instruct"])
    assert code == 2
    assert "no judge head ships for target 'smollm2-135m-instruct'" in capsys.readouterr().err


def test_bench_rejects_code_tasks_without_opt_in(capsys):
    assert (
        main(
            [
                "bench",
                "--tasks",
                "humaneval",
                "--target",
                "smollm2-135m-instruct",
                "--draft",
                "smollm2-135m-instruct",
                "--judge",
                "x",
            ]
        )
        == 2
    )
    assert "allow_code_exec" in capsys.readouterr().err


def test_parser_defaults_are_the_default_pair():
    args = build_parser().parse_args(["demo"])
    assert (args.target, args.draft, args.judge) == (
        "qwen2.5-coder-1.5b-instruct",
        "qwen2.5-coder-0.5b-instruct",
        "default",
    )


@pytest.mark.slow
def test_train_and_calibrate_commands_end_to_end(tmp_path, smol, capsys):
    """`hf-judge train` on the shipped seed pairs with the real SmolLM2 (a head reading logit features, the better
    of two learning rates on validation), then `hf-judge calibrate` and `hf-judge test-head`."""
    smol_args = ["--target", "smollm2-135m-instruct", "--draft", "smollm2-135m-instruct"]
    assert main(["build-data", "--source", "pairs", "--out", str(tmp_path / "data"), *smol_args]) == 0
    assert (
        main(
            ["train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "head"), "--epochs", "30"]
            + ["--learning-curve", "--logit-features", "--lr", "0.01", "0.001", "--disagreement-weight", "1", "4"]
            + smol_args
        )
        == 0
    )
    for f in ("config.json", "model.safetensors", "README.md", "calibration.png", "training_report.json"):
        assert (tmp_path / "head" / f).exists(), f
    report = json.loads((tmp_path / "head" / "training_report.json").read_text())
    assert set(report["free_rules"]) == {"top-k", "ratio", "entropy"}  # beside the head, same test positions
    assert "Training-free rules" in (tmp_path / "head" / "README.md").read_text()
    assert report["learning_curve"][-1]["free_rules"] == report["free_rules"]
    assert (tmp_path / "head" / "learning_curve.png").exists()
    assert report["command"].startswith("hf-judge") and report["environment"]["dtype"].startswith("torch.")
    assert report["config"]["logit_features"] and [g["lr"] for g in report["grid"]] == [0.01, 0.01, 0.001, 0.001]
    assert [g["disagreement_weight"] for g in report["grid"]] == [1, 4, 1, 4] and report["select_on"] == "positions"
    assert report["config"]["lr"] == max(report["grid"], key=lambda g: g["val_roc_auc"])["lr"]
    # --combine average: the same grid, its heads averaged into one (and a learning curve of averages)
    grid_args = ["--epochs", "30", "--learning-curve", "--logit-features", "--lr", "0.01", "0.001", *smol_args]
    avg_dir = tmp_path / "averaged"
    assert (
        main(["train", "--data", str(tmp_path / "data"), "--out", str(avg_dir), "--combine", "average", *grid_args])
        == 0
    )
    avg = json.loads((avg_dir / "training_report.json").read_text())
    assert avg["combine"] == "average" and "select_on" not in avg and avg["config"]["lr"] == [0.01, 0.001]
    assert avg["best_epoch"] is None and len(avg["learning_curve"]) == len(report["learning_curve"])
    card = (avg_dir / "README.md").read_text()
    assert "the average of 2 heads' logits" in card and "best epoch of each averaged head" in card
    assert (
        main(
            [
                "calibrate",
                "--head",
                str(tmp_path / "head"),
                "--data",
                str(tmp_path / "data"),
                "--error-recall",
                "1.0",
                "--target",
                "smollm2-135m-instruct",
            ]
        )
        == 0
    )
    cal = json.loads((tmp_path / "head" / "calibration.json").read_text())
    assert cal["error_recall"] == 1.0  # every error in the data is rejected at the new threshold
    assert cal["data"] == [str(tmp_path / "data")] and cal["command"].startswith("hf-judge")
    card = (tmp_path / "head" / "README.md").read_text()  # the card states the threshold the head now has
    assert f"(**{cal['threshold']:.3f}**)" in card and "Training-free rules" in card
    assert f"Calibration: threshold {cal['threshold']:.3f}, set after training by `hf-judge" in card
    out = capsys.readouterr().out
    assert "rejects 1.000 of errors" in out
    # the calibrated head on the same data: test-head reports what calibrate measured there
    smol_target = ["--target", "smollm2-135m-instruct"]
    args = ["test-head", "--head", str(tmp_path / "head"), "--data", str(tmp_path / "data"), *smol_target]
    assert main([*args, "--out", str(tmp_path / "held_out")]) == 0
    rep = json.loads((tmp_path / "held_out" / "test_report.json").read_text())
    measured = {k: v for k, v in cal.items() if k not in ("curve", "data", "command")}
    assert rep["test"] == measured and rep["test"]["error_recall"] == 1.0
    assert "test_disagreements" not in rep  # hand-written pairs hold no draft/target disagreement
    assert set(rep["free_rules"]) == {"top-k", "ratio", "entropy"} and rep["command"].startswith("hf-judge")
    assert "by_domain" not in rep  # one domain
    # --split test: the test questions of train's split only, so it gives train's own test figures again
    assert main([*args, "--split", "test", "--out", str(tmp_path / "test_split")]) == 0
    split = json.loads((tmp_path / "test_split" / "test_report.json").read_text())
    assert split["split"] == "test" and split["test"]["n"] == report["test"]["n"] < rep["test"]["n"]
    assert split["test"]["n_errors"] == report["test"]["n_errors"]
    assert split["test"]["roc_auc"] == pytest.approx(report["test"]["roc_auc"], abs=1e-4)
    # the same data under two domain folders: a report for each, over its own positions
    for domain in ("one", "two"):
        shutil.copytree(tmp_path / "data", tmp_path / domain / "data")
    folders = [str(tmp_path / d / "data") for d in ("one", "two")]
    assert main([*args[:3], "--data", *folders, *smol_target, "--out", str(tmp_path / "two_domains")]) == 0
    two = json.loads((tmp_path / "two_domains" / "test_report.json").read_text())
    assert list(two["by_domain"]) == ["one", "two"]
    assert [two["by_domain"][d]["test"]["n"] for d in ("one", "two")] == [rep["test"]["n"]] * 2
    assert two["by_domain"]["two"]["test"] == rep["test"]  # each domain's positions are the one-folder data
    assert set(two["by_domain"]["one"]["free_rules"]) == {"top-k", "ratio", "entropy"}
    # a domain whose questions all fall outside the test split is left out of --split test's by_domain
    ds = load_dataset_dir(tmp_path / "data")
    ds.select([i for i, s in enumerate(split_by_question(ds)) if s == "train"]).save_to_disk(
        tmp_path / "three" / "data"
    )
    folders = [str(tmp_path / "one" / "data"), str(tmp_path / "three" / "data")]
    assert main([*args[:3], "--data", *folders, *smol_target, "--split", "test", "--out", str(tmp_path / "three")]) == 0
    three = json.loads((tmp_path / "three" / "test_report.json").read_text())
    assert list(three["by_domain"]) == ["one"] and three["by_domain"]["one"]["test"] == split["test"]


@pytest.fixture(scope="module")
def smol_head_dir(tmp_path_factory, smol, smol_tok):
    """A judge head for SmolLM2 (trained in seconds on the seed pairs), exported like a Hub repo."""
    from hf_judge.training.card import export_head
    from hf_judge.training.trainer import seed_head

    return export_head(seed_head(smol, smol_tok, epochs=10), tmp_path_factory.mktemp("head") / "smol-judge")


@pytest.mark.slow
def test_demo_names_a_rule_given_as_its_judge(capsys):
    """`demo --judge top-k:2`: the rule's row was labelled "judge", as if a trained head had run."""
    smol = ["--target", "smollm2-135m-instruct", "--draft", "smollm2-135m-instruct", "--draft-quant", "none"]
    args = ["demo", *smol, "--judge", "top-k:2", "--max-new-tokens", "6", "--prompt", "Hi", "--no-limit"]
    assert main([*args, "--dtype", "float32"]) == 0
    out = capsys.readouterr().out
    table = out.split("\nmethod ", 1)[1].split("\n\n", 1)[0]
    assert [line.split()[0] for line in table.splitlines()[2:5]] == ["target", "sd", "top-k:2"]
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith("--- ")] == [
        "--- target",
        "--- sd",
        "--- top-k",
    ]


@pytest.mark.slow
def test_demo_prints_the_three_methods_side_by_side(smol_head_dir, capsys):
    """The main job's code path on the small model: target alone, standard SD and judge decoding."""
    smol = ["--target", "smollm2-135m-instruct", "--draft", "smollm2-135m-instruct", "--draft-quant", "none"]
    args = ["demo", *smol, "--judge", str(smol_head_dir), "--max-new-tokens", "12", "--prompt", "What is 2+3?"]
    assert main([*args, "--dtype", "float32"]) == 0
    out = capsys.readouterr().out
    table = out.split("\nmethod ", 1)[1].split("\n\n", 1)[0]  # the side-by-side table only
    rows = {
        line.split()[0]: line.split()
        for line in table.splitlines()
        if line.split()[:1] in (["target"], ["sd"], ["judge"])
    }
    assert "limit meter (k=8)" in out and "of the cap" in out  # the limit meter after the runs
    assert "memory: peak resident" in out
    assert set(rows) == {"target", "sd", "judge"}
    assert "x target" in out and "### prompt 1: What is 2+3?" in out
    texts = [line for line in out.splitlines() if line.startswith("--- ")]
    assert len(texts) == 3 and len({t.split(":", 1)[1] for t in texts}) == 1  # the draft is the target: same text
    assert float(rows["target"][4]) == 1.0  # one token per target forward
    assert float(rows["judge"][4]) > 1.0 and float(rows["sd"][4]) > 1.0  # self-draft: several tokens per forward


@pytest.mark.slow
def test_generate_streams_text_and_reports_acceptance(smol_head_dir, capfd):
    smol = ["--target", "smollm2-135m-instruct", "--draft", "smollm2-135m-instruct", "--judge", str(smol_head_dir)]
    assert main(["generate", "Say hello.", *smol, "--max-new-tokens", "10"]) == 0
    out, err = capfd.readouterr()
    assert out.strip()  # the streamed answer
    assert "tok/s]" in err and "steps=" in err and "judge-only" in err and "mean accepted/step" in err


@pytest.mark.slow
def test_generate_takes_a_training_free_rule_as_its_judge(capfd):
    """``--judge top-k:2`` is the same rule as ``judge="top-k:2"`` in ``hf_judge.generate``: no head to load."""
    smol = ["--target", "smollm2-135m-instruct", "--draft", "smollm2-135m-instruct", "--judge", "top-k:2"]
    assert main(["generate", "Say hello.", *smol, "--max-new-tokens", "10"]) == 0
    out, err = capfd.readouterr()
    assert out.strip() and "judge-only" in err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["build-data", "--pairs", "p.jsonl", "--out", "d"], "--pairs p.jsonl is read with --source pairs"),
        (["train", "--pairs", "p.jsonl", "--out", "h"], "--pairs p.jsonl is read with --source pairs"),
        (["train", "--data", "d", "--pairs", "p.jsonl", "--out", "h"], "--pairs p.jsonl builds a data set, and --data"),
    ],
)
def test_a_pairs_file_that_would_be_ignored_is_named(argv, named, tmp_path, monkeypatch, capsys):
    """`--pairs my.jsonl` without `--source pairs` auto-labelled math items instead, and said nothing of the file."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert named in capsys.readouterr().err


def test_a_temperature_without_sampling_is_named_before_any_model_loads(capsys):
    """`hf-judge generate --temperature 0.5 "..."` decoded greedily and said nothing of the temperature."""
    assert main(["generate", "hi", "--temperature", "0.5"]) == 2
    assert "--temperature 0.5 applies to sampling: pass --sample too" in capsys.readouterr().err


def test_a_bad_rule_knob_is_named_before_any_model_loads(capsys):
    smol = ["--target", "smollm2-135m-instruct", "--draft", "smollm2-135m-instruct"]
    assert main(["generate", "hi", "--judge", "top-k:two", *smol]) == 2
    assert "scorer 'top-k:two': the knob 'two' is not a number" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["generate", "hi", "--max-new-tokens", "0"], "argument --max-new-tokens: 0 is not a positive"),
        (["generate", "hi", "--sample", "--temperature", "0"], "argument --temperature: 0 is not a positive"),
        (["generate", "hi", "--sample", "--temperature", "nan"], "argument --temperature: nan is not a positive"),
        (["demo", "--max-new-tokens", "-3"], "argument --max-new-tokens: -3 is not a positive"),
        (["generate", "hi", "--threads", "0"], "argument --threads: 0 is not a positive"),
        (["generate", "hi", "-k", "0"], "argument -k/--num-assistant-tokens: 0 is not a positive"),
        (["demo", "--judge-threshold", "2"], "argument --judge-threshold: judge_threshold=2 must lie in [0, 1]"),
        (["generate", "hi", "--judge-min-ratio", "-1"], "argument --judge-min-ratio: judge_min_ratio=-1 must lie"),
        (
            ["generate", "hi", "--assistant-confidence-threshold", "x"],
            "argument --assistant-confidence-threshold: assistant_confidence_threshold='x' must be a number",
        ),
        (["bench", "-k", "8", "0"], "argument -k/--num-assistant-tokens: 0 is not a positive"),
    ],
)
def test_a_count_or_temperature_out_of_range_is_named_before_any_work(argv, named, capsys):
    """Before: --max-new-tokens and --temperature loaded both models and ended in a transformers traceback; -k and
    the thresholds of generate and demo were named only after both models had loaded."""
    from hf_judge.cli import build_parser

    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(argv)
    assert e.value.code == 2 and named in capsys.readouterr().err


def test_the_shipped_head_is_found_for_the_target_a_head_command_names(capsys):
    """``--head default`` means the head shipped for ``--target`` (before: "judge='default' needs the target's
    name"); the data folder is checked before any model loads."""
    assert main(["test-head", "--head", "default", "--data", "/no/such/data"]) == 2
    assert "no judge data set at /no/such/data" in capsys.readouterr().err


def test_calibrate_overwrites_only_a_local_head_folder(capsys):
    """Without --out, calibrate saves over --head: for the shipped head or a Hub id that would have written a
    new folder named after it in the working directory."""
    assert main(["calibrate", "--head", "default", "--data", "/no/such/data"]) == 2
    assert "--head default is not a local head folder to overwrite: pass --out" in capsys.readouterr().err


def test_doctor_names_an_acceptance_outside_0_1_before_measuring(capsys):
    smol = ["--target", "smollm2-135m-instruct", "--draft", "smollm2-135m-instruct"]
    assert main(["doctor", *smol, "--acceptance", "1.5"]) == 2
    assert "--acceptance=1.5 must lie in [0, 1]" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["build-data", "recheck"])
def test_data_commands_refuse_an_out_folder_that_holds_other_files_before_any_work(command, tmp_path, capsys):
    """`build-data --out data/judge/math-steps` (the folder of the shards, not a new shard): the finished data
    set could not be renamed onto a folder with files in it, so the run failed at its very end."""
    out = tmp_path / "math-steps"
    (out / "seed-1").mkdir(parents=True)
    as_built = ["--items", "math-steps", "--n-items", "10", "--seed", "1", "--label-max-new-tokens", "96"]
    extra = ["--data", str(out / "seed-1"), *as_built] if command == "recheck" else ["--source", "pairs"]
    assert main([command, *extra, "--out", str(out), "--target", "no/such-model"]) == 2
    assert f"--out {out} holds files but no data set: pass a new folder" in capsys.readouterr().err


def test_bench_names_an_update_card_folder_that_is_no_exported_head_before_it_runs(tmp_path, capsys):
    """`bench --update-card runs/head` (no exported head there): named after the whole bench had run."""
    assert main(["bench", "--update-card", str(tmp_path), "--target", "no/such-model", "--out", str(tmp_path)]) == 2
    assert f"{tmp_path} was not written by export_head (no card_info.json)" in capsys.readouterr().err


def test_doctor_writes_its_measurements_into_a_folder_it_makes(tmp_path, monkeypatch):
    """`doctor --out runs/costs.json` with no runs/ yet: the measurements (minutes of timed forwards) were made,
    then lost to "No such file or directory"."""
    from hf_judge.bench import limit
    from hf_judge.cli import doctor

    class Costs:
        def as_dict(self):
            return {"c": 0.34}

        def table(self, acceptance):
            return f"plan for {acceptance}"

    monkeypatch.setattr(doctor, "load_models", lambda args, need_judge: (None, None, None, None))
    monkeypatch.setattr(limit, "measure_costs", lambda *a, **kw: Costs())
    out = tmp_path / "runs" / "costs.json"
    assert main(["doctor", "--acceptance", "0.7", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == {"costs": {"c": 0.34}, "acceptance": 0.7}


def test_internal_errors_are_not_reported_as_user_errors(monkeypatch, capsys):
    """Only bad input (InputError, OSError) becomes 'hf-judge: error' with status 2; a bug keeps its traceback."""
    from hf_judge import cli
    from hf_judge.cli import run
    from hf_judge.core.errors import InputError

    def bug(args):
        raise ValueError("an internal bug")

    monkeypatch.setattr(run, "cmd_generate", bug)
    with pytest.raises(ValueError, match="an internal bug"):
        cli.main(["generate", "hi"])

    def bad_input(args):
        raise InputError("judge_threshold=2 must lie in [0, 1]")

    monkeypatch.setattr(run, "cmd_generate", bad_input)
    assert cli.main(["generate", "hi"]) == 2
    assert "hf-judge: error: judge_threshold=2" in capsys.readouterr().err


def test_stock_sd_baseline_prints_no_transformers_notice(tmp_path):
    """The demo's standard-SD baseline, and the library's ``generate`` without a judge (the data labeller's
    path), used to print transformers' deprecation notice about its own internal call."""
    code = f"""
import sys, torch
sys.path.insert(0, {str(Path(__file__).parents[1])!r})
from tests.conftest import tiny_model
from hf_judge.bench.runner import run_method
target, draft = tiny_model(seed=0), tiny_model(layers=1, seed=1)
ids = torch.tensor([[1, 2, 3, 4]])
if sys.argv[1] == "runner":
    run_method("sd", target, ids, draft=draft, num_assistant_tokens=3, max_new_tokens=8, do_sample=False)
elif sys.argv[1] == "library":  # hf_judge.generate without a judge: stock SD, as the data labeller runs it
    from hf_judge.core.decoding import generate
    generate(target, ids, assistant_model=draft, max_new_tokens=8, do_sample=False)
else:  # stock generate, unfiltered: shows that the notice exists, so the check above can fail
    target.generate(ids, assistant_model=draft, max_new_tokens=8, do_sample=False)
"""
    notice = "Passing `generation_config` together with generation-related"
    for mode, expected in (("runner", False), ("library", False), ("stock", True)):
        run = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, cwd=tmp_path)
        assert run.returncode == 0, run.stderr[-2000:]
        assert (notice in run.stderr) == expected, mode
