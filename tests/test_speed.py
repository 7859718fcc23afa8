"""Speed features: dtype by hardware, the limit meter's arithmetic, int8 drafts, oneDNN linears, early-stop drafting.

Speed itself is measured by benchmarks (ratios in one run), not asserted here; these tests check that each
feature computes what it says and keeps judge decoding exact where it must.
"""

import sys
from pathlib import Path

import pytest
import torch

import hf_judge
from hf_judge.bench.limit import Costs, expected_tokens, measure_costs
from hf_judge.registry.hardware import native_bf16, resolve_dtype
from hf_judge.registry.kernels import OneDNNLinear, use_onednn_linear
from hf_judge.registry.packaged import quantize_int8
from tests.conftest import set_draft_len, tiny_model
from tests.test_decoding import judge_with_bias, never


def test_dtype_auto_follows_the_hardware():
    assert native_bf16("cpu", flags=frozenset({"avx2", "avx512f"})) is False  # AVX-512 alone emulates bf16
    assert native_bf16("cpu", flags=frozenset({"avx512_bf16"})) is True
    assert native_bf16("cpu", flags=frozenset({"amx_bf16", "amx_tile"})) is True
    assert resolve_dtype("float32") == torch.float32 and resolve_dtype("bfloat16") == torch.bfloat16
    assert resolve_dtype("auto", "cpu") == (torch.bfloat16 if native_bf16("cpu") else torch.float32)
    with pytest.raises(ValueError, match="dtype='fp8'"):
        resolve_dtype("fp8")


def test_limit_meter_arithmetic():
    # target: 100 ms for 1 token, 160 ms for 5; draft 30 ms per token
    costs = Costs(target_ms={1: 100.0, 5: 160.0}, draft_ms=30.0, prompt_len=10, threads=2, dtype="float32")
    assert costs.c == pytest.approx(0.3)
    assert costs.beta(4) == pytest.approx(0.15)  # 60 ms over 4 extra tokens, per target token
    assert costs.step_cost(4) == pytest.approx(1 + 4 * (0.3 + 0.15))  # = (160 + 4 * 30) / 100
    assert costs.cap(4) == pytest.approx(5 / 2.8)
    assert costs.predicted(4, 3.5) == pytest.approx(3.5 / 2.8)
    assert expected_tokens(1.0, 4) == 5 and expected_tokens(0.0, 4) == 1
    assert expected_tokens(0.5, 2) == pytest.approx(1 + 0.5 + 0.25)
    assert costs.best_k(0.9) == (4, pytest.approx(expected_tokens(0.9, 4) / 2.8))
    assert "cap (all kept)" in costs.table(0.8) and "best k" in costs.table(0.8)


def test_measure_costs_on_tiny_models():
    costs = measure_costs(tiny_model(seed=0), tiny_model(layers=1, seed=1), prompt_len=8, ks=(1, 3), repeats=2)
    assert set(costs.target_ms) == {1, 2, 4} and costs.draft_ms > 0 and costs.c > 0
    assert costs.ks == [1, 3] and set(costs.as_dict()["cap"]) == {"1", "3"}


def test_int8_draft_keeps_judge_decoding_exact(prompt):
    """The draft only proposes: with an int8 draft, judge decoding at threshold 1.0 still equals plain greedy."""
    target = hf_judge.enable(tiny_model(seed=0))
    draft = quantize_int8(tiny_model(layers=1, seed=1))
    assert "quantized" in type(draft.model.layers[0].mlp.up_proj).__module__
    set_draft_len(draft, 3)
    ref = target.generate(prompt, max_new_tokens=16, do_sample=False)
    out = target.generate(prompt, max_new_tokens=16, do_sample=False, assistant_model=draft, judge=never())
    assert torch.equal(out, ref)
    with pytest.raises(ValueError, match="starts from float32"):
        quantize_int8(tiny_model(seed=0).to(torch.bfloat16))


def test_onednn_linear_matches_stock_and_keeps_exactness(prompt):
    model = tiny_model(seed=0)
    ids = torch.randint(0, 96, (1, 12))
    with torch.no_grad():
        ref = model(ids).logits
        use_onednn_linear(model)
        got = model(ids).logits
    assert isinstance(model.model.layers[0].self_attn.q_proj, OneDNNLinear)
    assert torch.allclose(got, ref, atol=1e-4)
    target = hf_judge.enable(model)
    draft = use_onednn_linear(tiny_model(layers=1, seed=1))
    set_draft_len(draft, 3)
    plain = target.generate(prompt, max_new_tokens=16, do_sample=False)
    out = target.generate(prompt, max_new_tokens=16, do_sample=False, assistant_model=draft, judge=never())
    assert torch.equal(out, plain)  # same converted target on both sides: exact


def test_draft_stops_when_unsure(prompt):
    """assistant_confidence_threshold: drafting stops after a token the draft gives less probability than it."""
    target = tiny_model(seed=0)
    draft = tiny_model(layers=1, seed=1)  # a random draft is never sure: every token below 0.99
    set_draft_len(draft, 4)
    kw = {"max_new_tokens": 12, "do_sample": False, "assistant_model": draft, "return_dict_in_generate": True}
    out = hf_judge.generate(target, prompt, judge=judge_with_bias(0.0, 0.45), assistant_confidence_threshold=0.99, **kw)
    s = out.acceptance  # at most one draft token per step (none where max_length leaves no room)
    assert set(s.histogram) <= {0, 1} and s.steps - 1 <= s.proposed <= s.steps
    full = hf_judge.generate(target, prompt, judge=judge_with_bias(0.0, 0.45), assistant_confidence_threshold=0.0, **kw)
    assert full.acceptance.proposed > full.acceptance.steps  # k per step when never unsure
    draft.generation_config.assistant_confidence_threshold = 0.99  # the draft's own setting, as stock reads it
    again = hf_judge.generate(target, prompt, judge=judge_with_bias(0.0, 0.45), **kw)
    assert again.acceptance.as_dict() == out.acceptance.as_dict()
    ref = target.generate(prompt, max_new_tokens=12, do_sample=False)
    exact = hf_judge.generate(target, prompt, judge=never(), assistant_confidence_threshold=0.99, **kw)
    assert torch.equal(exact.sequences, ref)


def test_model_bytes_counts_onednn_and_int8_weights():
    from hf_judge.cli.run import model_bytes

    plain = tiny_model(seed=0)
    dense = sum(t.numel() * t.element_size() for t in [*plain.parameters(), *plain.buffers()])
    assert model_bytes(plain) == dense
    assert model_bytes(use_onednn_linear(tiny_model(seed=0))) == pytest.approx(dense, rel=0.05)
    assert model_bytes(quantize_int8(tiny_model(seed=0))) < 0.5 * dense


def _mapped_rss(path) -> int:
    """Resident bytes of this process's mappings of ``path`` (from /proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if "-" in line.split(" ", 1)[0] and len(line.split()) >= 5:
            inside = line.split()[-1] == str(path)
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1]) * 1024
    return total


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
@pytest.mark.parametrize("convert", ["onednn", "int8"])
def test_converting_a_mapped_checkpoint_gives_its_pages_back(tmp_path, convert):
    """A float32 model converted to oneDNN or int8 used to keep the pages of its original linear weights
    resident (the checkpoint stays mapped): peak memory was twice the weights. A tied embedding that
    was changed in memory keeps its change (its pages are never dropped), and outputs are unchanged."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=512, hidden_size=256, intermediate_size=1024, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(tmp_path)
    model = LlamaForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    emb = model.model.embed_tokens.weight
    with torch.no_grad():
        emb[3] += 1.0  # a page of the mapped file written in memory: it must survive
    changed = emb[3].clone()
    ids = torch.tensor([[1, 3, 5, 7]])
    with torch.no_grad():
        want = model(ids).logits
    linear = sum(m.weight.numel() * 4 for m in model.modules() if type(m) is torch.nn.Linear and m.weight is not emb)
    before = _mapped_rss(tmp_path / "model.safetensors")
    assert before >= linear  # every weight was read once
    model = use_onednn_linear(model) if convert == "onednn" else quantize_int8(model)
    after = _mapped_rss(tmp_path / "model.safetensors")
    assert before - after >= 0.9 * linear, (before, after, linear)
    assert torch.equal(model.model.embed_tokens.weight[3], changed)
    with torch.no_grad():
        got = model(ids).logits
    err = ((got - want).norm() / want.norm()).item()
    assert err < (1e-5 if convert == "onednn" else 0.05), err  # int8: a nearby model, not the same one


@pytest.mark.parametrize(("change", "named"), [({"repeats": 0}, "repeats=0"), ({"prompt_len": 0}, "prompt_len=0")])
def test_measure_costs_names_a_count_out_of_range(change, named):
    with pytest.raises(hf_judge.core.errors.InputError, match=named):
        measure_costs(tiny_model(seed=0), tiny_model(layers=1, seed=1), ks=(2,), **change)


@pytest.mark.parametrize("acceptance", [1.5, -0.1, float("nan")])
def test_expected_tokens_names_an_acceptance_outside_0_1(acceptance):
    """Before: 1.5 gave k + 1 tokens per step (every draft token kept) and a best k for it."""
    with pytest.raises(hf_judge.core.errors.InputError, match="acceptance="):
        expected_tokens(acceptance, 4)
