"""The custom_generate folder: built from the core's own source, and it runs on stock transformers alone."""

import json
import subprocess
import sys
from pathlib import Path

import torch

import hf_judge
from hf_judge import JudgeHead, JudgeHeadConfig
from hf_judge.hub.custom_generate import build_generate_py, write_folder
from tests.conftest import HIDDEN, tiny_model

ROOT = Path(__file__).parents[1] / "hub_generate"  # the Hub repository layout


def test_committed_folder_is_a_fresh_build(tmp_path):
    """custom_generate/ in the repository equals what the core modules build today (no drift)."""
    assert (ROOT / "custom_generate" / "generate.py").read_text() == build_generate_py(), (
        "run: hf-judge export-generate hub_generate"
    )
    write_folder(tmp_path)
    for name in ("custom_generate/requirements.txt", "README.md"):
        assert (ROOT / name).read_text() == (tmp_path / name).read_text(), name
    assert "custom_generate" in (tmp_path / "README.md").read_text().split("---")[1]  # the Hub tag


def test_stock_transformers_runs_the_folder_without_hf_judge(tmp_path):
    """A fresh interpreter that cannot import hf_judge runs judge decoding from the folder (local path) and
    gets the library's tokens and acceptance figures exactly (float32, greedy)."""
    target, draft = tiny_model(seed=0), tiny_model(layers=1, seed=1)
    torch.manual_seed(5)
    head = JudgeHead(JudgeHeadConfig(hidden_size=HIDDEN, threshold=0.5))  # random: accepts some, rejects some
    for name, obj in (("target", target), ("draft", draft), ("head", head)):
        obj.save_pretrained(tmp_path / name)
    prompt = [[5, 17, 3, 42, 8, 11]]
    kwargs = {"max_new_tokens": 24, "do_sample": False, "num_assistant_tokens": 3, "return_dict_in_generate": True}
    ref = hf_judge.generate(target, torch.tensor(prompt), assistant_model=draft, judge=head, **kwargs)
    assert ref.acceptance.accepted_judge_only > 0  # the judge does decide something

    code = f"""
import json, sys
sys.modules["hf_judge"] = None  # importing hf_judge fails from here on
import torch
from transformers import AutoModelForCausalLM
root = {str(tmp_path)!r}
target = AutoModelForCausalLM.from_pretrained(root + "/target")
draft = AutoModelForCausalLM.from_pretrained(root + "/draft")
out = target.generate(torch.tensor({prompt}), custom_generate={str(ROOT)!r}, trust_remote_code=True,
                      assistant_model=draft, judge=root + "/head", **{kwargs!r})
assert "hf_judge" not in sys.modules or sys.modules["hf_judge"] is None
print(json.dumps({{"ids": out.sequences.tolist(), "acceptance": out.acceptance.as_dict()}}))
"""
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf_home"), "PATH": ""}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["ids"] == ref.sequences.tolist()
    assert got["acceptance"] == json.loads(json.dumps(ref.acceptance.as_dict()))
