"""JudgeHead: config validation and Hub-format round trips."""

import json
import subprocess
import sys

import pytest
import torch
from transformers import AutoConfig, AutoModel

from hf_judge import JudgeHead, JudgeHeadConfig


@pytest.mark.parametrize("head_type,logit_features", [("linear", False), ("mlp", False), ("linear", True)])
def test_save_and_reload_round_trip(tmp_path, head_type, logit_features):
    torch.manual_seed(0)
    head = JudgeHead(
        JudgeHeadConfig(
            hidden_size=16,
            head_type=head_type,
            logit_features=logit_features,
            mlp_hidden_size=8,
            threshold=0.7,
            min_ratio=0.1,
            target_model="t",
            draft_model="d",
            hidden_layer=5,
        )
    )
    head.save_pretrained(tmp_path)
    files = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "model.safetensors", "configuration_judge.py", "modeling_judge.py"} <= files
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["auto_map"] == {
        "AutoConfig": "configuration_judge.JudgeHeadConfig",
        "AutoModel": "modeling_judge.JudgeHead",
    }
    assert cfg["threshold"] == 0.7 and cfg["target_model"] == "t" and cfg["draft_model"] == "d"
    assert cfg["min_ratio"] == 0.1
    assert cfg["logit_features"] is logit_features

    again = AutoModel.from_pretrained(tmp_path)
    assert isinstance(again, JudgeHead) and again.config.hidden_layer == 5 and again.min_ratio == 0.1
    sd0, sd1 = head.state_dict(), again.state_dict()
    assert sd0.keys() == sd1.keys()
    assert all(torch.equal(sd0[k], sd1[k]) for k in sd0)
    x, f = torch.randn(3, 16), (torch.randn(3, 3) if logit_features else None)
    assert again.reads_logits is logit_features
    # equal weights, but a reloaded tensor may sit at another memory alignment (safetensors' mmap offset), and
    # the CPU matmul then sums in another order: equal up to float rounding, not bit for bit
    torch.testing.assert_close(again(x, f), head(x, f), rtol=1e-6, atol=1e-7)


def test_remote_code_load_without_hf_judge(tmp_path):
    """A fresh interpreter that never imports hf_judge loads the head through auto_map."""
    torch.manual_seed(0)
    head = JudgeHead(JudgeHeadConfig(hidden_size=16))
    head.save_pretrained(tmp_path)
    code = (
        "import sys, torch\n"
        "from transformers import AutoModel\n"
        f"m = AutoModel.from_pretrained({str(tmp_path)!r}, trust_remote_code=True)\n"
        "assert 'hf_judge' not in sys.modules, 'hf_judge was imported'\n"
        "torch.manual_seed(0); print(float(m(torch.ones(1, 16))[0]))\n"
    )
    env = {"HF_HUB_OFFLINE": "1", "PATH": "", "HF_HOME": str(tmp_path / "hf_home")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.strip()) == pytest.approx(float(head(torch.ones(1, 16))[0]), abs=1e-6)


def test_auto_config_is_registered():
    cfg = AutoConfig.for_model("judge_head", hidden_size=8)
    assert isinstance(cfg, JudgeHeadConfig)


def test_predict_proba_of_a_known_linear_head():
    """A head with weights (1, -2, 0, 0.5) and bias 1, scored by hand: p = 1 / (1 + exp(-(w.x + b)))."""
    import math

    head = JudgeHead(JudgeHeadConfig(hidden_size=4))
    with torch.no_grad():
        head.net[0].weight.copy_(torch.tensor([[1.0, -2.0, 0.0, 0.5]]))
        head.net[0].bias.fill_(1.0)
    x = torch.tensor([[[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 2.0], [0.0, 3.0, 0.0, 0.0]]])  # (1, 3, 4)
    want = [1 / (1 + math.exp(-z)) for z in (1.0, 1.0, -5.0)]
    p = head.predict_proba(x)
    assert p.shape == (1, 3)
    assert p[0].tolist() == pytest.approx(want, abs=1e-6)
    assert head.predict_proba(x.to(torch.bfloat16)).dtype == torch.float32  # bf16 hidden states are read too


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"threshold": 2.0}, "threshold=2.0"),
        ({"min_ratio": -0.1}, "min_ratio=-0.1"),
        ({"min_ratio": "high"}, "min_ratio='high'"),
        ({"head_type": "transformer"}, "head_type='transformer'"),
        ({"hidden_size": 0}, "hidden_size=0"),
        ({"hidden_layer": 1.5}, "hidden_layer=1.5"),
    ],
)
def test_bad_config_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        JudgeHeadConfig(**{"hidden_size": 8, **kwargs})


def test_wrong_hidden_size_is_named():
    head = JudgeHead(JudgeHeadConfig(hidden_size=8))
    with pytest.raises(ValueError, match="hidden size 9"):
        head(torch.zeros(1, 9))


def test_missing_directory_is_an_error(tmp_path):
    with pytest.raises(OSError):
        JudgeHead.from_pretrained(tmp_path / "nope")


def test_the_shipped_default_head_loads_for_the_default_pair():
    import warnings
    from pathlib import Path

    import hf_judge
    from hf_judge.registry.judges import load_judge, shipped_head_dir
    from hf_judge.registry.packaged import DEFAULT_DRAFT, DEFAULT_TARGET, same_model

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # trained for exactly this target: no mismatch warning
        head = load_judge("default", target=DEFAULT_TARGET)
    cfg = head.config
    assert cfg.hidden_size == 1536 and cfg.head_type == "linear"  # Qwen2.5-Coder-1.5B's hidden size
    assert same_model(cfg.target_model, DEFAULT_TARGET) and same_model(cfg.draft_model, DEFAULT_DRAFT)
    assert 0.0 < cfg.threshold < 1.0
    w = head.net[0].weight
    assert torch.isfinite(w).all() and w.abs().sum() > 0
    folder = shipped_head_dir(DEFAULT_TARGET)
    assert {"model.safetensors", "README.md", "training_report.json", "calibration.png"} <= {
        p.name for p in folder.iterdir()
    }
    package = Path(hf_judge.__file__).parent / "core"
    for code in ("configuration_judge.py", "modeling_judge.py"):  # the remote-code copies match the package's classes
        assert (folder / code).read_text() == (package / code).read_text(), f"{code} in {folder} is stale"
    card = (folder / "README.md").read_text()
    assert "{{" not in card and cfg.target_model in card and f"{cfg.threshold:.3f}" in card
    again = AutoModel.from_pretrained(folder)  # registered with the Auto classes: no remote code needed
    assert all(torch.equal(a, b) for a, b in zip(head.state_dict().values(), again.state_dict().values(), strict=True))
    # it is the head the README's training and frontier figures measure (v9: the layer-18 head retrained with the math
    # and code-stub shards built since v2), with the plausibility floor its config carries
    measured = Path(__file__).parents[1] / "benchmarks" / "results" / "judge_training_layer18_v9_cpu"
    for f in ("model.safetensors", "config.json", "training_report.json"):
        assert (folder / f).read_bytes() == (measured / f).read_bytes(), f"{f}: shipped head is not the measured one"
