"""benchmarks/lost_answers.py: where two greedy answers part, and the judge data's disagreements by where they sit."""

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def lost():
    path = Path(__file__).parents[1] / "benchmarks" / "lost_answers.py"
    spec = importlib.util.spec_from_file_location("lost_answers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parted_at_is_the_first_differing_token(lost):
    assert lost.parted_at([5, 6, 7, 8], [5, 6, 9, 8]) == 2
    assert lost.parted_at([5, 6], [5, 6, 7]) == 2  # one begins the other: they part where the shorter ends
    assert lost.parted_at([4], [5]) == 0


def test_data_openings_counts_disagreements_at_the_answers_opening_or_later(lost, tiny_tok, tmp_path):
    from datasets import Dataset

    from hf_judge.training.data import prompt_ids

    prompt = prompt_ids(tiny_tok, "def add(x, y):")  # ends with the chat template's answer header
    answer = tiny_tok("    return x + y\n")["input_ids"]
    ids = prompt + answer
    assert len(answer) > 4
    rows = [
        {"input_ids": ids[: len(prompt) + 2], "positions": [len(prompt) + 1], "labels": [0], "source": "auto:mismatch"},
        {"input_ids": ids, "positions": [len(ids) - 1], "labels": [1], "source": "auto:mismatch:hard"},
        {"input_ids": ids, "positions": [len(prompt)], "labels": [0], "source": "auto:match"},  # not a disagreement
    ]
    shard = tmp_path / "programs" / "seed-1"
    Dataset.from_list(rows).save_to_disk(str(shard))
    counts = lost.data_openings([str(shard)], tiny_tok, opening=4)["disagreements"]
    assert counts == {
        "programs": {"opening": {"acceptable": 0, "error": 1}, "later": {"acceptable": 1, "error": 0}},
    }
