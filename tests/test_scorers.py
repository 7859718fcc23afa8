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


def test_top_k_never_counts_a_banned_token_among_the_top_k():
    """With fewer allowed tokens than k (a -inf logit: a sampling filter or a ban), the top k filled up with
    banned tokens must not make them members."""
    inf = float("-inf")
    logits = torch.tensor([[5.0, inf, inf], [5.0, 4.0, inf]])  # (K=2, V=3)
    assert TopK(2).score(None, logits, torch.tensor([1, 1])).tolist() == [0.0, 1.0]
    assert TopK(3).score(None, logits, torch.tensor([2, 2])).tolist() == [0.0, 0.0]


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


def _ratio_head(hidden: int, ratio: float) -> hf_judge.JudgeHead:
    """A head that reads logit features and nothing else: sigmoid(log ratio - log r) > 0.5 iff ratio > r."""
    head = hf_judge.JudgeHead(hf_judge.JudgeHeadConfig(hidden_size=hidden, logit_features=True, threshold=0.5))
    with torch.no_grad():
        head.net[0].weight.zero_()
        head.net[0].weight[0, hidden] = 1.0  # the first logit feature: log(p(d) / max p)
        head.net[0].bias.fill_(-math.log(ratio))
    return head


def test_logit_features_on_hand_logits():
    from hf_judge.core.modeling_judge import LOGIT_FEATURES, logit_features

    logits = torch.tensor([[3.0, 2.0, 0.0, -1.0], [0.0, 0.0, 0.0, 0.0]])  # (K=2, V=4)
    f = logit_features(logits, torch.tensor([1, 3]))  # (2, 3)
    assert LOGIT_FEATURES == ("log_ratio", "log_rank", "entropy") and f.shape == (2, 3)
    assert f[:, 0].tolist() == pytest.approx([-1.0, 0.0], abs=1e-6)  # log p(d) - log max p
    assert f[:, 1].tolist() == pytest.approx([math.log(2), 0.0], abs=1e-6)  # second best; a tie counts as first
    p = logits[0].softmax(-1)
    assert f[:, 2].tolist() == pytest.approx([float(-(p * p.log()).sum() / math.log(4)), 1.0], abs=1e-5)


def test_a_head_reading_logits_gets_the_raw_logits_and_names_what_it_lacks():
    head = _ratio_head(4, 0.3)
    hidden, raw, ids = torch.randn(2, 4), torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]), torch.tensor([0, 0])
    processed = raw / 0.1  # a low temperature: the second token's ratio falls from e^-2 to e^-20
    want = torch.sigmoid(torch.tensor([0.0, -2.0]) - math.log(0.3))
    assert judge_scores(head, hidden, processed, ids, raw).tolist() == pytest.approx(want.tolist(), abs=1e-5)
    with pytest.raises(ValueError, match="pass target_logits and draft_ids"):
        head.predict_proba(hidden)
    with pytest.raises(ValueError, match=r"logit features of shape \(2, 3\)"):
        head(hidden)
    plain = hf_judge.JudgeHead(hf_judge.JudgeHeadConfig(hidden_size=4))
    with pytest.raises(ValueError, match="hidden states only"):
        plain(hidden, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="logit_features='yes'"):
        hf_judge.JudgeHeadConfig(hidden_size=4, logit_features="yes")


def test_a_head_on_the_log_ratio_decodes_as_the_ratio_rule(prompt):
    """Through generate: a head whose only weight is on the log probability ratio, cut at log 0.3, keeps
    exactly the draft tokens the free ratio rule keeps at 0.3."""
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 4)
    kw = {"max_new_tokens": 24, "do_sample": False, "assistant_model": draft, "return_dict_in_generate": True}
    by_rule = target.generate(prompt, judge="ratio:0.3", **kw)
    by_head = target.generate(prompt, judge=_ratio_head(target.config.hidden_size, 0.3), **kw)
    assert by_rule.acceptance.accepted_judge_only > 0  # the rule changes the output here: the test can fail
    assert torch.equal(by_head.sequences, by_rule.sequences)
    assert by_head.acceptance.accepted_judge_only == by_rule.acceptance.accepted_judge_only
