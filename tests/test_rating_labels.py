"""benchmarks/rating_labels.py: the report that sets each acceptance score beside the rating change it predicts."""

import pytest

from tests.conftest import benchmark_script


@pytest.fixture(scope="module")
def labels():
    return benchmark_script("rating_labels")


def _sub(delta, head, ratio, drop=None):
    scores = {"head": head, "top-k": 0.5, "ratio": ratio, "entropy": 0.0}
    return {"delta": delta, "scores": scores, "preservation_drop": drop, "same_text": delta == 0.0}


def test_report_scores_each_rule_against_the_rating_change_and_counts_what_its_cut_keeps(labels):
    """Worked by hand: four substitutions over two prompts; the label at tolerance t is delta >= -t."""
    records = [
        {"subs": [_sub(0.0, 0.9, 0.2, drop=0.1), _sub(-0.2, 0.8, 0.9, drop=0.3)]},
        {"subs": [_sub(0.3, 0.7, 0.5, drop=None), _sub(-1.0, 0.1, 0.6, drop=0.5)]},
    ]
    cuts = {"head": 0.5, "top-k": 0.4, "ratio": 0.3, "entropy": 0.3}
    out = labels.report(records, cuts, floor=0.25)
    assert (out["substitutions"], out["prompts"], out["same_text"]) == (4, 2, 1)
    # negatives (delta < -t): t=0: -0.2, -1.0; t=0.1: the same; t=0.25: -1.0; t=0.5: -1.0
    assert out["lowered"] == {"0.0": 2, "0.1": 2, "0.25": 1, "0.5": 1}
    assert out["kept_share"]["0.0"] == 0.5 and out["kept_share"]["0.25"] == 0.75
    # head at t=0: positives 0.9, 0.7 vs negatives 0.8, 0.1: pairs won 0.9>0.8, 0.9>0.1, 0.7>0.1 -> 3 of 4
    assert out["roc_auc"]["head"]["0.0"] == pytest.approx(0.75)
    # at t=0.25 the one negative (0.1) is below every positive
    assert out["roc_auc"]["head"]["0.25"] == pytest.approx(1.0)
    # ratio at t=0: positives 0.2, 0.5 vs negatives 0.9, 0.6: no pair won
    assert out["roc_auc"]["ratio"]["0.0"] == pytest.approx(0.0)
    # one score for every substitution: no order, an AUC of one half
    assert out["roc_auc"]["top-k"]["0.0"] == pytest.approx(0.5)
    # preservation only where a drop was measured (three): labels 1, 0, 0 at t=0, scores -0.1, -0.3, -0.5
    assert out["roc_auc"]["-preservation_drop"]["0.0"] == pytest.approx(1.0)
    assert out["roc_auc"]["-preservation_drop"]["0.25"] == pytest.approx(1.0)
    # one class of the label only: no AUC and no interval rather than a made-up one
    lone = labels.report([{"subs": [_sub(0.0, 0.9, 0.2), _sub(0.1, 0.2, 0.3)]}], cuts)
    assert lone["roc_auc"]["head"]["0.0"] is None and lone["roc_auc_interval"]["head"]["0.0"] is None
    assert out["roc_auc_interval"]["head"]["0.25"] is None  # one negative: no variance to estimate
    lo, hi = out["roc_auc_interval"]["head"]["0.0"]
    assert 0.0 < lo < 0.75 < hi < 1.0
    # the head keeps what scores above 0.5 with a ratio above the floor 0.25: the -0.2 and the +0.3
    head = out["at_cut"]["head"]
    assert head["cut"] == "0.5/r0.25" and head["kept"] == 2
    assert head["mean_delta_kept"] == pytest.approx(0.05) and head["mean_delta_rejected"] == pytest.approx(-0.5)
    assert out["at_cut"]["top-k"]["kept"] == 4 and out["at_cut"]["top-k"]["mean_delta_rejected"] is None
    # mean -0.225, prompts' means -0.1 and -0.35: between 4 * 0.125^2 = 0.0625 of a total 0.9275
    assert out["prompt_share"] == pytest.approx(0.0625 / 0.9275)
    # within each prompt the head ranks the smaller fall first (0.9 > 0.8, 0.7 > 0.1); the ratio the other way
    assert out["within_prompt"]["head"]["concordance"] == pytest.approx(1.0)
    assert out["within_prompt"]["ratio"]["concordance"] == pytest.approx(0.0)


def test_prompt_share_is_the_part_of_the_variance_between_prompts(labels):
    import torch

    groups = torch.tensor([0, 0, 1, 1])
    assert labels.prompt_share(torch.tensor([1.0, 1.0, -1.0, -1.0]), groups) == pytest.approx(1.0)
    assert labels.prompt_share(torch.tensor([1.0, -1.0, 1.0, -1.0]), groups) == pytest.approx(0.0)
    # mean 0, prompts' means 0.5 and -0.5: between 4 * 0.25 = 1 of a total 1 + 0 + 0 + 1 = 2
    assert labels.prompt_share(torch.tensor([1.0, 0.0, 0.0, -1.0]), groups) == pytest.approx(0.5)


def test_concordance_orders_substitutions_within_a_prompt_only(labels):
    """Worked by hand: prompt 0 has one pair, ordered right; prompt 1 has two pairs with different changes,
    both ordered wrong (and one tie of change, left out): 1 of 3. A level added to one prompt's changes, which
    would reorder pairs across prompts, changes nothing."""
    import torch

    score = torch.tensor([0.9, 0.1, 0.2, 0.8, 0.5])
    delta = torch.tensor([0.5, -0.5, 0.1, -0.1, -0.1])
    groups = torch.tensor([0, 0, 1, 1, 1])
    got, (lo, hi) = labels.concordance(score, delta, groups)
    assert got == pytest.approx(1 / 3)
    assert 0.0 <= lo <= got <= hi <= 1.0
    shifted = delta + torch.tensor([0.0, 0.0, 10.0, 10.0, 10.0])
    assert labels.concordance(score, shifted, groups)[0] == pytest.approx(1 / 3)
    tie = torch.tensor([0.5, 0.5, 0.2, 0.8, 0.5])  # prompt 0's pair tied in score: half
    assert labels.concordance(tie, delta, groups)[0] == pytest.approx(0.5 / 3)
    assert labels.concordance(score, torch.zeros(5), groups) is None  # no pair with different changes
