"""benchmarks/lost_answers.py: where two greedy answers part, and the judge data's disagreements by where they sit."""

import pytest

from tests.conftest import benchmark_script


@pytest.fixture(scope="module")
def lost():
    return benchmark_script("lost_answers")


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


def test_continue_partings_scores_the_targets_own_answer_from_each_parting(lost, tiny_tok, monkeypatch):
    """The target goes on greedily from the shared answer and the method's token where they part, to the run's
    token budget; its answer (from the answer's start, the method's token included) is scored, and a lost answer
    the target also gets wrong from there counts as lost at the parting, a gained one it gets right as gained."""
    import torch

    from hf_judge.bench import suite
    from hf_judge.training.data import prompt_ids
    from tests.conftest import tiny_for

    target, draft = tiny_for(tiny_tok, layers=2, seed=0), tiny_for(tiny_tok, seed=1)
    prompt = prompt_ids(tiny_tok, "Tom has 12 apples. How many apples does he have now?")
    greedy = target.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False)[0, len(prompt) :].tolist()
    other = (greedy[3] + 1) % len(tiny_tok)  # the method's token where it parts from the target's answer
    row = prompt + greedy[:3] + [other]
    own = target.generate(torch.tensor([row]), max_new_tokens=8, do_sample=False)[0, len(row) :].tolist()
    example = {"kind": "math", "answer": "19"}
    answers = [
        {"id": f"p{i}", "lost": lost_it, "row": list(row), "_go_on": (example, len(prompt), 12)}
        for i, lost_it in enumerate((True, False, True))
    ]
    stopped = {"id": "p3", "lost": True, "row": None, "_go_on": (example, len(prompt), 12)}  # it just stopped
    again = dict(answers[0])  # another method's answer that parted the same way: the target goes on once
    methods = [{"answers": [*answers, stopped]}, {"answers": [again]}]
    scored, verdicts = [], iter([0.0, 1.0, 1.0])  # lost and wrong, gained and right, lost yet right from there

    def fake_quality(kind, examples, texts):
        scored.append((kind, examples, texts))
        return {"exact_match": [next(verdicts)]}

    monkeypatch.setattr(suite, "_quality", fake_quality)
    lost.continue_partings(methods, target, draft, tiny_tok, k=4)
    assert scored[0] == ("math", [example], [tiny_tok.decode(greedy[:3] + [other] + own, skip_special_tokens=True)])
    assert len(scored) == 3  # the answer that just stopped has no parting token to go on from; p0 again, none
    assert [a.get("target_after_parting") for a in methods[0]["answers"]] == [0.0, 1.0, 1.0, None]
    assert (methods[0]["lost_at_parting"], methods[0]["gained_at_parting"]) == (1, 1)
    assert (again["target_after_parting"], methods[1]["lost_at_parting"]) == (0.0, 1)
