"""Properties of the accept rule over random inputs, and statistical exactness of speculative sampling.

The exactness tests use a chi-square test at a false-alarm rate of 1e-3 per test (seeded, so a
given platform gives the same verdict every run).
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import hf_judge
from hf_judge.core.verify import verify
from tests.conftest import set_draft_len, tiny_model
from tests.test_decoding import judge_with_bias

ALPHA = 1e-3  # false-alarm rate of each chi-square test


@st.composite
def steps(draw):
    """A random verification step: K draft tokens, (K+1, V) logits, judge scores, a threshold, a seed."""
    k, v = draw(st.integers(0, 6)), draw(st.integers(2, 12))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(k + 1, v, generator=g) * draw(st.sampled_from([0.5, 3.0, 10.0]))
    q = torch.softmax(torch.randn(k, v, generator=g) * 2, -1)
    # a draft that often agrees with the target's argmax, as real drafts do
    agree = torch.rand(k, generator=g) < 0.6
    draft_ids = torch.where(agree, logits[:k].argmax(-1), torch.randint(0, v, (k,), generator=g))
    scores = torch.rand(k, generator=g)
    threshold = draw(st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0]))
    stop = torch.tensor([draw(st.integers(0, v - 1))])
    return draft_ids, logits, q, scores, threshold, stop, seed


def _run(draft_ids, logits, q, scores, threshold, do_sample, seed, stop=None):
    g = torch.Generator().manual_seed(seed)
    return verify(
        draft_ids, logits, scores, threshold, draft_probs=q, do_sample=do_sample, generator=g, no_judge_ids=stop
    )


@settings(max_examples=300, deadline=None)
@given(steps(), st.booleans())
def test_counts_add_up(step, do_sample):
    draft_ids, logits, q, scores, threshold, stop, seed = step
    v = _run(draft_ids, logits, q, scores, threshold, do_sample, seed, stop)
    assert 0 <= v.n_accepted <= len(draft_ids)
    assert v.n_target + v.n_judge_only == v.n_accepted
    assert v.n_target >= 0 and v.n_judge_only >= 0
    assert 0 <= v.next_token < logits.shape[1]


@settings(max_examples=300, deadline=None)
@given(steps(), st.booleans())
def test_threshold_one_is_standard_verification(step, do_sample):
    draft_ids, logits, q, _, _, _, seed = step
    ones = torch.ones(len(draft_ids))  # the judge's strongest possible yes
    assert _run(draft_ids, logits, q, ones, 1.0, do_sample, seed) == _run(
        draft_ids, logits, q, None, 0.5, do_sample, seed
    )


@settings(max_examples=300, deadline=None)
@given(steps(), st.booleans())
def test_a_judge_scoring_one_keeps_all(step, do_sample):
    draft_ids, logits, q, _, threshold, _, seed = step
    if threshold == 1.0:
        threshold = 0.99
    v = _run(draft_ids, logits, q, torch.ones(len(draft_ids)), threshold, do_sample, seed)
    assert v.n_accepted == len(draft_ids)


@settings(max_examples=300, deadline=None)
@given(steps())
def test_stop_tokens_are_never_kept_by_the_judge_alone(step):
    draft_ids, logits, q, scores, threshold, stop, seed = step
    v = _run(draft_ids, logits, q, scores, threshold, False, seed, stop)
    greedy = logits[:-1].argmax(-1)
    for i in range(v.n_accepted):
        if int(draft_ids[i]) == int(stop):
            assert int(greedy[i]) == int(stop)  # kept only because the target itself chose it
    # sampling: a stop token the target gives zero probability is never kept
    masked = logits.clone()
    masked[:, stop] = float("-inf")
    v = _run(draft_ids, masked, q, torch.ones(len(draft_ids)), 0.0, True, seed, stop)
    assert not (draft_ids[: v.n_accepted] == stop).any()


def _chi2_pvalue(counts: torch.Tensor, probs: torch.Tensor) -> float:
    """Pearson chi-square goodness of fit; cells expected below 5 are pooled into one."""
    n = counts.sum()
    expected = probs * n
    small = expected < 5
    obs = torch.cat([counts[~small], counts[small].sum().reshape(1)])
    exp = torch.cat([expected[~small], expected[small].sum().reshape(1)])
    keep = exp > 0
    obs, exp = obs[keep], exp[keep]
    chi2 = ((obs - exp) ** 2 / exp).sum()
    df = len(obs) - 1
    return float(torch.special.gammaincc(torch.tensor(df / 2.0), chi2 / 2))


@pytest.mark.parametrize("k", [1, 3])
def test_accept_rule_samples_the_target_distribution(k):
    """Draft from q, verify against p (judge off): the first emitted token follows p[0] exactly."""
    g = torch.Generator().manual_seed(k)
    v = 5
    p = torch.softmax(torch.randn(k + 1, v, generator=g) * 1.5, -1)
    q = torch.softmax(torch.randn(k, v, generator=g) * 1.5, -1)
    counts = torch.zeros(v)
    bonus, n_bonus = torch.zeros(v), 0
    for _ in range(10000):
        d = torch.stack([torch.multinomial(q[i], 1, generator=g)[0] for i in range(k)])
        out = verify(d, p.log(), None, draft_probs=q, do_sample=True, generator=g)
        first = int(d[0]) if out.n_accepted > 0 else out.next_token
        counts[first] += 1
        if out.n_accepted == k:
            bonus[out.next_token] += 1
            n_bonus += 1
    assert _chi2_pvalue(counts, p[0]) > ALPHA
    assert n_bonus > 300 and _chi2_pvalue(bonus, p[k]) > ALPHA


def _exact_pair_distribution(target, prompt, gen_kwargs, vocab):
    """P(x1, x2) of plain sampling from ``target`` with ``gen_kwargs``: (V*V,)."""

    def next_probs(ids):
        out = target.generate(
            ids, max_new_tokens=1, do_sample=True, output_scores=True, return_dict_in_generate=True, **gen_kwargs
        )
        return out.scores[0][0].softmax(-1)  # (V,)

    p1 = next_probs(prompt)
    rows = [next_probs(torch.cat([prompt, torch.tensor([[x]])], 1)) for x in range(vocab)]
    return (p1[:, None] * torch.stack(rows)).reshape(-1)  # (V*V,)


@pytest.mark.slow
@pytest.mark.parametrize(
    "gen_kwargs, judge",
    [
        ({"temperature": 0.7, "top_k": 0}, "never"),  # judge off: it scores 0
        ({"temperature": 1.0, "top_k": 3}, "threshold-1"),  # judge scores 1.0 at threshold 1.0
        ({"temperature": 1.3, "top_k": 0, "top_p": 0.8}, "never"),
    ],
    ids=["temperature", "top-k", "top-p"],
)
def test_judge_decoding_samples_the_targets_distribution(gen_kwargs, judge):
    """With the judge off, the first two generated tokens of judge decoding follow plain sampling.

    Two new tokens with k=2: the first step drafts one token (accept or residual resample, then
    the bonus token), or draws the second token in a draft-less step; every path is exercised.
    """
    vocab = 6
    target = hf_judge.enable(tiny_model(vocab=vocab, hidden=16, layers=1, seed=0))
    draft = tiny_model(vocab=vocab, hidden=16, layers=1, seed=3)
    set_draft_len(draft, 2)
    head = judge_with_bias(-20.0, 0.5, hidden=16) if judge == "never" else judge_with_bias(20.0, 1.0, hidden=16)
    prompt = torch.tensor([[1, 2, 3]])
    want = _exact_pair_distribution(target, prompt, gen_kwargs, vocab)
    counts = torch.zeros(vocab * vocab)
    torch.manual_seed(0)
    n_judge = 0
    for _ in range(1500):
        out = target.generate(
            prompt,
            max_new_tokens=2,
            do_sample=True,
            assistant_model=draft,
            judge=head,
            return_dict_in_generate=True,
            **gen_kwargs,
        )
        x1, x2 = out.sequences[0, 3:].tolist()
        counts[x1 * vocab + x2] += 1
        n_judge += out.acceptance.accepted_judge_only
    assert n_judge == 0
    assert _chi2_pvalue(counts, want) > ALPHA
