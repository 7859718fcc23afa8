"""The accept rule on hand-written tensors."""

import pytest
import torch

from hf_judge.core.errors import InputError
from hf_judge.core.verify import Verdict, verify

NEG = -1e9


def logits_for(argmaxes, vocab=5):
    """(len, vocab) logits whose row i has its maximum at argmaxes[i]."""
    x = torch.zeros(len(argmaxes), vocab)
    x[torch.arange(len(argmaxes)), torch.tensor(argmaxes)] = 5.0
    return x


def test_greedy_all_match_gives_bonus():
    v = verify(torch.tensor([1, 2, 3]), logits_for([1, 2, 3, 4]))
    assert (v.n_accepted, v.next_token, v.n_target, v.n_judge_only) == (3, 4, 3, 0)
    assert v.tokens_per_step == 4


def test_greedy_first_mismatch_is_replaced_by_target_choice():
    v = verify(torch.tensor([1, 0, 3]), logits_for([1, 2, 3, 4]))
    assert (v.n_accepted, v.next_token, v.n_target) == (1, 2, 1)


def test_judge_rescues_a_mismatch_and_later_tokens_still_verify():
    # d_2 disagrees with the target but the judge scores it 0.9 > 0.5; d_3 matches
    v = verify(torch.tensor([1, 0, 3]), logits_for([1, 2, 3, 4]), torch.tensor([0.1, 0.9, 0.2]), 0.5)
    assert (v.n_accepted, v.next_token, v.n_target, v.n_judge_only) == (3, 4, 2, 1)
    assert v.by_target == (True, False, True)
    assert v.kept_split(2) == (1, 1) and v.kept_split(1) == (1, 0)  # a step cut short counts what it keeps
    with pytest.raises(InputError, match="by_target=.*n_accepted=3"):  # a split that does not add up is refused
        Verdict(n_accepted=3, next_token=4, by_target=(True, False))


def test_judge_below_threshold_does_not_accept():
    v = verify(torch.tensor([0, 0, 3]), logits_for([1, 2, 3, 4]), torch.tensor([0.5, 0.9, 0.9]), 0.5)
    assert (v.n_accepted, v.next_token) == (0, 1)  # 0.5 is not strictly above 0.5


def test_threshold_one_never_accepts_through_judge():
    v = verify(torch.tensor([0, 0]), logits_for([1, 2, 3]), torch.tensor([1.0, 1.0]), 1.0)
    assert (v.n_accepted, v.next_token, v.n_judge_only) == (0, 1, 0)


def test_threshold_zero_accepts_any_positive_score():
    v = verify(torch.tensor([0, 0]), logits_for([1, 2, 3]), torch.tensor([0.01, 0.02]), 0.0)
    assert (v.n_accepted, v.next_token, v.n_target, v.n_judge_only) == (2, 3, 0, 2)


def test_judge_never_accepts_a_stop_token():
    # d_2 = 4 is eos: the judge scores it 0.9 but only the target may end the answer
    ids, logits, scores = torch.tensor([1, 4, 3]), logits_for([1, 2, 3, 4]), torch.tensor([0.9, 0.9, 0.9])
    v = verify(ids, logits, scores, 0.5, no_judge_ids=torch.tensor([4]))
    assert (v.n_accepted, v.next_token, v.n_target, v.n_judge_only) == (1, 2, 1, 0)
    assert verify(ids, logits, scores, 0.5).n_accepted == 3  # without the rule the judge would keep it
    # the target itself choosing eos still keeps it
    v = verify(
        torch.tensor([1, 2]), logits_for([1, 2, 0]), torch.tensor([0.0, 0.0]), 0.5, no_judge_ids=torch.tensor([2])
    )
    assert (v.n_accepted, v.n_target) == (2, 2)


def test_judge_min_ratio_bars_only_tokens_the_target_finds_implausible():
    # row 0: p(d_1=0) / max p = e^-1 ~ 0.37; row 1: p(d_2=0) / max p = e^-5 ~ 0.007
    logits = torch.zeros(3, 4)
    logits[0, 1], logits[0, 0] = 5.0, 4.0
    logits[1, 2] = 5.0
    logits[2, 3] = 5.0
    ids, scores = torch.tensor([0, 0]), torch.tensor([0.9, 0.9])
    assert verify(ids, logits, scores, 0.5).n_accepted == 2  # no floor: the judge keeps both
    v = verify(ids, logits, scores, 0.5, judge_min_ratio=0.1)  # d_2 is implausible to the target
    assert (v.n_accepted, v.next_token, v.n_target, v.n_judge_only) == (1, 2, 0, 1)
    assert verify(ids, logits, scores, 0.5, judge_min_ratio=0.5).n_accepted == 0  # 0.37 is not above 0.5
    # the floor binds the judge only: a token the target itself picks is kept whatever the floor
    v = verify(torch.tensor([1, 2]), logits, torch.tensor([0.0, 0.0]), 0.5, judge_min_ratio=1.0)
    assert (v.n_accepted, v.n_target) == (2, 2)


def test_empty_draft_returns_target_token():
    v = verify(torch.zeros(0, dtype=torch.long), logits_for([2]), None)
    assert (v.n_accepted, v.next_token) == (0, 2)


def test_sampling_keeps_token_when_target_prob_not_lower():
    # p(d)=q(d) for every token -> ratio 1 -> always kept; bonus drawn from the last row (one-hot)
    p = torch.tensor([[NEG, 0.0, NEG], [NEG, NEG, 0.0], [0.0, NEG, NEG]])
    q = p[:2].softmax(-1)
    v = verify(torch.tensor([1, 2]), p, None, 0.5, draft_probs=q, do_sample=True)
    assert (v.n_accepted, v.next_token, v.n_target) == (2, 0, 2)


def test_sampling_rejects_token_target_never_emits_and_resamples_residual():
    # target puts zero mass on d_1=1 -> rejected; residual max(p - q, 0) is one-hot on token 2
    p = torch.tensor([[NEG, NEG, 0.0], [0.0, NEG, NEG]])
    q = torch.tensor([[0.0, 1.0, 0.0]])
    v = verify(torch.tensor([1]), p, None, 0.5, draft_probs=q, do_sample=True)
    assert (v.n_accepted, v.next_token) == (0, 2)


def test_sampling_judge_rescues_rejected_token():
    p = torch.tensor([[NEG, NEG, 0.0], [0.0, NEG, NEG]])
    q = torch.tensor([[0.0, 1.0, 0.0]])
    v = verify(torch.tensor([1]), p, torch.tensor([0.99]), 0.5, draft_probs=q, do_sample=True)
    assert (v.n_accepted, v.next_token, v.n_target, v.n_judge_only) == (1, 0, 0, 1)


def test_judge_never_keeps_a_token_the_logits_processors_ruled_out():
    """A -inf target logit is a processor's hard ban (outside top-k/top-p under sampling, a suppressed or
    banned token): no judge score keeps such a draft token, greedy or sampling; a merely unlikely one
    (finite logit) it may keep."""
    inf = float("-inf")
    p = torch.tensor([[inf, inf, 0.0], [0.0, inf, inf]])  # row 0: the target's top-1 filter left token 2 alone
    q = torch.tensor([[0.0, 1.0, 0.0]])
    sure = torch.tensor([0.99])
    v = verify(torch.tensor([1]), p, sure, 0.5, draft_probs=q, do_sample=True)
    assert (v.n_accepted, v.next_token) == (0, 2)
    v = verify(torch.tensor([1]), p, sure, 0.0)  # greedy, the most accepting threshold
    assert (v.n_accepted, v.next_token) == (0, 2)
    v = verify(torch.tensor([1]), torch.tensor([[NEG, NEG, 0.0], [0.0, NEG, NEG]]), sure, 0.5)
    assert (v.n_accepted, v.n_judge_only) == (1, 1)  # unlikely, not banned: the judge's to keep


def test_sampling_acceptance_probability_is_p_over_q():
    # p(d)=0.25, q(d)=0.5 -> kept with probability 0.5
    p = torch.tensor([[0.25, 0.75], [0.5, 0.5]]).log()
    q = torch.tensor([[0.5, 0.5]])
    g = torch.Generator().manual_seed(0)
    kept = sum(
        verify(torch.tensor([0]), p, None, 0.5, draft_probs=q, do_sample=True, generator=g).n_accepted
        for _ in range(4000)
    )
    assert 0.46 < kept / 4000 < 0.54


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"judge_threshold": 1.5}, "judge_threshold=1.5"),
        ({"judge_threshold": -0.1}, "judge_threshold=-0.1"),
        ({"judge_min_ratio": 1.5}, "judge_min_ratio=1.5"),
        ({"judge_scores": torch.tensor([0.5])}, "judge_scores must be"),
        ({"target_logits": torch.zeros(2, 5)}, "target_logits must be"),
        ({"do_sample": True}, "draft_probs"),
    ],
)
def test_bad_input_is_named(kwargs, match):
    args = {
        "draft_ids": torch.tensor([1, 2]),
        "target_logits": torch.zeros(3, 5),
        "judge_scores": None,
        "judge_threshold": 0.5,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        verify(**args)
