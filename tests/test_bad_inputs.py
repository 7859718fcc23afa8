"""Bad input: each case is a clear error that names the value, and nothing is left half-written.

Every test here is marked ``bad_input``; its docstring's first line is a row of the README's table
(``python -m tests.bad_inputs --write`` regenerates it, and ``test_readme_table_matches`` checks it).
"""

import json
import math

import pytest
import torch
from safetensors.torch import save_file

import hf_judge
from hf_judge import JudgeHead, JudgeHeadConfig
from hf_judge.core.errors import InputError
from hf_judge.registry.judges import load_judge
from tests.conftest import HIDDEN, tiny_model
from tests.test_decoding import never

pytestmark = pytest.mark.bad_input


@pytest.fixture
def pair():
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    return target, draft


def _generate(target, draft, ids=None, **kw):
    ids = torch.tensor([[1, 2, 3, 4]]) if ids is None else ids
    args = {"max_new_tokens": 4, "do_sample": False, "assistant_model": draft, "judge": never()} | kw
    return target.generate(ids, **args)


def test_judge_for_another_hidden_size(pair):
    """A judge head for another hidden size | `InputError`: both sizes and the head's target"""
    head = JudgeHead(JudgeHeadConfig(hidden_size=HIDDEN + 1, target_model="org/big-model"))
    with pytest.raises(
        InputError, match="judge hidden_size=33 does not match the target's hidden_size=32.*org/big-model"
    ):
        _generate(*pair, judge=head)


@pytest.mark.parametrize("layer", [3, -4])
def test_judge_reading_a_layer_the_target_lacks(pair, layer):
    """A judge head reading a hidden state the target lacks | `InputError`: the layer, the range, the head's target"""
    head = JudgeHead(JudgeHeadConfig(hidden_size=HIDDEN, hidden_layer=layer, target_model="org/deep-model"))
    want = rf"hidden_layer={layer} is not a hidden state.*2 layers, hidden states -3\.\.2.*org/deep-model"
    with pytest.raises(InputError, match=want):
        _generate(*pair, judge=head)


def test_judge_for_another_target(tmp_path):
    """A judge head trained for another target | `InputError`: both model names"""
    JudgeHead(JudgeHeadConfig(hidden_size=8, target_model="org/other-model")).save_pretrained(tmp_path)
    with pytest.raises(InputError, match="trained for target 'org/other-model', not 'org/my-model'"):
        load_judge(str(tmp_path), target="org/my-model")


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_head_weights(tmp_path, damage):
    """A truncated or corrupted `model.safetensors` | `InputError`: the folder and the file"""
    JudgeHead(JudgeHeadConfig(hidden_size=8)).save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\x07" * 64)
    with pytest.raises(InputError, match=f"could not load the judge head from {tmp_path}.*model.safetensors"):
        load_judge(str(tmp_path))


@pytest.mark.parametrize("missing", ["config.json", "model.safetensors"])
def test_head_folder_missing_a_file(tmp_path, missing):
    """A head folder without `config.json` or `model.safetensors` | `InputError`: the folder and the missing file"""
    JudgeHead(JudgeHeadConfig(hidden_size=8)).save_pretrained(tmp_path)
    (tmp_path / missing).unlink()
    with pytest.raises(InputError, match=f"{tmp_path} is not a judge head folder: it has no {missing}"):
        load_judge(str(tmp_path))


@pytest.mark.parametrize("bad", [1.5, -0.1, math.nan, "high"])
@pytest.mark.parametrize("name", ["judge_threshold", "judge_min_ratio"])
def test_threshold_outside_unit_interval(pair, name, bad):
    """A judge_threshold or judge_min_ratio outside [0, 1], NaN, or not a number | `InputError`: `name=value`"""
    with pytest.raises(InputError, match=f"{name}='?{bad}"):
        _generate(*pair, **{name: bad})
    with pytest.raises(InputError, match=f"{name}='?{bad}"):
        hf_judge.JudgeAssistedGenerator(pair[1], never(), **{name: bad})
    with pytest.raises(ValueError, match="threshold"):
        JudgeHeadConfig(hidden_size=8, threshold=bad)


def test_min_ratio_without_judge(pair):
    """judge_min_ratio without judge= | `InputError`: judge_min_ratio was given without judge="""
    with pytest.raises(InputError, match="judge_min_ratio was given without judge="):
        hf_judge.generate(pair[0], torch.tensor([[1, 2]]), assistant_model=pair[1], judge_min_ratio=0.1)


def test_draft_with_another_vocabulary(pair):
    """A draft with another vocabulary | `InputError`: both vocabulary sizes"""
    with pytest.raises(InputError, match="target vocab=96, draft vocab=97"):
        _generate(pair[0], tiny_model(layers=1, seed=1, vocab=97))


def test_empty_prompt(pair):
    """An empty prompt | `InputError`: the prompt is empty"""
    with pytest.raises(InputError, match="the prompt is empty"):
        _generate(*pair, ids=torch.zeros(1, 0, dtype=torch.long))


def test_zero_new_tokens(pair):
    """`max_new_tokens=0` | `ValueError` from transformers: `max_new_tokens` must be greater than 0"""
    with pytest.raises(ValueError, match="`max_new_tokens` must be greater than 0, but is 0"):
        _generate(*pair, max_new_tokens=0)


def test_batch_of_two(pair):
    """A batch of two prompts | `InputError`: `batch_size=2`"""
    with pytest.raises(InputError, match="batch_size=2 is not supported"):
        _generate(*pair, ids=torch.tensor([[1, 2, 3], [4, 5, 6]]))


def test_beam_search(pair):
    """Beam search | `InputError`: `num_beams=2`"""
    with pytest.raises(InputError, match="num_beams=2 is not supported"):
        _generate(*pair, num_beams=2)


def test_unknown_model_alias():
    """An unknown model alias | `InputError`: the alias and the known ones"""
    from hf_judge.registry.packaged import resolve

    with pytest.raises(InputError, match="unknown model alias 'qwen-9000'.*smollm2-135m-instruct"):
        resolve("qwen-9000")


def test_head_config_with_bad_values():
    """A head config with a bad type, size or layer | `ValueError`: the field and its value"""
    for kwargs, match in [
        ({"head_type": "cnn"}, "head_type='cnn'"),
        ({"hidden_size": 0}, "hidden_size=0"),
        ({"hidden_layer": True}, "hidden_layer=True"),
        ({"head_type": "mlp", "mlp_hidden_size": 0}, "mlp_hidden_size=0"),  # was a head of its bias alone
        ({"head_type": "mlp", "mlp_hidden_size": 2.5}, "mlp_hidden_size=2.5"),
    ]:
        with pytest.raises(ValueError, match=match):
            JudgeHeadConfig(**kwargs)


def test_judge_with_a_saved_weight_of_the_wrong_shape(tmp_path):
    """Weights of another shape than the config says | `InputError`: the folder"""
    JudgeHead(JudgeHeadConfig(hidden_size=8)).save_pretrained(tmp_path)
    save_file({"net.0.weight": torch.zeros(1, 5), "net.0.bias": torch.zeros(1)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(InputError, match=f"could not load the judge head from {tmp_path}"):
        load_judge(str(tmp_path))


def test_a_device_this_torch_does_not_have(monkeypatch, capsys):
    """A device torch does not have or know (`--device cuda` on a CPU-only torch) | `hf-judge: error:` naming it, first

    Also `cuda:3` on a one-GPU machine and an unknown device name."""
    from hf_judge.cli import main
    from hf_judge.registry.hardware import check_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on this CPU-only torch (was an AssertionError)
    assert main(["generate", "hi", "--device", "cuda", "--target", "no/such-model"]) == 2
    assert "hf-judge: error: device='cuda': this torch" in capsys.readouterr().err  # before the unknown model
    with pytest.raises(InputError, match="device='cuda': this torch .* sees no cuda device"):
        check_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(InputError, match=r"device='cuda:3': this machine has 1 cuda device\(s\), 0..0"):
        check_device("cuda:3")
    assert check_device("cuda:0") == torch.device("cuda:0") and check_device("cpu") == torch.device("cpu")
    with pytest.raises(InputError, match="device='gpu0' is not a torch device"):
        check_device("gpu0")


def test_a_pairs_file_with_a_line_that_is_not_json(tmp_path):
    """A `--pairs` file with a line that is not JSON | `InputError`: the file, the line number and the line"""
    from hf_judge.training.data import load_seed_pairs

    path = tmp_path / "pairs.jsonl"
    good = '{"prompt": "2+2?", "correct": "4", "wrong": "5"}'
    path.write_text(f"{good}\n\n{good}\n{{'prompt': 'single quotes'}}\n")  # was a bare JSONDecodeError traceback
    with pytest.raises(InputError, match=r"pairs.jsonl, line 4, is not a JSON object .*'prompt': 'single quotes'"):
        load_seed_pairs(path)
    path.write_text(f"{good}\n\n{good}\n")
    assert load_seed_pairs(path) == [json.loads(good)] * 2


def test_a_folder_of_data_sets_given_as_one(tmp_path):
    """A folder of data sets given as one (`--data data/judge/programs`) | `FileNotFoundError`: the sets it holds"""
    from datasets import Dataset

    from hf_judge.training.data import load_dataset_dir

    for seed in ("seed-1", "seed-2"):
        Dataset.from_dict({"x": [1]}).save_to_disk(str(tmp_path / "programs" / seed))
    with pytest.raises(
        FileNotFoundError, match=r"programs is no data set but holds 2: pass them, as .*/\{seed-1,seed-2\}"
    ):
        load_dataset_dir(tmp_path / "programs")  # was datasets' "neither a `Dataset` directory nor a `DatasetDict`"
    assert len(load_dataset_dir([tmp_path / "programs" / "seed-1", tmp_path / "programs" / "seed-2"])) == 2


@pytest.mark.slow  # the real SmolLM2 tokenizer (its packaged model is converted once)
def test_data_whose_token_ids_another_tokenizer_wrote(tmp_path, tiny_tok, capsys):
    """`--data` whose token ids another target's tokenizer wrote | `InputError`: the data and both tokenizers"""
    from hf_judge.cli import main
    from hf_judge.training.data import load_seed_pairs, pairs_dataset

    pairs_dataset(tiny_tok, load_seed_pairs()[:2]).save_to_disk(str(tmp_path / "d"))  # ids < 300: all in SmolLM2's
    smol = ["--target", "smollm2-135m-instruct", "--draft", "smollm2-135m-instruct"]
    # was: features of other words extracted and a head trained on them, silently
    assert main(["train", *smol, "--data", str(tmp_path / "d"), "--out", str(tmp_path / "head")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'd'} holds token ids of the tokenizer of " in err and "'smollm2-135m-instruct'" in err
    assert not (tmp_path / "head").exists()


@pytest.mark.slow  # the real SmolLM2 tokenizer
def test_data_without_a_tokenizer_record_holding_ids_beyond_the_vocabulary(tmp_path, capsys):
    """`--data` with no tokenizer record, ids beyond the target's vocabulary | `InputError`: the data, id and size"""
    from datasets import Dataset

    from hf_judge.cli import main
    from hf_judge.training.data import FEATURES

    row = {"input_ids": [1, 151645, 2], "positions": [2], "labels": [1], "source": "pairs:correct"}
    Dataset.from_list([row], features=FEATURES).save_to_disk(str(tmp_path / "d"))  # as hf-judge saved data before
    smol = ["--target", "smollm2-135m-instruct", "--draft", "smollm2-135m-instruct"]
    # was: torch's "IndexError: index out of range in self" from the embedding, after both models had loaded
    assert main(["train", *smol, "--data", str(tmp_path / "d"), "--out", str(tmp_path / "head")]) == 2
    assert "holds token id 151645, beyond this target's tokenizer ('smollm2-135m-instruct', 49152 tokens)" in (
        capsys.readouterr().err
    )


def test_a_head_written_into_a_folder_of_other_files(tmp_path, capsys):
    """`train --out` or `calibrate --out` a folder of other files (a project) | `InputError`: the folder, its files"""
    from hf_judge.cli import main
    from hf_judge.training.card import export_head

    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("my project\n")
    (project / "config.json").write_text('{"name": "my app"}')
    head = JudgeHead(JudgeHeadConfig(hidden_size=8))
    with pytest.raises(InputError, match=r"project holds files that are no judge head's \(README.md, config.json\)"):
        export_head(head, project)  # was: its README.md and config.json overwritten by the head's, silently
    assert (project / "README.md").read_text() == "my project\n"
    assert main(["train", "--source", "pairs", "--out", str(project)]) == 2  # before any model loads
    assert "holds files that are no judge head's" in capsys.readouterr().err
    assert main(["calibrate", "--head", "default", "--data", "/no/data", "--out", str(project)]) == 2
    assert "holds files that are no judge head's" in capsys.readouterr().err
    export_head(head, tmp_path / "head")  # a new folder, and a former head's folder, take a head
    assert export_head(head, tmp_path / "head") == tmp_path / "head"


def test_the_hub_recipe_written_into_a_folder_of_other_files(tmp_path, capsys):
    """`export-generate` into a folder of other files (`.`) | `InputError`: the folder, its files; none overwritten"""
    from hf_judge.cli import main

    (tmp_path / "README.md").write_text("my project\n")
    assert main(["export-generate", str(tmp_path)]) == 2  # was: its README.md replaced by the recipe's card
    assert "holds files that are no export of the recipe (README.md)" in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text() == "my project\n"
    assert main(["export-generate", str(tmp_path / "hub")]) == 0
    assert main(["export-generate", str(tmp_path / "hub")]) == 0  # a former export is written anew
