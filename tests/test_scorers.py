"""Training-free scorers in the judge slot: their scores on hand tensors, and their effect through generate."""

import math

import pytest
import torch

import hf_judge
from hf_judge.core.scorers import EntropyGated, ProbabilityRatio, TopK, judge_scores, scorer_from_spec
from tests.conftest import set_draft_len, tiny_model


def test_scores_on_hand_logits():
    logits = torch.tensor([[3.0, 2.0, 0.0, -1.0], [0.0, 0.0, 0.0, 0.0]]).log_softmax(-1)  # (K=2, V=4)
    ids = torch.tensor([1, 3])
    assert TopK(2).score(None, logits, ids).tolist() == [1.0, 1.0]  # the second row is a 4-way tie
    assert TopK(1).score(None, logits, torch.tensor([0, 2])).tolist()[0] == 1.0
    assert TopK(1).score(None, logits, ids).tolist()[0] == 0.0
    ratio = ProbabilityRatio(0.3).score(None, logits, ids)
    assert ratio.tolist() == pytest.approx([math.exp(-1.0), 1.0], abs=1e-6)
    ent = EntropyGated(0.5, min_ratio=0.5).score(None, logits, ids)
    assert ent[0] == 0.0  # ratio e^-1 < 0.5: implausible, whatever the entropy
    assert ent[1] == pytest.approx(1.0, abs=1e-5)  # uniform target: entropy / log V = 1


def test_specs_and_bad_knobs():
    assert isinstance(scorer_from_spec("top-k:3"), TopK) and scorer_from_spec("top-k:3").k == 3
    assert scorer_from_spec("ratio:0.25").threshold == 0.25 and scorer_from_spec("entropy").threshold == 0.3
    with pytest.raises(ValueError, match="unknown scorer 'topk'"):
        scorer_from_spec("topk:2")
    with pytest.raises(ValueError, match="top-k k=0"):
        scorer_from_spec("top-k:0")
    with pytest.raises(ValueError, match="the knob 'x' is not a number"):
        scorer_from_spec("ratio:x")
    with pytest.raises(ValueError, match="ratio threshold=1.5"):
        ProbabilityRatio(1.5)


def test_a_head_and_a_scorer_share_one_interface():
    head = hf_judge.JudgeHead(hf_judge.JudgeHeadConfig(hidden_size=4))
    hidden, logits, ids = torch.randn(3, 4), torch.randn(3, 10), torch.tensor([1, 2, 3])
    assert torch.equal(judge_scores(head, hidden, logits, ids), head.predict_proba(hidden))
    assert torch.equal(judge_scores(TopK(10), None, logits, ids), torch.ones(3))


def test_top1_is_standard_verification_and_top_v_keeps_every_draft_token(prompt):
    """Through generate: top-1 membership is the target's own argmax test, so the output is plain greedy;
    top-V (every token) keeps every draft token."""
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 3)
    ref = target.generate(prompt, max_new_tokens=16, do_sample=False)
    kw = {"max_new_tokens": 16, "do_sample": False, "assistant_model": draft, "return_dict_in_generate": True}
    top1 = target.generate(prompt, judge="top-k:1", **kw)
    assert torch.equal(top1.sequences, ref) and top1.acceptance.accepted_judge_only == 0
    every = target.generate(prompt, judge="top-k:96", **kw)
    assert every.acceptance.accepted == every.acceptance.proposed and every.acceptance.accepted_judge_only > 0
    ratio = target.generate(prompt, judge="ratio:1.0", **kw)  # no token's ratio is strictly above 1
    assert torch.equal(ratio.sequences, ref)
