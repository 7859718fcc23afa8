"""benchmarks/rating_probe.py: logistic probes cross-validated by prompt."""

import pytest
import torch

from tests.conftest import benchmark_script


@pytest.fixture(scope="module")
def probe():
    return benchmark_script("rating_probe")


def _data(n_groups=12, per=8, dims=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n_groups * per, dims, generator=gen)  # (N, D)
    y = (X[:, 0] + 0.3 * torch.randn(len(X), generator=gen) > 0).float()  # (N,) carried by the first input
    groups = torch.arange(n_groups).repeat_interleave(per)  # (N,)
    return X, y, groups


def test_a_probe_finds_a_signal_that_is_there(probe):
    from hf_judge.training.trainer import roc_auc

    X, y, groups = _data()
    scores, lambdas = probe.cross_validated(X, y, groups, folds=4)
    assert roc_auc(scores, y) > 0.9
    assert len(lambdas) == 4 and set(lambdas) <= set(probe.LAMBDAS)


def test_a_prompts_out_of_fold_scores_do_not_depend_on_its_own_labels(probe):
    """No leak: the scores of a prompt's substitutions come from probes that never saw its labels, so turning
    its labels over changes none of them (and changes the other folds', which train on it)."""
    X, y, groups = _data()
    before, _ = probe.cross_validated(X, y, groups, folds=4)
    flipped = y.clone()
    flipped[groups == 3] = 1 - flipped[groups == 3]
    after, _ = probe.cross_validated(X, flipped, groups, folds=4)
    assert torch.equal(before[groups == 3], after[groups == 3])
    assert not torch.equal(before, after)


def test_folds_keep_each_prompt_whole(probe):
    groups = torch.tensor([5, 5, 7, 7, 7, 9, 2, 2])
    fold = probe._folds(groups, 3, seed=0)
    for g in groups.unique():
        assert len(fold[groups == g].unique()) == 1
    assert len(fold.unique()) == 3
