"""Judge training pipeline: data set, features, trainer, calibration, Hub export."""

import json
import math
import shutil
import subprocess
import sys

import pytest
import torch
from datasets import Dataset, concatenate_datasets

import hf_judge
from hf_judge import JudgeHeadConfig
from hf_judge.core.errors import InputError
from hf_judge.core.modeling_judge import logit_features
from hf_judge.training.card import export_head, push_head
from hf_judge.training.data import FEATURES, auto_label, load_dataset_dir, load_seed_pairs, pairs_dataset
from hf_judge.training.features import extract, extract_features
from hf_judge.training.trainer import (
    TrainConfig,
    calibrate,
    head_proba,
    metrics,
    roc_auc,
    roc_auc_interval,
    select_on_for,
    train_best,
    train_head,
)
from tests.conftest import HIDDEN, VOCAB, set_draft_len, tiny_for, tiny_model


def test_seed_pairs_label_tokens_up_to_the_first_error(tiny_tok):
    items = load_seed_pairs()
    assert len(items) >= 30
    ds = pairs_dataset(tiny_tok, items[:3])
    assert len(ds) == 6 and ds.features == FEATURES
    good, bad = ds[0], ds[1]
    assert set(good["labels"]) == {1} and len(good["labels"]) == len(good["positions"])
    assert bad["labels"][-1] == 0 and set(bad["labels"][:-1]) == {1}
    err = bad["positions"][-1]
    assert bad["input_ids"][:err] == good["input_ids"][:err]  # same prefix up to the error token
    assert bad["input_ids"][err] != good["input_ids"][err]


def test_pair_without_difference_is_an_error(tiny_tok):
    with pytest.raises(ValueError, match="no token that differs"):
        pairs_dataset(tiny_tok, [{"prompt": "q", "correct": "same", "wrong": "same"}])
    with pytest.raises(ValueError, match="lacks 'wrong'"):
        pairs_dataset(tiny_tok, [{"prompt": "q", "correct": "a"}])


def test_dataset_save_load_round_trip(tmp_path, tiny_tok):
    ds = pairs_dataset(tiny_tok, load_seed_pairs()[:2])
    ds.save_to_disk(tmp_path / "d")
    again = load_dataset_dir(tmp_path / "d")
    assert again.to_list() == ds.to_list()
    assert load_dataset_dir(tmp_path / "d", tiny_tok).to_list() == ds.to_list()  # its tokenizer record: the same
    assert len(load_dataset_dir([tmp_path / "d", tmp_path / "d"])) == 2 * len(ds)
    with pytest.raises(FileNotFoundError, match="no judge data set"):
        load_dataset_dir(tmp_path / "missing")


@pytest.mark.parametrize("layer", [-1, 1, 0])
def test_features_are_the_tensor_the_generate_path_feeds_the_judge(prompt, layer):
    """What the judge sees inside generate() equals extract at the same positions, for the hidden state
    the head reads (the last, post-norm; the first decoder layer's output; the embeddings)."""
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(seed=0)  # same weights: every draft token is accepted, so `out` holds all scored tokens
    k = 3
    set_draft_len(draft, k)
    seen = []

    class Recorder(hf_judge.JudgeHead):
        def predict_proba(self, hidden_states):
            seen.append(hidden_states.detach().clone())  # (k, H): the states at d_1..d_k
            return super().predict_proba(hidden_states)

    judge = Recorder(hf_judge.JudgeHeadConfig(hidden_size=HIDDEN, hidden_layer=layer, threshold=1.0))
    out = target.generate(prompt, max_new_tokens=12, do_sample=False, assistant_model=draft, judge=judge)
    assert len(seen) == 3  # 3 steps of k drafted + 1 bonus token
    n0 = prompt.shape[1]
    positions = [n0 + step * (k + 1) + i for step in range(3) for i in range(k)]
    ds = Dataset.from_list(
        [{"input_ids": out[0].tolist(), "positions": positions, "labels": [1] * len(positions), "source": "t"}],
        features=FEATURES,
    )
    X = extract(target, ds, progress=False, layer=layer).X
    assert torch.allclose(X, torch.cat(seen), atol=1e-5)
    with torch.no_grad():
        full = target(out, output_hidden_states=True).hidden_states[layer][0, positions]  # (P, H): uncached
    assert torch.allclose(X, full, atol=1e-4)
    if layer != -1:  # another layer is another tensor: the test would catch a loop that read the last one
        assert not torch.allclose(X, extract(target, ds, progress=False).X, atol=1e-3)


def test_rule_scores_are_what_the_scorers_see_inside_generate(prompt):
    """The free rules' scores at extraction equal the scorers' own scores inside generate() (the target's
    logits at the position that predicts each draft token)."""
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(seed=0)
    k = 3
    set_draft_len(draft, k)
    seen = []

    class Recorder(hf_judge.ProbabilityRatio):
        def score(self, hidden, target_logits, draft_ids):
            got = super().score(hidden, target_logits, draft_ids)
            seen.append(got.detach().clone())  # (k,)
            return got

    out = target.generate(prompt, max_new_tokens=12, do_sample=False, assistant_model=draft, judge=Recorder(1.0))
    n0 = prompt.shape[1]
    positions = [n0 + step * (k + 1) + i for step in range(3) for i in range(k)]
    ds = Dataset.from_list(
        [{"input_ids": out[0].tolist(), "positions": positions, "labels": [1] * len(positions), "source": "t"}],
        features=FEATURES,
    )
    f = extract(target, ds, progress=False)
    assert torch.allclose(f.rules["ratio"], torch.cat(seen), atol=1e-5)
    assert (f.rules["top-k"] == 1.0).all()  # same weights: every draft token is the target's own choice
    full = target(out).logits[0, torch.tensor(positions) - 1].float()  # (P, V)
    rank = (full > full.gather(-1, out[0, positions][:, None])).sum(-1) + 1
    assert torch.equal(f.rules["top-k"], 1.0 / rank)
    assert torch.allclose(f.F, logit_features(full, out[0, positions]), atol=1e-4)  # what a head reads


def test_roc_auc_and_metrics_on_hand_values():
    s = torch.tensor([0.9, 0.8, 0.3, 0.1])
    y = torch.tensor([1.0, 1.0, 0.0, 0.0])
    assert roc_auc(s, y) == 1.0
    assert roc_auc(torch.tensor([0.1, 0.9]), torch.tensor([1.0, 0.0])) == 0.0
    assert roc_auc(torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0])) == 0.5
    m = metrics(s, y, 0.5)
    assert (m["precision"], m["recall"], m["error_recall"], m["n_errors"]) == (1.0, 1.0, 1.0, 2)


def test_roc_auc_interval_covers_the_true_auc_nearly_95_percent_of_the_time_with_15_errors():
    # independent draws at a held-out set's size (200 acceptable, 15 errors) from two normal score
    # distributions whose true ROC-AUC is Phi(mu / sqrt 2) = 0.85
    gen = torch.Generator().manual_seed(0)
    mu = math.sqrt(2) * torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor(0.85)).item()
    y = torch.cat([torch.ones(200), torch.zeros(15)])
    draws = [torch.cat([torch.randn(200, generator=gen) + mu, torch.randn(15, generator=gen)]) for _ in range(1000)]
    aucs = torch.tensor([roc_auc(s, y) for s in draws])
    spans = [roc_auc_interval(s, y) for s in draws]
    assert all(lo < a < hi for a, (lo, hi) in zip(aucs.tolist(), spans, strict=True))
    # 92% with 15 errors (seeds 0-2); the plain Hanley-McNeil interval, +-1.96 SE on the AUC itself, covered 84%
    assert 0.90 <= sum(lo <= 0.85 <= hi for lo, hi in spans) / len(spans) <= 0.98
    half = torch.tensor([hi - lo for lo, hi in spans]).mean() / (2 * 1.96)
    assert half.item() == pytest.approx(aucs.std().item(), rel=0.25)  # as wide as chance makes it
    more = torch.cat([torch.ones(2000), torch.zeros(150)])
    lo, hi = roc_auc_interval(torch.cat([torch.randn(2000, generator=gen) + mu, torch.randn(150, generator=gen)]), more)
    assert hi - lo < 0.5 * half.item() * 2 * 1.96  # ten times the errors: a much narrower interval
    assert roc_auc_interval(torch.tensor([0.9, 0.8, 0.3, 0.1]), torch.tensor([1.0, 1, 0, 0])) == (1.0, 1.0)
    assert all(math.isnan(x) for x in roc_auc_interval(torch.tensor([0.9, 0.3]), torch.tensor([1.0, 0.0])))
    assert metrics(draws[0], y, 0.5)["roc_auc_95"] == list(spans[0])


def test_calibration_picks_lowest_threshold_meeting_error_recall():
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1.0])
    cal = calibrate(probs, y, error_recall=0.75)
    assert cal.threshold == pytest.approx(0.3)  # rejects 0.1, 0.2, 0.3 = 3/4 of errors
    assert cal.error_recall == 0.75 and cal.good_acceptance == 1.0
    assert calibrate(probs, y, error_recall=1.0).threshold == pytest.approx(0.4)
    assert len(cal.curve["thresholds"]) == len(cal.curve["error_recall"]) == 101
    with pytest.raises(ValueError, match="no"):
        calibrate(probs[4:], y[4:], 0.9)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"head_type": "cnn"}, "head_type='cnn'"),
        ({"val_fraction": 1.0}, "val_fraction=1.0"),
        ({"error_recall": 0.0}, "error_recall=0.0"),
        ({"epochs": 0}, "epochs=0"),
        ({"disagreement_weight": 0.0}, "disagreement_weight=0.0"),
        ({"disagreement_weight": float("nan")}, "disagreement_weight=nan"),
        # was torch's "Invalid weight_decay value" when the optimiser was made, a traceback in `hf-judge train`
        ({"weight_decay": -0.1}, "weight_decay=-0.1 must be at least 0"),
        ({"weight_decay": float("nan")}, "weight_decay=nan must be at least 0"),
    ],
)
def test_train_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_trainer_learns_a_separable_rule():
    torch.manual_seed(0)
    X = torch.randn(1500, 12) * 4 + 3
    y = ((X[:, 0] - 3) > 0).float()
    head, rep = train_head(X, y, config=TrainConfig(epochs=80, error_recall=0.95), progress=False)
    assert rep.val["roc_auc"] > 0.98
    assert rep.calibration.error_recall >= 0.95
    assert head.config.threshold == rep.calibration.threshold
    # standardisation is folded into the layer: the head reads raw features (the val AUC above is on raw X)


def test_a_head_with_logit_features_learns_what_the_hidden_states_lack():
    """Labels set by a logit feature alone, hidden states pure noise: the head that reads the features
    learns them (its own predict_proba, from raw inputs, agrees with the report); the plain head cannot."""
    torch.manual_seed(0)
    X, F = torch.randn(1200, 8), torch.randn(1200, 3) * 3 - 2  # (N, H), (N, 3)
    y = (F[:, 0] > -2).float()
    rows = torch.arange(1200) // 4
    split = torch.tensor([0, 0, 0, 1, 2])[rows % 5]
    cfg = TrainConfig(epochs=80, logit_features=True)
    head, rep = train_head(X, y, rows, cfg, split=split, features=F, progress=False)
    plain, plain_rep = train_head(X, y, rows, TrainConfig(epochs=80), split=split, progress=False)
    assert rep.test["roc_auc"] > 0.98 and plain_rep.test["roc_auc"] < 0.7
    assert head.config.logit_features and head.net[0].weight.shape == (1, 8 + 3)
    te = split == 2
    again = torch.sigmoid(head(X[te], F[te]))  # raw inputs: the standardisation is folded in
    assert roc_auc(again, y[te]) == pytest.approx(rep.test["roc_auc"], abs=1e-6)
    with pytest.raises(ValueError, match=r"needs features of shape \(1200, 3\), got None"):
        train_head(X, y, rows, cfg, split=split, progress=False)


def test_a_grid_of_learning_rates_and_weight_decays_keeps_the_best_on_validation():
    torch.manual_seed(0)
    X = torch.randn(900, 6)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).float()
    rows = torch.arange(900) // 3
    split = torch.tensor([0, 0, 0, 1, 2])[rows % 5]
    configs = [TrainConfig(epochs=1, lr=1e-6), TrainConfig(epochs=60, lr=1e-2, weight_decay=0.5)]
    head, rep, grid = train_best(X, y, rows, configs, split=split, progress=False)
    assert [(g["lr"], g["weight_decay"]) for g in grid] == [(1e-6, 1e-2), (1e-2, 0.5)]
    assert grid[1]["val_roc_auc"] > grid[0]["val_roc_auc"]  # the barely trained head is worse: the second is kept
    assert rep.config["lr"] == 1e-2 and rep.config["weight_decay"] == 0.5
    assert rep.val["roc_auc"] == grid[1]["val_roc_auc"] > 0.95
    with pytest.raises(ValueError, match="at least one TrainConfig"):
        train_best(X, y, rows, [], split=split)


def test_averaging_a_grid_gives_one_linear_head_whose_logit_is_the_mean_of_every_grid_heads():
    torch.manual_seed(0)
    X = torch.randn(900, 6)
    y = (X[:, 0] + 0.5 * X[:, 1] + 0.8 * torch.randn(900) > 0).float()
    rows = torch.arange(900) // 3
    split = torch.tensor([0, 0, 0, 1, 2])[rows % 5]
    configs = [TrainConfig(epochs=40, lr=1e-2), TrainConfig(epochs=40, lr=1e-3, weight_decay=1.0)]
    heads = [train_head(X, y, rows, c, split=split, progress=False)[0] for c in configs]  # each on its own
    head, rep, grid = train_best(X, y, rows, configs, combine="average", split=split, progress=False)
    with torch.no_grad():
        mean = torch.stack([h(X) for h in heads]).mean(0)  # (N,)
        assert torch.allclose(head(X), mean, atol=1e-5)
        assert not torch.allclose(heads[0](X), heads[1](X), atol=1e-2)  # two different heads were averaged
    assert rep.config["lr"] == [1e-2, 1e-3] and rep.config["weight_decay"] == [1e-2, 1.0]
    assert rep.epochs_run == sum(rep.config["epochs"]) and rep.best_epoch is None
    assert [g["lr"] for g in grid] == [1e-2, 1e-3]
    # calibrated on validation like any head: its threshold rejects the asked share of errors there
    assert head.config.threshold == rep.calibration.threshold and rep.val["error_recall"] >= 0.9
    assert rep.test["n"] == int((split == 2).sum()) and rep.test["roc_auc"] > 0.8
    best, _, _ = train_best(X, y, rows, configs, split=split, progress=False)
    assert not torch.allclose(head(X), best(X))  # "best" keeps one of them, as before
    with pytest.raises(ValueError, match="combine='average' averages linear heads' logits; the grid has head_type"):
        train_best(X, y, rows, [TrainConfig(head_type="mlp", epochs=2)] * 2, combine="average", split=split)
    with pytest.raises(ValueError, match="combine='vote' is not one of"):
        train_best(X, y, rows, configs, combine="vote", split=split)


def test_an_averaged_grid_with_logit_features_reads_them_as_each_grid_head_does():
    torch.manual_seed(1)
    X, F = torch.randn(600, 5), torch.randn(600, 3)
    y = (F[:, 0] + 0.3 * X[:, 0] + 0.5 * torch.randn(600) > 0).float()
    rows = torch.arange(600) // 3
    split = torch.tensor([0, 0, 0, 1, 2])[rows % 5]
    configs = [
        TrainConfig(epochs=30, lr=1e-2, logit_features=True),
        TrainConfig(epochs=30, lr=3e-3, logit_features=True),
    ]
    kw = {"split": split, "features": F, "progress": False}
    heads = [train_head(X, y, rows, c, **kw)[0] for c in configs]
    head, rep, _ = train_best(X, y, rows, configs, combine="average", **kw)
    with torch.no_grad():
        assert torch.allclose(head(X, F), torch.stack([h(X, F) for h in heads]).mean(0), atol=1e-5)
    assert rep.test["roc_auc"] == pytest.approx(roc_auc(head_proba(head, X, F)[split == 2], y[split == 2]), abs=1e-6)


def _conflicting_disagreements():
    """Positions where feature 0 tells the label at agreements but misleads at the (few) disagreements, and
    feature 1 tells it there: what a head learns from all positions is wrong where a judge decides."""
    torch.manual_seed(0)
    n = 3300
    dis = torch.zeros(n, dtype=torch.bool)
    dis[torch.randperm(n)[:300]] = True
    y = (torch.rand(n) > 0.3).float()
    sign = 2 * y - 1
    X = torch.randn(n, 4)
    X[~dis, 0] += 1.5 * sign[~dis]
    X[dis, 0] -= 1.0 * sign[dis]
    X[dis, 1] += 1.5 * sign[dis]
    rows = torch.arange(n) // 3
    split = torch.tensor([0, 0, 0, 1, 2])[rows % 5]
    return X, y, rows, split, dis


def test_weighting_the_disagreements_teaches_what_decides_there_and_selecting_on_them_keeps_that_head():
    X, y, rows, split, dis = _conflicting_disagreements()
    configs = [TrainConfig(epochs=60, lr=1e-2), TrainConfig(epochs=60, lr=1e-2, disagreement_weight=30.0)]
    kw = {"split": split, "disagreement": dis, "progress": False}
    _, rep, grid = train_best(X, y, rows, configs, **kw)  # by every validation position
    _, rep_dis, grid_dis = train_best(X, y, rows, configs, select_on="disagreements", **kw)
    assert grid == grid_dis and [g["disagreement_weight"] for g in grid] == [1.0, 30.0]
    plain, weighted = grid
    assert plain["val_roc_auc"] > weighted["val_roc_auc"]  # all positions: the unweighted head is better ...
    assert weighted["val_disagreements_roc_auc"] > 0.9 > 0.5 > plain["val_disagreements_roc_auc"]  # ... not here
    assert rep.config["disagreement_weight"] == 1.0 and rep_dis.config["disagreement_weight"] == 30.0
    assert rep_dis.val_disagreements["roc_auc"] == weighted["val_disagreements_roc_auc"]
    assert rep_dis.test_disagreements["roc_auc"] > 0.9 > 0.5 > rep.test_disagreements["roc_auc"]  # held out too
    with pytest.raises(ValueError, match="disagreement_weight=30.0 needs the disagreements"):
        train_head(X, y, rows, configs[1], split=split, progress=False)
    with pytest.raises(ValueError, match="select_on='disagreements' needs the disagreements"):
        train_best(X, y, rows, configs, select_on="disagreements", split=split, progress=False)
    with pytest.raises(ValueError, match="select_on='tokens' is not one of"):
        train_best(X, y, rows, configs, select_on="tokens", **kw)


def test_auto_selects_on_the_validation_disagreements_where_they_hold_both_labels_and_on_every_position_else():
    X, y, rows, split, dis = _conflicting_disagreements()
    assert select_on_for("auto", y, split, dis) == "disagreements"
    assert select_on_for("auto", y, split, None) == "positions"  # no disagreements marked (pairs data)
    assert select_on_for("auto", y, split, torch.zeros_like(dis)) == "positions"
    one_label = dis & ((split != 1) | (y == 1))  # validation disagreements, all acceptable: no ROC-AUC there
    assert select_on_for("auto", y, split, one_label) == "positions"
    assert select_on_for("positions", y, split, dis) == "positions"  # an explicit choice is kept
    assert select_on_for("disagreements", y, split, dis) == "disagreements"
    with pytest.raises(ValueError, match="select_on='tokens' is not one of"):
        select_on_for("tokens", y, split, dis)
    # what auto picks on the data where the two criteria disagree: the head that ranks the disagreements
    configs = [TrainConfig(epochs=60, lr=1e-2), TrainConfig(epochs=60, lr=1e-2, disagreement_weight=30.0)]
    kw = {"split": split, "disagreement": dis, "progress": False}
    _, rep, _ = train_best(X, y, rows, configs, select_on=select_on_for("auto", y, split, dis), **kw)
    assert rep.config["disagreement_weight"] == 30.0


def test_a_disagreement_weight_of_one_trains_the_head_an_unweighted_loss_trains():
    X, y, rows, split, dis = _conflicting_disagreements()
    cfg = TrainConfig(epochs=20, lr=1e-2)
    with_mask, rep = train_head(X, y, rows, cfg, split=split, disagreement=dis, progress=False)
    without, rep0 = train_head(X, y, rows, cfg, split=split, progress=False)
    assert torch.equal(with_mask.net[0].weight, without.net[0].weight) and rep.history == rep0.history


@pytest.mark.parametrize("head_type", ["linear", "mlp"])
def test_folding_the_standardisation_into_the_first_layer(head_type):
    """head(raw x) after folding equals head((x - mu) / sd) before it."""
    from hf_judge.core.modeling_judge import JudgeHead
    from hf_judge.training.trainer import _fold_standardisation

    torch.manual_seed(0)
    head = JudgeHead(JudgeHeadConfig(hidden_size=6, head_type=head_type, mlp_hidden_size=4))
    with torch.no_grad():
        for p in head.parameters():
            p.normal_()
    X = torch.randn(20, 6) * 5 + 2
    mu, sd = X.mean(0), X.std(0)
    before = head((X - mu) / sd)
    _fold_standardisation(head, mu, sd)
    assert torch.allclose(head(X), before, atol=1e-5)
    assert not torch.allclose(head((X - mu) / sd), before, atol=1e-3)  # the head now reads raw features


def test_auto_label_with_tiny_models(tiny_tok):
    """Runs the automatic labeller end to end; a checker that accepts every answer labels every mismatch 1."""
    target, draft = tiny_for(tiny_tok, layers=1, seed=0), tiny_for(tiny_tok, layers=1, seed=1)
    set_draft_len(draft, 3)
    items = [{"question": "1+1?", "answer": "2"}, {"question": "2+2?", "answer": "4"}]
    ds = auto_label(
        target,
        draft,
        tiny_tok,
        items,
        checker=lambda text, ans: True,
        max_new_tokens=6,
        max_mismatches=2,
        progress=False,
    )
    mism = [r for r in ds if r["source"] == "auto:mismatch"]
    assert mism and all(r["labels"] == [1] and len(r["positions"]) == 1 for r in mism)
    assert all(r["positions"][0] == len(r["input_ids"]) - 1 for r in mism)
    none = auto_label(target, draft, tiny_tok, items, checker=lambda text, ans: False, max_new_tokens=6, progress=False)
    assert len(none) == 0  # every reference answer judged wrong: all items skipped


def test_hard_share_picks_the_disagreements_the_target_likes_least(tiny_tok):
    """With hard_share=0.5 half the disagreements of an item are those where the target gives the draft's token
    the least probability (source auto:mismatch:hard), the rest spread evenly over the others."""
    from hf_judge.training.data import MATH_INSTRUCTION, prompt_ids

    target, draft = tiny_for(tiny_tok, layers=1, seed=0), tiny_for(tiny_tok, layers=1, seed=1)
    items = [{"question": "1+1?", "answer": "2"}, {"question": "2+2?", "answer": "4"}]
    kw = dict(checker=lambda text, ans: True, max_new_tokens=24, max_mismatches=4, progress=False)
    ds = auto_label(target, draft, tiny_tok, items, hard_share=0.5, **kw)
    for item in items:
        p = prompt_ids(tiny_tok, f"{item['question']} {MATH_INSTRUCTION}")
        with torch.no_grad():
            seq = target.generate(torch.tensor([p]), max_new_tokens=24, do_sample=False)  # (1, T): p + ref
            d_pred = draft(input_ids=seq).logits[0, :-1].argmax(-1)  # (T-1,) the draft's choice of token t+1
            lp = target(input_ids=seq).logits[0, :-1].float().log_softmax(-1)  # (T-1, V)
        mism = [t for t in range(len(p), seq.shape[1]) if d_pred[t - 1] != seq[0, t]]
        assert len(mism) > 4  # the case where picking matters
        rows = [r for r in ds if r["source"].startswith("auto:mismatch") and r["input_ids"][: len(p)] == p]
        assert sorted(r["positions"][0] for r in rows) == [t for t in mism if t in {r["positions"][0] for r in rows}]
        assert all(r["input_ids"][-1] == int(d_pred[r["positions"][0] - 1]) for r in rows)  # the draft's token
        hard = sorted(r["positions"][0] for r in rows if r["source"] == "auto:mismatch:hard")
        assert len(rows) == 4 and hard == sorted(sorted(mism, key=lambda t: float(lp[t - 1, d_pred[t - 1]]))[:2])
    plain = auto_label(target, draft, tiny_tok, items, **kw)
    assert {r["source"] for r in plain} <= {"auto:mismatch", "auto:target"}
    with pytest.raises(ValueError, match="hard_share=1.5"):
        auto_label(target, draft, tiny_tok, items, hard_share=1.5, **kw)


@pytest.mark.slow
def test_train_end_to_end_export_and_remote_load(tmp_path, smol, smol_tok):
    """Pairs data -> features -> train -> calibrate -> Hub folder with card -> AutoModel with remote code."""
    ds = pairs_dataset(smol_tok, load_seed_pairs()[:16])
    X, y, rows = extract_features(smol, ds, progress=False)
    assert X.shape == (len(y), 576) and (y == 0).sum() == 16  # one error per wrong response
    head, rep = train_head(
        X,
        y,
        rows,
        TrainConfig(epochs=40, patience=10),
        target_model="smollm2-135m-instruct",
        draft_model="smollm2-135m-instruct",
        progress=False,
    )
    out = export_head(
        head,
        tmp_path / "head",
        rep.as_dict(),
        repo_id="me/judge-smol",
        dataset="seed pairs",
        eval_results={"judge": {"tokens_per_s": 10.0, "exact_match": 0.5}},
    )
    files = {p.name for p in out.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "configuration_judge.py",
        "modeling_judge.py",
        "README.md",
        "training_report.json",
        "eval_results.json",
    } <= files
    card = (out / "README.md").read_text()
    assert "base_model:" in card and "smollm2-135m-instruct" in card and "me/judge-smol" in card
    assert f"{head.config.threshold:.3f}" in card and "| judge | 10.000 | 0.500 |" in card
    assert "{{" not in card
    code = (
        "import sys, torch\nfrom transformers import AutoModel\n"
        f"m = AutoModel.from_pretrained({str(out)!r}, trust_remote_code=True)\n"
        "assert 'hf_judge' not in sys.modules\nprint(m.config.threshold)\n"
    )
    env = {"HF_HUB_OFFLINE": "1", "PATH": "", "HF_HOME": str(tmp_path / "hf")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert float(r.stdout) == pytest.approx(head.config.threshold)


def test_push_goes_through_the_hub_api(tmp_path):
    """push_head against a local stand-in for the Hub: it receives the exported folder."""
    head = hf_judge.JudgeHead(hf_judge.JudgeHeadConfig(hidden_size=8))
    out = export_head(head, tmp_path / "head", repo_id="me/h")

    class LocalHub:
        def __init__(self, root):
            self.root = root

        def create_repo(self, repo_id, private=False, exist_ok=False):
            (self.root / repo_id).mkdir(parents=True, exist_ok=exist_ok)

        def upload_folder(self, repo_id, folder_path, commit_message):
            shutil.copytree(folder_path, self.root / repo_id, dirs_exist_ok=True)
            return "local://" + repo_id

    hub = LocalHub(tmp_path / "hub")
    assert push_head(out, "me/h", api=hub) == "local://me/h"
    pushed = hf_judge.JudgeHead.from_pretrained(tmp_path / "hub" / "me" / "h")
    assert json.loads((tmp_path / "hub/me/h/config.json").read_text())["auto_map"]
    assert all(torch.equal(a, b) for a, b in zip(head.state_dict().values(), pushed.state_dict().values(), strict=True))
    with pytest.raises(FileNotFoundError, match="not an exported head"):
        push_head(tmp_path, "me/x", api=hub)


@pytest.mark.bad_input
def test_interrupted_auto_label_resumes_without_duplicates(tmp_path, tiny_tok, monkeypatch):
    """An interrupted `build-data --source auto` run | resumes from its checkpoint: same rows, no item labelled twice"""
    from hf_judge.training import data
    from hf_judge.training.records import read_records

    target, draft = tiny_for(tiny_tok, layers=1, seed=0), tiny_for(tiny_tok, layers=1, seed=1)
    set_draft_len(draft, 3)
    items = [{"question": f"{i}+1?", "answer": str(i + 1)} for i in range(4)]
    kw = {"checker": lambda text, ans: True, "max_new_tokens": 6, "progress": False}
    want = auto_label(target, draft, tiny_tok, items, **kw)

    ckpt = tmp_path / "out.progress.jsonl"
    real, calls = data._plan_item, []

    def interrupted(*args, **kwargs):
        calls.append(args[3])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "_plan_item", interrupted)
    with pytest.raises(KeyboardInterrupt):
        auto_label(target, draft, tiny_tok, items, checkpoint=ckpt, **kw)
    assert [r["item"] for r in read_records(ckpt)[1:]] == [0, 1]
    calls.clear()
    got = auto_label(target, draft, tiny_tok, items, checkpoint=ckpt, **kw)
    assert calls == items[2:]  # only the two unfinished items are labelled again
    assert got.to_list() == want.to_list()
    assert [r["item"] for r in read_records(ckpt)[1:]] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="written for other items or settings"):
        auto_label(target, draft, tiny_tok, items[:3], checkpoint=ckpt, **kw)


def test_consecutive_items_share_a_batch_of_continuations(tiny_tok, monkeypatch):
    """auto_label continues the substitutions of consecutive items together, in batches of up to
    ``batch_size`` rows (a CPU step costs little more for more rows), and labels every row as one item per
    batch does."""
    from hf_judge.training import data

    target, draft = tiny_for(tiny_tok, layers=1, seed=0), tiny_for(tiny_tok, layers=1, seed=1)
    set_draft_len(draft, 3)
    items = [{"question": f"{i}+1?", "answer": str(i + 1)} for i in range(5)]
    kw = {
        "checker": lambda text, ans: (len(text) + int(ans)) % 3 != 0,  # some answers wrong, some rows errors
        "max_new_tokens": 12,
        "max_mismatches": 4,
        "progress": False,
    }
    real, batches = data._continue_batch, []

    def counted(target, tokenizer, prefixes, *args, **kwargs):
        batches.append(len(prefixes))
        return real(target, tokenizer, prefixes, *args, **kwargs)

    monkeypatch.setattr(data, "_continue_batch", counted)
    alone = auto_label(target, draft, tiny_tok, items, batch_size=4, **kw)
    one_each = list(batches)
    batches.clear()
    shared = auto_label(target, draft, tiny_tok, items, batch_size=8, **kw)
    assert len(one_each) >= 3 and max(one_each) <= 4  # one item's substitutions per batch
    assert len(batches) < len(one_each) and max(batches) > 4 and sum(batches) == sum(one_each)
    assert shared.to_list() == alone.to_list()
    assert {lab for row in alone.to_list() for lab in row["labels"]} == {0, 1}


def test_a_checkpoint_is_not_resumed_with_the_models_in_another_dtype(tmp_path, tiny_tok):
    """Labels depend on the models' dtype (greedy answers differ between bfloat16 and float32): a checkpoint
    made in one is not silently continued in the other, as `auto` dtype on another machine would do."""
    target, draft = tiny_for(tiny_tok, layers=1, seed=0), tiny_for(tiny_tok, layers=1, seed=1)
    set_draft_len(draft, 3)
    items = [{"question": f"{i}+1?", "answer": str(i + 1)} for i in range(2)]
    kw = {"checker": lambda text, ans: True, "max_new_tokens": 6, "progress": False}
    ckpt = tmp_path / "out.progress.jsonl"
    auto_label(target, draft, tiny_tok, items, checkpoint=ckpt, **kw)
    assert len(auto_label(target, draft, tiny_tok, items, checkpoint=ckpt, **kw)) > 0  # same models: resumes
    with pytest.raises(ValueError, match="written for other items or settings"):
        auto_label(target.to(torch.bfloat16), draft.to(torch.bfloat16), tiny_tok, items, checkpoint=ckpt, **kw)


def test_read_records_drops_only_a_cut_final_line(tmp_path):
    from hf_judge.training.records import read_records

    path = tmp_path / "r.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": ')
    assert read_records(path) == [{"a": 1}, {"a": 2}]
    assert path.read_text() == '{"a": 1}\n{"a": 2}\n'  # trimmed: the next append starts a fresh line
    path.write_text('{"a": 1}\n{"a"\n{"a": 3}\n')
    with pytest.raises(ValueError, match="line 2 is damaged"):
        read_records(path)


def test_batched_continuations_equal_one_at_a_time(tiny_tok):
    """The labeller's left-padded batch gives each prefix the target's own greedy continuation."""
    from hf_judge.training.data import _continue_batch, _greedy

    target = tiny_for(tiny_tok, layers=2, seed=3)
    prefixes = [tiny_tok("a b c")["input_ids"], tiny_tok("one two three four five six")["input_ids"], [5]]
    budgets = [7, 4, 9]
    got = _continue_batch(target, tiny_tok, prefixes, budgets)
    want = [_greedy(target, None, p, b, eos=None) for p, b in zip(prefixes, budgets, strict=True)]
    assert got == want and [len(x) for x in got] == budgets


@pytest.mark.parametrize("case", ["substitutions into one answer", "several answers, repeated"])
def test_rows_that_share_a_beginning_prefill_it_once(tiny_tok, case):
    """The labeller's batch (rows that differ from one answer only in their last token) and the recheck's (a
    few prefixes, each repeated, and a prefix of one of them): each longest prefix, less its last token, runs
    once; the batch then feeds one token per row from the first step, and every row still gets the target's
    own greedy continuation."""
    from hf_judge.training.data import _continue_batch, _greedy

    target = tiny_for(tiny_tok, layers=2, seed=3)
    a, b = tiny_tok("one two three four five six seven")["input_ids"], tiny_tok("x y z")["input_ids"]
    if case == "substitutions into one answer":
        prefixes, budgets = [a[:i] + [7 + i] for i in (2, 5, 3)], [6, 4, 8]
        once = [(1, 5)]  # the answer up to the longest row's substitution
    else:
        prefixes, budgets = [a, b, a, b, a[:3], [9]], [5, 7, 5, 7, 6, 4]
        once = [(1, len(a) - 1), (1, len(b) - 1)]
    shapes = []
    hook = target.register_forward_pre_hook(
        lambda module, args, kwargs: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    got = _continue_batch(target, tiny_tok, prefixes, budgets)
    hook.remove()
    want = [_greedy(target, None, p, n, eos=None) for p, n in zip(prefixes, budgets, strict=True)]
    assert got == want and [len(x) for x in got] == budgets
    assert shapes[: len(once)] == once and shapes[len(once)] == (len(prefixes), 1)  # then one token per row
    assert {t for _, t in shapes[len(once) :]} == {1}


@pytest.mark.parametrize("drop_settled", [True, False])
def test_a_done_row_leaves_the_batch(tiny_tok, drop_settled):
    """A greedy row whose continuation is done (here: its budget used) leaves the labeller's batch: each later
    step runs only the rows still writing, and every row still gets the target's own greedy continuation;
    ``drop_settled=False`` (transformers' generate) steps all three rows until the last is done."""
    from hf_judge.training.data import _continue_batch, _greedy

    target = tiny_for(tiny_tok, layers=2, seed=3)
    prefixes, budgets = [tiny_tok("a b c")["input_ids"], tiny_tok("one two three")["input_ids"], [5, 6]], [2, 5, 3]
    shapes = []
    hook = target.register_forward_pre_hook(
        lambda module, args, kwargs: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    got = _continue_batch(target, tiny_tok, prefixes, budgets, share_prefix=False, drop_settled=drop_settled)
    hook.remove()
    want = [_greedy(target, None, p, n, eos=None) for p, n in zip(prefixes, budgets, strict=True)]
    assert got == want
    # after the prefill, the rows fed at each step: the 5 tokens of the longest row take 5 steps (generate's
    # prefill of the whole prefixes yields the first token)
    rows = [3, 3, 2, 1, 1] if drop_settled else [3] * 4
    assert shapes[1:] == [(b, 1) for b in rows]


def test_a_generation_config_that_changes_greedy_choices_is_kept(tiny_tok):
    """A target whose generation config penalises repetition continues as ``generate`` would, penalty included:
    the labeller's own loop (the argmax of the logits) runs only where that is greedy."""
    from hf_judge.training.data import _continue_batch, _greedy

    target = tiny_for(tiny_tok, layers=2, seed=3)
    prefixes, budgets = [tiny_tok("a b c")["input_ids"], [5, 6]], [12, 9]
    plain = _continue_batch(target, tiny_tok, prefixes, budgets)
    target.generation_config.repetition_penalty = 5.0
    got = _continue_batch(target, tiny_tok, prefixes, budgets)
    assert got == [_greedy(target, None, p, n, eos=None) for p, n in zip(prefixes, budgets, strict=True)]
    assert got != plain  # the penalty changed the choices


def test_a_decided_answer_stops_its_continuation(tiny_tok):
    """Once ``decided`` holds for a row, that row stops (the label cannot change); the others go on."""
    from hf_judge.training.data import _continue_batch, _greedy

    target = tiny_for(tiny_tok, layers=2, seed=3)
    prefixes = [tiny_tok("a b c")["input_ids"], tiny_tok("x y")["input_ids"]]
    full = [_greedy(target, None, p, 8, eos=None) for p in prefixes]
    first = tiny_tok.decode(full[0][:3])  # row 0 is decided after its third token
    got = _continue_batch(target, tiny_tok, prefixes, [8, 8], decided=lambda text: text == first)
    assert got == [full[0][:3], full[1]]


def test_a_sampled_continuation_is_seeded_and_near_zero_temperature_is_greedy(tiny_tok):
    """With ``temperature`` the labeller's batch samples (the same seed: the same tokens) from the full
    distribution; near 0 it is the greedy continuation, and at 1.0 it is not (a random tiny model is flat)."""
    from hf_judge.training.data import _continue_batch

    target = tiny_for(tiny_tok, layers=2, seed=3)
    prefixes = [tiny_tok("a b c")["input_ids"], tiny_tok("x y")["input_ids"]]
    greedy = _continue_batch(target, tiny_tok, prefixes, [12, 12])
    torch.manual_seed(0)
    assert _continue_batch(target, tiny_tok, prefixes, [12, 12], temperature=1e-4) == greedy
    torch.manual_seed(0)
    hot = _continue_batch(target, tiny_tok, prefixes, [12, 12], temperature=1.0)
    torch.manual_seed(0)
    assert _continue_batch(target, tiny_tok, prefixes, [12, 12], temperature=1.0) == hot != greedy


def test_votes_to_label_keeps_an_error_unless_most_of_the_answers_are_right():
    from hf_judge.training.recheck import votes_to_label

    # 1 + 4 votes, the greedy one wrong: 3 sampled right answers are the majority, 2 are not
    assert [votes_to_label(k, 4) for k in range(5)] == [0, 0, 0, 1, 1]
    assert [votes_to_label(k, 1) for k in range(2)] == [0, 0]  # 1 right of 2 is no majority
    with pytest.raises(InputError, match="right=5"):
        votes_to_label(5, 4)


def _recheck_rows(tok, items, instruction):
    """Auto-labelled rows by hand: per item two errors, an acceptable disagreement and the target's own tokens."""
    from hf_judge.training.data import _to_dataset, prompt_ids

    rows = []
    for it in items:
        p = prompt_ids(tok, f"{it['question']} {instruction}".strip())
        a = tok("Tom has 12", add_special_tokens=False)["input_ids"]
        rows += [
            {"input_ids": p + a[:1], "positions": [len(p)], "labels": [0], "source": "auto:mismatch"},
            {"input_ids": p + a[:2], "positions": [len(p) + 1], "labels": [0], "source": "auto:mismatch:hard"},
            {"input_ids": p + a[:3], "positions": [len(p) + 2], "labels": [1], "source": "auto:mismatch"},
            {"input_ids": p + a, "positions": [len(p), len(p) + 1], "labels": [1, 0], "source": "auto:target"},
            {"input_ids": p + [tok.eos_token_id], "positions": [len(p)], "labels": [0], "source": "auto:mismatch"},
        ]
    return _to_dataset(rows, tok)


def test_recheck_relabels_an_error_by_the_majority_of_its_sampled_answers(tiny_tok):
    """Each error row gets `samples` sampled answers; it becomes acceptable iff more than half of the
    1 + samples answers are right. Acceptable rows, the target's own tokens and a substituted end of text
    (no answer follows it) are left as they are, and the report counts what changed."""
    from hf_judge.training.recheck import recheck_errors, votes_to_label

    target = tiny_for(tiny_tok, layers=1, seed=0)
    items = [{"question": f"{i}+1?", "answer": str(i + 1)} for i in range(3)]
    ds = _recheck_rows(tiny_tok, items, "Reply.")
    calls = []

    def checker(text, answer):  # the j-th error row (in order) gets j % 5 of its 4 answers right
        calls.append(answer)
        row, k = divmod(len(calls) - 1, 4)
        return k < row % 5

    got, report = recheck_errors(
        target, tiny_tok, ds, items, checker=checker, instruction="Reply.", max_new_tokens=8, samples=4,
        batch_size=8, progress=False,
    )  # fmt: skip
    errors = [r for r, ex in enumerate(ds) if ex["source"].startswith("auto:mismatch") and ex["labels"] == [0]
              and ex["input_ids"][-1] != tiny_tok.eos_token_id]  # fmt: skip
    assert len(errors) == 6 and len(calls) == 24
    assert calls == [items[r // 5]["answer"] for r in errors for _ in range(4)]  # each row checked on its item's answer
    want = {r: [votes_to_label(j % 5, 4)] for j, r in enumerate(errors)}
    assert [ex["labels"] for ex in got] == [want.get(r, ex["labels"]) for r, ex in enumerate(ds)]
    assert want[errors[3]] == [1] and want[errors[2]] == [0]  # the case the test is about: both outcomes occur
    assert got["input_ids"] == ds["input_ids"] and got["source"] == ds["source"]
    kept = sum(v == [0] for v in want.values())
    assert report["rechecked"] == 6 and report["kept"] == kept
    assert report["right_answers"] == {"0": 2, "1": 1, "2": 1, "3": 1, "4": 1}  # j % 5 for j = 0..5
    assert report["errors_after"] == kept + 3 + 3  # the kept, the target rows' own 0s and the eos rows
    with pytest.raises(InputError, match="row 0 begins with none of the items' prompts"):
        recheck_errors(target, tiny_tok, ds, items, checker=checker, instruction="Other.", progress=False)
    with pytest.raises(InputError, match="samples=0"):
        recheck_errors(target, tiny_tok, ds, items, samples=0, progress=False)


@pytest.mark.bad_input
def test_an_interrupted_recheck_resumes_to_the_labels_of_an_uninterrupted_one(tmp_path, tiny_tok, monkeypatch):
    """`hf-judge recheck` interrupted | resumes from its checkpoint to the labels of an uninterrupted run

    Only the unfinished chunks are sampled again (each chunk's sampling is seeded by its place)."""
    from hf_judge.training import recheck

    target = tiny_for(tiny_tok, layers=1, seed=0)
    items = [{"question": f"{i}+1?", "answer": str(i + 1)} for i in range(3)]
    ds = _recheck_rows(tiny_tok, items, "")
    kw = dict(checker=lambda text, answer: len(text) % 2 == 0, max_new_tokens=10, samples=2, batch_size=4)
    want, _ = recheck.recheck_errors(target, tiny_tok, ds, items, progress=False, **kw)
    ckpt, real, calls = tmp_path / "r.progress.jsonl", recheck._right_answers, []

    def interrupted(*args, **kwargs):
        calls.append(args[3])
        if len(calls) == 2:  # the second chunk of the first run
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(recheck, "_right_answers", interrupted)
    with pytest.raises(KeyboardInterrupt):
        recheck.recheck_errors(target, tiny_tok, ds, items, checkpoint=ckpt, progress=False, **kw)
    got, _ = recheck.recheck_errors(target, tiny_tok, ds, items, checkpoint=ckpt, progress=False, **kw)
    assert len(calls) == 4 and calls[2] == calls[1]  # 3 chunks of 2 rows: the finished first one is not rerun
    assert got.to_list() == want.to_list()
    rechecked = [tuple(want[5 * i + j]["labels"]) for i in range(3) for j in (0, 1)]  # the two errors of each item
    assert set(rechecked) == {(0,), (1,)}  # both outcomes occur: the resumed labels are not trivially equal
    with pytest.raises(ValueError, match="written for other items or settings"):
        recheck.recheck_errors(target, tiny_tok, ds, items, checkpoint=ckpt, progress=False, **{**kw, "samples": 1})


def test_word_problem_splits_are_disjoint_and_checked():
    from hf_judge.training.checkable import question_split, word_problems

    train = word_problems(300, seed=0, split="train")
    test = word_problems(100, seed=0, split="test")
    assert {x["question"] for x in train}.isdisjoint(x["question"] for x in test)
    assert all(question_split(x["question"]) == "test" for x in test)
    assert len({x["question"] for x in train}) == 300 and all(int(x["answer"]) >= 0 for x in train + test)
    assert word_problems(5, seed=4, split="test") == word_problems(5, seed=4, split="test")
    with pytest.raises(ValueError, match="split='dev'"):
        word_problems(1, split="dev")


def _rows_of_questions(n_questions: int, rows_each: int = 3, seed: int = 0) -> Dataset:
    """Auto-labeller-shaped rows: each question's prompt, then prefixes of its answer up to each labelled token."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for q in range(n_questions):
        prompt = [1, 2, 3, 100 + q, 7]  # the template, the question, the generation marker
        answer = torch.randint(10, 99, (12,), generator=g).tolist()
        for r in range(rows_each):
            cut = 2 + 3 * r
            rows.append(
                {
                    "input_ids": prompt + answer[:cut] + [9],
                    "positions": [len(prompt) + cut],
                    "labels": [r % 2],
                    "source": "auto:mismatch",
                }
            )
        rows.append({"input_ids": prompt + answer, "positions": [6, 9], "labels": [1, 1], "source": "auto:target"})
    return Dataset.from_dict({k: [r[k] for r in rows] for k in FEATURES}, features=FEATURES)


def test_split_by_question_keeps_every_question_in_one_split_and_is_stable():
    from hf_judge.training.split import question_groups, split_by_question

    ds = _rows_of_questions(60)
    groups = question_groups(ds)
    assert len(set(groups)) == 60 and all(len({groups[4 * q + i] for i in range(4)}) == 1 for q in range(60))
    split = split_by_question(ds)
    assert all(len({split[4 * q + i] for i in range(4)}) == 1 for q in range(60))
    assert {"train", "val", "test"} == set(split)
    more = _rows_of_questions(90)  # more questions: the first 60 keep their splits
    assert split_by_question(more)[: len(split)] == split
    with pytest.raises(ValueError, match="val=0.5 and test=0.6"):
        split_by_question(ds, val=0.5, test=0.6)


def test_a_split_by_question_reports_test_and_its_disagreements_apart():
    torch.manual_seed(0)
    X = torch.randn(900, 6)
    y = (X[:, 0] > 0).float()
    rows = torch.arange(900) // 3
    split = torch.tensor([0, 0, 0, 1, 2])[rows % 5]  # (N,): every row's positions in one split
    disagreement = rows % 2 == 0
    head, rep = train_head(X, y, rows, TrainConfig(epochs=80), split=split, disagreement=disagreement, progress=False)
    assert rep.test["n"] == int((split == 2).sum()) and rep.val["n"] == int((split == 1).sum())
    assert rep.test_disagreements["n"] == int(((split == 2) & disagreement).sum())
    assert rep.test["roc_auc"] > 0.95
    assert rep.free_rules is None
    rules = {"sign": X[:, 0], "flipped": -X[:, 0], "other": X[:, 1]}
    _, rep = train_head(
        X, y, rows, TrainConfig(epochs=2), split=split, disagreement=disagreement, rules=rules, progress=False
    )
    te, d = split == 2, (split == 2) & disagreement
    assert rep.free_rules["sign"] == {"test": 1.0, "test_disagreements": 1.0}
    assert rep.free_rules["flipped"] == {"test": 0.0, "test_disagreements": 0.0}
    assert rep.free_rules["other"] == {"test": roc_auc(X[te, 1], y[te]), "test_disagreements": roc_auc(X[d, 1], y[d])}
    domains = {"easy": rows % 3 == 0, "hard": rows % 3 != 0}  # (N,) bool each
    flip = domains["hard"] & (rows % 7 == 0)
    _, rep = train_head(
        X, y, rows, TrainConfig(epochs=2), split=split, rules={"sign": torch.where(flip, -X[:, 0], X[:, 0])},
        domains=domains, progress=False,
    )  # fmt: skip
    for name, m in domains.items():
        got, where = rep.test_by_domain[name], te & m
        assert got["n"] == int(where.sum()) and got["n_errors"] == int((y[where] == 0).sum())
        assert got["free_rules"]["sign"] == roc_auc(torch.where(flip, -X[:, 0], X[:, 0])[where], y[where])
    assert rep.test_by_domain["easy"]["free_rules"]["sign"] == 1.0 > rep.test_by_domain["hard"]["free_rules"]["sign"]
    with pytest.raises(ValueError, match="rule 'short': \\(3,\\) scores for \\(900,\\) positions"):
        train_head(X, y, rows, TrainConfig(epochs=2), split=split, rules={"short": X[:3, 0]}, progress=False)
    with pytest.raises(ValueError, match="to validate on, got"):
        train_head(X, y, rows, TrainConfig(epochs=2), split=torch.zeros(900, dtype=torch.long), progress=False)


def test_learning_curve_trains_on_nested_shares_of_the_training_questions():
    from hf_judge.training.trainer import learning_curve

    torch.manual_seed(0)
    X = torch.randn(1200, 6)
    y = (X[:, 0] + 0.5 * torch.randn(1200) > 0).float()
    rows = torch.arange(1200) // 4
    groups = rows // 2
    split = (groups % 5 == 3).long() + 2 * (groups % 5 == 4).long()  # (N,) val, test by question
    everywhere = torch.ones(1200, dtype=torch.bool)
    pts = learning_curve(X, y, rows, split, groups, everywhere, TrainConfig(epochs=20), rules={"x0": X[:, 0]})
    assert all(
        p["free_rules"]
        == {
            "x0": {"test": roc_auc(X[split == 2, 0], y[split == 2])}
            | {"test_disagreements": roc_auc(X[split == 2, 0], y[split == 2])}
        }
        for p in pts
    )
    n_train_q = len(groups[split == 0].unique())
    assert [p["train_questions"] for p in pts] == [math.ceil(f * n_train_q) for f in (0.125, 0.25, 0.5, 1.0)]
    assert pts[-1]["train_positions"] == int((split == 0).sum())
    assert all(0.5 < p["test_roc_auc"] <= 1 for p in pts)


def test_learning_curve_plot_of_data_without_disagreements_uses_positions(tmp_path):
    """Hand-written pairs have no draft/target disagreements: the log axis would have nothing to show."""
    import warnings

    from hf_judge.bench.plots import plot_learning_curve

    pts = [
        {"train_disagreements": 0, "train_positions": n, "test_roc_auc": 0.7, "test_disagreements_roc_auc": math.nan}
        for n in (10, 20)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plot_learning_curve(pts, tmp_path / "c.png").exists()


def test_features_are_cached_per_row_so_a_new_shard_runs_the_target_on_its_rows_only(tmp_path, tiny_tok):
    target = tiny_for(tiny_tok, layers=1)
    pairs = load_seed_pairs()
    ds = pairs_dataset(tiny_tok, pairs[:2])
    X, y, rows = extract_features(target, ds, progress=False, cache=tmp_path)
    calls = []
    target.register_forward_pre_hook(lambda *_: calls.append(1))
    X2, y2, rows2 = extract_features(target, ds, progress=False, cache=tmp_path)
    assert not calls and torch.equal(X, X2) and torch.equal(y, y2) and torch.equal(rows, rows2)
    more = pairs_dataset(tiny_tok, pairs[2:3])
    X3, _, _ = extract_features(target, concatenate_datasets([ds, more]), progress=False, cache=tmp_path)
    assert len(calls) == len(more)  # the new shard's rows only
    assert torch.equal(X3[: len(X)], X)
    relabelled = ds.map(lambda ex: {"labels": [1 - v for v in ex["labels"]]})
    _, y4, _ = extract_features(target, relabelled, progress=False, cache=tmp_path)
    assert len(calls) == len(more) and torch.equal(y4, 1 - y)  # labels come from the data, not the cache
    other = tiny_for(tiny_tok, layers=1, seed=1)
    other.name_or_path = "another-target"
    extract_features(other, ds, progress=False, cache=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2  # another target's features are kept apart
    n = len(calls)
    first = extract(target, ds, progress=False, cache=tmp_path, layer=0).X  # another hidden state: runs again
    assert len(calls) == n + len(ds) and not torch.allclose(first, X)
    assert torch.equal(extract(target, ds, progress=False, cache=tmp_path, layer=0).X, first)
    assert len(calls) == n + len(ds) and len(list(tmp_path.iterdir())) == 3  # and is kept apart
    with pytest.raises(InputError, match=r"hidden_layer=2 is not a hidden state of the target: it has 1 layers"):
        extract(target, ds, progress=False, layer=2)


def _prefix_rows():
    """An answer with labelled positions spread over it, and substitution rows sharing its prefix (each a
    different token at p, then a continuation nobody labels), as auto-labelling writes them."""
    g = torch.Generator().manual_seed(3)
    answer = torch.randint(1, VOCAB, (40,), generator=g).tolist()
    rows = [{"input_ids": answer, "positions": [5, 12, 20, 30], "labels": [1, 1, 1, 1], "source": "auto:target"}]
    for p in (8, 14, 25):
        tail = torch.randint(1, VOCAB, (15,), generator=g).tolist()
        rows.append({"input_ids": answer[:p] + [(answer[p] + 1) % VOCAB] + tail, "positions": [p], "labels": [0],
                     "source": "auto:mismatch"})  # fmt: skip
    return Dataset.from_list(rows, features=FEATURES)


def test_rows_sharing_a_prefix_run_the_target_on_the_rest_only():
    """Features need no token after a row's last labelled position (a causal model), and a row that shares
    a prefix with the row before runs the target on what follows the prefix only; the features equal
    one whole uncached forward per row."""
    target = tiny_model(seed=0)
    ds = _prefix_rows()
    fed = []
    hook = target.register_forward_pre_hook(lambda m, a, kw: fed.append(kw["input_ids"].shape[1]), with_kwargs=True)
    f = extract(target, ds, progress=False)
    hook.remove()
    assert sum(fed) <= 31 + 3 * 3  # the answer up to its last position, then at most a few tokens a row
    for i, ex in enumerate(ds):
        ids = torch.tensor([ex["input_ids"]])
        out = target(input_ids=ids, output_hidden_states=True)
        pos = torch.tensor(ex["positions"])
        assert torch.allclose(f.X[f.rows == i], out.hidden_states[-1][0, pos], atol=1e-5)
        logits = out.logits[0, pos - 1]  # (P, V)
        ratio = hf_judge.ProbabilityRatio().score(None, logits, ids[0, pos])  # (P,)
        assert torch.allclose(f.rules["ratio"][f.rows == i], ratio, atol=1e-5)


def test_a_repeated_row_runs_the_target_once():
    target = tiny_model(seed=0)
    ds = concatenate_datasets([_prefix_rows(), _prefix_rows()])
    calls = []
    hook = target.register_forward_pre_hook(lambda *_: calls.append(1))
    f = extract(target, ds, progress=False)
    hook.remove()
    assert len(calls) == len(ds) // 2
    assert torch.equal(f.X[f.rows < 4], f.X[f.rows >= 4]) and torch.equal(
        f.rows, torch.arange(8).repeat_interleave(torch.tensor([len(r["positions"]) for r in ds]))
    )


def test_interrupted_extraction_keeps_the_rows_it_finished(tmp_path, monkeypatch):
    import hf_judge.training.features as features

    target = tiny_model(seed=0)
    ds = _prefix_rows()
    monkeypatch.setattr(features, "SAVE_EVERY", 2)
    calls = []

    def stop_at_third(*_):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt

    hook = target.register_forward_pre_hook(stop_at_third)
    with pytest.raises(KeyboardInterrupt):
        extract(target, ds, progress=False, cache=tmp_path)
    calls.clear()
    extract(target, ds, progress=False, cache=tmp_path)
    hook.remove()
    assert len(calls) == len(ds) - 2  # the two rows finished before the interruption are read back


def test_the_card_shows_every_split_the_report_has():
    from hf_judge.training.card import make_card

    head = hf_judge.JudgeHead(JudgeHeadConfig(hidden_size=8))
    m = {"precision": 0.9, "recall": 0.8, "error_recall": 0.95, "roc_auc": 0.91, "n": 120, "n_errors": 30}
    card = str(make_card(head, {"train": m, "val": m}))
    assert "| validation | 120 | 30 | 0.900 |" in card and "held-out" not in card
    card = str(make_card(head, {"train": m, "val": m, "test": m, "test_disagreements": {**m, "roc_auc": 0.7}}))
    assert "| test (held-out questions) | 120 |" in card
    assert "| test, draft/target disagreements only | 120 | 30 | 0.900 | 0.800 | 0.950 | 0.700 |" in card
    assert "Training-free rules" not in card
    card = str(make_card(head, {"train": m, "val": m, "test": m, "free_rules": {"ratio": {"test": 0.61}}}))
    assert "| ratio | 0.610 | n/a |" in card and "By domain" not in card
    by_domain = {"math-steps": {**m, "free_rules": {"ratio": 0.55}}, "pairs": {**m, "roc_auc": 0.66}}
    card = str(make_card(head, {"train": m, "val": m, "test": m, "test_by_domain": by_domain}))
    assert "| math-steps | 120 | 30 | 0.910 | 0.550 |" in card and "| pairs | 120 | 30 | 0.660 | n/a |" in card
    assert "on the last (post-norm) hidden state of" in card and "tried" not in card
    assert "95% interval" not in card  # reports made before intervals: the plain figure
    dis = {**m, "roc_auc": 0.7, "roc_auc_95": [0.61, 0.78]}
    card = str(make_card(head, {"train": m, "val": m, "test": m, "test_disagreements": dis}))
    assert "| ROC-AUC (95% interval, DeLong) |" in card
    assert "| test, draft/target disagreements only | 120 | 30 | 0.900 | 0.800 | 0.950 | 0.700 (0.61–0.78) |" in card
    one = {**m, "n_errors": 1, "roc_auc": 1.0, "roc_auc_95": [float("nan"), float("nan")]}
    card = str(make_card(head, {"train": m, "val": m, "test": m, "test_disagreements": one}))
    assert "| test, draft/target disagreements only | 120 | 1 | 0.900 | 0.800 | 0.950 | 1.000 |" in card


def test_the_card_names_the_logit_features_and_the_grid_the_head_was_picked_from():
    from hf_judge.training.card import make_card

    head = hf_judge.JudgeHead(JudgeHeadConfig(hidden_size=8, logit_features=True))
    m = {"precision": 0.9, "recall": 0.8, "error_recall": 0.95, "roc_auc": 0.91, "n": 120, "n_errors": 30}
    grid = [
        {"lr": 0.01, "weight_decay": 0.01, "val_roc_auc": 0.8, "best_epoch": 2},
        {"lr": 0.001, "weight_decay": 10.0, "val_roc_auc": 0.87, "best_epoch": 110},
    ]
    card = str(make_card(head, {"train": m, "val": m, "config": {"lr": 0.001, "weight_decay": 10.0}, "grid": grid}))
    assert "hidden state and three features of the logits (log probability ratio" in card
    assert "learning rate 0.001, weight decay 10.000 (the best validation ROC-AUC of 2 tried" in card
    assert "0.01/0.01: 0.800, 0.001/10: 0.870" in card and "disagreement" not in card
    extra = [
        {"disagreement_weight": 1, "val_disagreements_roc_auc": 0.7},
        {"disagreement_weight": 5, "val_disagreements_roc_auc": 0.8},
    ]
    grid = [{**g, **e} for g, e in zip(grid, extra, strict=True)]
    cfg = {"lr": 0.001, "weight_decay": 10.0, "disagreement_weight": 5.0}
    rep = {"train": m, "val": m, "config": cfg, "grid": grid, "select_on": "disagreements"}
    card = str(make_card(head, rep))
    assert "weight decay 10.000, disagreement weight 5.000 (the best validation ROC-AUC on the draft/target " in card
    assert "learning rate/weight decay/disagreement weight: AUC: 0.01/0.01/1: 0.700, 0.001/10/5: 0.800)" in card


def test_the_card_states_the_heads_plausibility_floor_only_when_it_has_one():
    from hf_judge.training.card import make_card

    head = hf_judge.JudgeHead(JudgeHeadConfig(hidden_size=8, threshold=0.6))
    assert "plausibility floor" not in str(make_card(head, {}))
    head.config.min_ratio = 0.1
    card = str(make_card(head, {}))
    assert "threshold (**0.600**). The judge itself keeps no draft token the target finds implausible" in card
    assert "p(d) / max p is at most **0.1** (the head's plausibility floor; `judge_min_ratio=` overrides it" in card


def _bench_result(command: str, tokens_per_step: float) -> dict:
    """The least of a ``run_bench`` result a card table is made from."""
    row = {"tokens_per_s": 5.0, "tokens_per_step": tokens_per_step, "speedup_vs_target": 2.0, "speedup_vs_sd": 1.5}
    per = {"sd": {"tokens_per_step": tokens_per_step, "quality:exact_match": 0.5}}
    return {"command": command, "overall": {"sd": row}, "tasks": {"math": per}}


def test_a_card_keeps_the_eval_tables_of_earlier_calls(tmp_path):
    """`hf-judge bench --update-card` once per task: the second run's table used to replace the first."""
    from hf_judge.training.card import add_eval_results

    head_dir = export_head(hf_judge.JudgeHead(JudgeHeadConfig(hidden_size=4)), tmp_path / "head", repo_id="me/j")
    add_eval_results(head_dir, _bench_result("hf-judge bench --tasks math-steps", 7.25))
    card = add_eval_results(head_dir, _bench_result("hf-judge bench --tasks humaneval", 9.75)).read_text()
    assert "| sd | 5.000 | 7.250 |" in card and "| sd | 5.000 | 9.750 |" in card
    assert card.index("--tasks math-steps`") < card.index("--tasks humaneval`")
    # a run of the same command (say, resumed with more prompts) takes its earlier table's place
    card = add_eval_results(head_dir, _bench_result("hf-judge bench --tasks math-steps", 8.5)).read_text()
    assert "7.250" not in card and card.index("| sd | 5.000 | 8.500 |") < card.index("| sd | 5.000 | 9.750 |")
    card = add_eval_results(head_dir, _bench_result("hf-judge bench --tasks x", 1.5), replace=True).read_text()
    assert "| sd | 5.000 | 1.500 |" in card and "8.500" not in card and "9.750" not in card
    saved = json.loads((head_dir / "eval_results.json").read_text())["evals"]
    assert [e["command"] for e in saved] == ["hf-judge bench --tasks x"]


def test_exporting_a_head_over_another_leaves_none_of_its_evaluations(tmp_path):
    """A new head exported into a former head's folder: the former's eval tables and calibration were left
    beside it (and a later add_eval_results or a push would carry them as the new head's)."""
    from hf_judge.training.card import add_eval_results

    head = hf_judge.JudgeHead(JudgeHeadConfig(hidden_size=4))
    head_dir = export_head(head, tmp_path / "head", repo_id="me/j")
    add_eval_results(head_dir, _bench_result("hf-judge bench --tasks math-steps", 7.25))
    (head_dir / "calibration.json").write_text(json.dumps({"error_recall": 1.0, "recall": 0.5}))
    export_head(head, head_dir, repo_id="me/j")
    assert not (head_dir / "eval_results.json").exists() and not (head_dir / "calibration.json").exists()
    card = add_eval_results(head_dir, _bench_result("hf-judge bench --tasks humaneval", 9.75)).read_text()
    assert "7.250" not in card and "| sd | 5.000 | 9.750 |" in card and "set after training" not in card


def test_a_recalibrated_head_has_a_card_that_states_its_new_threshold(tmp_path):
    """`hf-judge calibrate` moved the threshold in config.json and left the card stating the old one; with
    --out the new folder had no card at all (and push_head refused it)."""
    from hf_judge.training.card import add_eval_results, save_calibrated

    head = hf_judge.JudgeHead(JudgeHeadConfig(hidden_size=4, threshold=0.5))
    report = {"calibration": {"threshold": 0.5, "error_recall": 0.9, "good_acceptance": 0.75}}
    src = export_head(head, tmp_path / "head", report, repo_id="me/j")
    add_eval_results(src, _bench_result("hf-judge bench --tasks math-steps", 7.25))
    assert (
        "Calibration: threshold 0.500 rejects 0.900 of the validation errors and accepts 0.750"
        in (src / "README.md").read_text()
    )
    head.config.threshold = 0.8
    cal = {"error_recall": 1.0, "recall": 0.625, "data": ["data/x"], "command": "hf-judge calibrate --head h"}
    for out in (tmp_path / "elsewhere", src):  # a new folder first: the source's card stays as it was
        save_calibrated(head, src, out, cal)
        card = (out / "README.md").read_text()
        assert "above the threshold (**0.800**)" in card and "threshold 0.500" not in card
        assert (
            "Calibration: threshold 0.800, set after training by `hf-judge calibrate --head h`, rejects 1.000 of "
            "the errors in data/x and accepts 0.625 of the acceptable tokens there (the evaluation below ran at the "
            "thresholds its rows name)" in card
        )
        assert "| sd | 5.000 | 7.250 |" in card and "me/j" in card  # the eval tables and repo id kept
        assert hf_judge.JudgeHead.from_pretrained(out).config.threshold == 0.8
        assert "(**0.500**)" in (src / "README.md").read_text() or out == src
    moved = {p.name for p in (tmp_path / "elsewhere").iterdir()}  # what push_head uploads, and what it needs
    assert {"README.md", "card_info.json", "training_report.json", "eval_results.json", "calibration.json"} <= moved


def test_preservation_is_the_drop_in_the_targets_likelihood_of_its_own_next_tokens(tiny_tok):
    from hf_judge.training.data import preservation

    target = tiny_for(tiny_tok, layers=1, seed=0)
    prompt, ref = [5, 6, 7], [20, 21, 22, 23, 24, 25, 26]

    def mean_logp(seq, start, n):  # log p of seq[start .. start+n-1], one unbatched forward
        lp = target(input_ids=torch.tensor([seq])).logits[0].log_softmax(-1)
        return sum(lp[t - 1, seq[t]].item() for t in range(start, start + n)) / n

    got = preservation(target, prompt, ref, {1: 21, 2: 99, 4: 30, 6: 40}, window=3)
    assert got[1] == pytest.approx(0.0, abs=1e-5)  # the target's own token: nothing changes
    i = 2
    by_hand = mean_logp(prompt + ref, 3 + i + 1, 3) - mean_logp(prompt + ref[:i] + [99] + ref[i + 1 :], 3 + i + 1, 3)
    assert got[2] == pytest.approx(by_hand, abs=1e-4)  # on the cache = one whole forward
    assert (
        got[4]
        == pytest.approx(  # the window is cut at the answer's end
            mean_logp(prompt + ref, 3 + 5, 2) - mean_logp(prompt + ref[:4] + [30] + ref[5:], 3 + 5, 2), abs=1e-4
        )
    )
    assert 6 not in got  # the last token: nothing after it to measure


def test_open_ended_items_are_labelled_by_preservation_and_never_skipped(tmp_path, tiny_tok):
    from hf_judge.training.checkable import is_correct_number
    from hf_judge.training.data import _fingerprint, _models_key

    target, draft = tiny_for(tiny_tok, layers=1, seed=0), tiny_for(tiny_tok, layers=1, seed=1)
    items = [{"question": "Tell me about apples."}, {"question": "Write about books."}]
    kw = dict(checker=None, instruction="", max_new_tokens=8, max_mismatches=3, progress=False)
    keep = auto_label(target, draft, tiny_tok, items, tolerance=1e9, **kw)  # any drop tolerated
    drop = auto_label(target, draft, tiny_tok, items, tolerance=0.0, window=4, **kw)
    mism = [r for r in keep if r["source"] == "auto:mismatch"]
    assert mism and all(r["labels"] == [1] for r in mism if r["input_ids"][-1] != tiny_tok.eos_token_id)
    assert sum(x for r in drop for x in r["labels"]) < sum(x for r in keep for x in r["labels"])
    with pytest.raises(ValueError, match="tolerance=-1"):
        auto_label(target, draft, tiny_tok, items, tolerance=-1, **kw)
    # a checked item's fingerprint: its settings (none of the open-ended ones) and the models with their dtype
    settings = dict(
        checker=is_correct_number,
        max_new_tokens=8,
        max_mismatches=3,
        max_positives=8,
        instruction="",
        use_draft=True,
        batch_size=8,
        decided=None,
        models=_models_key(target, draft),
    )
    auto_label(
        target,
        draft,
        tiny_tok,
        [{"question": "q", "answer": "a"}],
        checker=is_correct_number,
        instruction="",
        max_new_tokens=8,
        max_mismatches=3,
        progress=False,
        checkpoint=tmp_path / "c.jsonl",
    )
    first = json.loads((tmp_path / "c.jsonl").read_text().splitlines()[0])
    assert first["fingerprint"] == _fingerprint([{"question": "q", "answer": "a"}], settings)


def test_open_ended_prompts_are_project_written_split_and_distinct():
    from hf_judge.training.open_prompts import open_prompts

    train, test = open_prompts(300), open_prompts(60, split="test")
    assert len({x["question"] for x in train}) == 300
    assert {x["question"] for x in train}.isdisjoint(x["question"] for x in test)
    with pytest.raises(ValueError, match="distinct train open-ended prompts"):
        open_prompts(5000)


@pytest.mark.slow  # MT-Bench's questions come from a packaged wheel
def test_open_ended_pairs_mark_a_real_first_error_and_stay_clear_of_mt_bench(tiny_tok):
    """The project-written open-ended pairs (data/judge/pairs/*.jsonl) build into rows whose last label is the
    error, span several domains, ask no question twice, and none of their prompts is close to an MT-Bench
    question."""
    import difflib
    from pathlib import Path

    from hf_judge.bench.tasks import load_task

    files = sorted((Path(__file__).parents[1] / "data/judge/pairs").glob("*.jsonl"))
    pairs = [p for f in files for p in load_seed_pairs(f)]
    assert len(files) >= 2 and len(pairs) >= 300 and len({p["domain"] for p in pairs}) >= 8
    assert len({p["prompt"].lower() for p in pairs}) == len(pairs)
    ds = pairs_dataset(tiny_tok, pairs)
    assert all(r["labels"][-1] == 0 for r in ds if r["source"] == "pairs:wrong")
    bench = [e["prompt"].lower() for e in load_task("mt-bench", 80)]  # the questions the bench asks
    closest = max(difflib.SequenceMatcher(None, p["prompt"].lower(), q).ratio() for p in pairs for q in bench)
    assert closest < 0.75


def test_held_out_reports_the_hard_picks_beside_the_disagreements():
    """``held_out`` with ``hard`` (the evenly spread disagreements and the hard picks together, from
    ``disagreements(..., hard=True)``) reports the head and every free rule on those positions too."""
    from hf_judge.training.split import disagreements
    from hf_judge.training.trainer import held_out

    ds = Dataset.from_dict({"source": ["auto:answer", "auto:mismatch", "auto:mismatch:hard", "pairs"]})
    rows = torch.tensor([0, 0, 1, 1, 2, 2, 2, 3])  # (N,) each position's row
    even, every = disagreements(ds, rows), disagreements(ds, rows, hard=True)
    assert even.tolist() == [False, False, True, True, False, False, False, False]
    assert every.tolist() == [False, False, True, True, True, True, True, False]
    y = torch.tensor([1.0, 1, 1, 0, 1, 0, 0, 1])
    probs = torch.tensor([0.9, 0.8, 0.7, 0.2, 0.1, 0.3, 0.4, 0.6])  # ranks the hard picks wrongly
    rules = {"ratio": torch.tensor([0.5, 0.5, 0.9, 0.1, 0.8, 0.2, 0.3, 0.5])}
    rep = held_out(probs, y, 0.5, even, rules, hard=every)
    assert rep["test_disagreements"]["roc_auc"] == 1.0 and rep["test_disagreements"]["n"] == 2
    hard = rep["test_disagreements_and_hard"]
    assert hard["n"] == 5 and hard["n_errors"] == 3
    assert hard["roc_auc"] == pytest.approx(roc_auc(probs[every], y[every])) and hard["roc_auc"] < 1
    assert rep["free_rules"]["ratio"]["test_disagreements_and_hard"] == 1.0
    assert "test_disagreements_and_hard" not in held_out(probs, y, 0.5, even, rules)  # only where asked


def test_head_proba_on_extracted_features_is_what_the_head_scores_in_decoding():
    """The probabilities test-head, calibrate and the benchmark scripts read from extracted features equal the
    head's predict_proba from the target's logits, for a head with and without logit features."""
    torch.manual_seed(0)
    X, logits, draft = torch.randn(6, HIDDEN), torch.randn(6, VOCAB), torch.randint(0, VOCAB, (6,))
    for reads in (True, False):
        head = hf_judge.JudgeHead(JudgeHeadConfig(hidden_size=HIDDEN, logit_features=reads))
        want = head.predict_proba(X, logits, draft) if reads else head.predict_proba(X)
        assert torch.allclose(head_proba(head, X, logit_features(logits, draft)), want)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"max_new_tokens": 0}, "max_new_tokens=0"),
        ({"max_mismatches": -1}, "max_mismatches=-1"),
        ({"max_positives": -2}, "max_positives=-2"),
    ],
)
def test_auto_label_names_a_count_out_of_range(change, named, tiny_tok):
    target, draft = tiny_for(tiny_tok, layers=1, seed=0), tiny_for(tiny_tok, layers=1, seed=1)
    items = [{"question": "1+1?", "answer": "2"}]
    with pytest.raises(InputError, match=named):
        auto_label(target, draft, tiny_tok, items, checker=lambda text, ans: True, progress=False, **change)


def test_no_items_to_label_is_named():
    from hf_judge.training.data import auto_items

    with pytest.raises(InputError, match="n_items=0"):
        auto_items("math-steps", 0, seed=1)
