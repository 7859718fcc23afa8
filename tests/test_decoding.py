"""Judge decoding inside generate(): exactness, statistics, generate() features, bad input."""

import pytest
import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

import hf_judge
from hf_judge import JudgeHead, JudgeHeadConfig
from tests.conftest import HIDDEN, set_draft_len, tiny_model

NEW = 24


def judge_with_bias(bias: float, threshold: float, hidden: int = HIDDEN) -> JudgeHead:
    """A head whose score is sigmoid(bias) whatever it reads."""
    head = JudgeHead(JudgeHeadConfig(hidden_size=hidden, threshold=threshold))
    with torch.no_grad():
        head.net[0].weight.zero_()
        head.net[0].bias.fill_(bias)
    return head


def never():
    """Scores every token 1.0 (the most a judge can say) at threshold 1.0: strictly above is impossible."""
    head = judge_with_bias(20.0, threshold=1.0)
    assert float(head.predict_proba(torch.zeros(HIDDEN))) == 1.0
    return head


def always():
    return judge_with_bias(20.0, threshold=0.5)


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gemma2"])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_never_accepting_judge_reproduces_plain_greedy(arch, k, prompt):
    target = hf_judge.enable(tiny_model(arch, layers=2, seed=0))
    draft = tiny_model(arch, layers=1, seed=1)
    set_draft_len(draft, k)
    ref = target.generate(prompt, max_new_tokens=NEW, do_sample=False)
    out = target.generate(prompt, max_new_tokens=NEW, do_sample=False, assistant_model=draft, judge=never())
    assert torch.equal(out, ref)


def test_draft_equal_to_target_accepts_everything(prompt):
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(seed=0)
    set_draft_len(draft, 4)
    out = target.generate(
        prompt, max_new_tokens=20, do_sample=False, assistant_model=draft, judge=never(), return_dict_in_generate=True
    )
    ref = target.generate(prompt, max_new_tokens=20, do_sample=False)
    s = out.acceptance
    assert torch.equal(out.sequences, ref)
    assert s.accepted == s.proposed == s.accepted_target and s.accepted_judge_only == 0
    assert s.steps == 4 and s.histogram == {4: 4}  # 4 steps of 4 drafted + 1 bonus = 20 tokens


def test_always_accepting_judge_returns_the_drafts_own_tokens(prompt):
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    k = 3
    set_draft_len(draft, k)
    out = target.generate(
        prompt, max_new_tokens=NEW, do_sample=False, assistant_model=draft, judge=always(), return_dict_in_generate=True
    )
    seq, n0 = out.sequences, prompt.shape[1]
    # every step keeps k draft tokens, then the target appends its own token
    for start in range(n0, seq.shape[1] - k, k + 1):
        want = draft.generate(seq[:, :start], max_new_tokens=k, do_sample=False)[:, start:]
        assert torch.equal(seq[:, start : start + k], want)
    assert out.acceptance.accepted_judge_only > 0
    assert out.acceptance.accepted == out.acceptance.proposed


def test_statistics_add_up(prompt):
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 4)
    out = target.generate(
        prompt,
        max_new_tokens=NEW,
        do_sample=False,
        assistant_model=draft,
        judge=judge_with_bias(0.0, threshold=0.45),
        return_dict_in_generate=True,
    )
    s = out.acceptance
    assert s.new_tokens == out.sequences.shape[1] - prompt.shape[1] == NEW
    assert s.new_tokens == s.accepted + s.steps  # each step: accepted drafts + one target token
    assert sum(s.histogram.values()) == s.steps
    assert sum(n * c for n, c in s.histogram.items()) == s.accepted
    assert s.accepted <= s.proposed
    assert s.mean_accepted == pytest.approx(s.accepted / s.steps)
    assert s.as_dict()["histogram"] == dict(sorted(s.histogram.items()))
    assert "mean accepted/step" in s.report()


def test_statistics_of_a_step_cut_at_eos_count_the_judges_tokens_before_it(prompt):
    """A step whose kept drafts run past eos ends at eos; its statistics count what it keeps. They used to take
    min(the step's target-kept drafts, the tokens kept), so the target-kept drafts after eos stood in for the
    judge's tokens before it (the bench's records showed answers changed from their first token with no
    judge-only token)."""
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(seed=0)  # the target, slightly perturbed: it agrees with it at most positions, not every one
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for p in draft.parameters():
            p.add_(0.003 * torch.randn(p.shape, generator=gen))
    k, P = 6, prompt.shape[1]
    set_draft_len(draft, k)

    def run(**kw):
        kw = dict(max_new_tokens=2 * (k + 1), do_sample=False, assistant_model=draft, judge=always(), **kw)
        return target.generate(prompt, return_dict_in_generate=True, **kw)

    def judges(seq):  # greedy: a kept token the target would not have chosen there is the judge's
        with torch.no_grad():
            greedy = target(seq).logits[0, P - 1 : -1].argmax(-1)  # (T,)
        return (seq[0, P:] != greedy).tolist()

    first = run().sequences
    new, by_judge = first[0, P:].tolist(), judges(first)
    # eos: a draft of the first step the target agrees with, after a judge's token, with drafts kept after it
    j = next(
        j for j in range(1, k - 1) if any(by_judge[:j]) and not by_judge[j] and new[j] not in new[:j]
    )  # (none: the setup no longer makes the case, and the test says so by failing here)
    out = run(eos_token_id=new[j])
    s = out.acceptance
    assert out.sequences[0, P:].tolist() == new[: j + 1]  # cut at eos, in the first step
    assert s.steps == 1 and s.accepted == j + 1  # every token kept was a draft
    assert s.accepted_judge_only == sum(judges(out.sequences)) == sum(by_judge[: j + 1]) > 0
    assert s.accepted_target == j + 1 - s.accepted_judge_only


def test_sampling_runs_and_is_seeded(prompt):
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 3)
    outs = []
    for _ in range(2):
        torch.manual_seed(7)
        outs.append(
            target.generate(
                prompt,
                max_new_tokens=NEW,
                do_sample=True,
                top_k=0,
                assistant_model=draft,
                judge=judge_with_bias(0.0, 0.45),
                return_dict_in_generate=True,
            )
        )
    assert torch.equal(outs[0].sequences, outs[1].sequences)
    assert outs[0].sequences.shape[1] == prompt.shape[1] + NEW
    assert outs[0].acceptance.accepted_judge_only > 0


def test_sampling_with_draft_equal_to_target_accepts_all(prompt):
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(seed=0)
    set_draft_len(draft, 3)
    torch.manual_seed(0)
    out = target.generate(
        prompt, max_new_tokens=16, do_sample=True, assistant_model=draft, judge=never(), return_dict_in_generate=True
    )
    assert out.acceptance.accepted == out.acceptance.proposed  # p == q: the ratio test always keeps


def test_sampling_filters_bind_the_judge_too(prompt):
    """``top_k=1`` sampling leaves the target one allowed token per position: the most accepting judge, head or
    rule, cannot keep a draft token the filter ruled out, so the answer is the target's greedy one."""
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 3)
    ref = target.generate(prompt, max_new_tokens=NEW, do_sample=False)
    for judge in (always(), "top-k:96"):
        torch.manual_seed(0)
        kw = {"do_sample": True, "top_k": 1, "assistant_model": draft, "return_dict_in_generate": True}
        out = target.generate(prompt, max_new_tokens=NEW, judge=judge, **kw)
        assert torch.equal(out.sequences, ref), judge
        assert out.acceptance.accepted_judge_only == 0 and out.acceptance.accepted < out.acceptance.proposed


def test_eos_stops_and_is_last(prompt):
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 4)
    ref = target.generate(prompt, max_new_tokens=NEW, do_sample=False)
    eos = int(ref[0, prompt.shape[1] + 5])  # the 6th greedy token becomes eos
    first = prompt.shape[1] + (ref[0, prompt.shape[1] :] == eos).nonzero()[0].item()
    out = target.generate(
        prompt, max_new_tokens=NEW, do_sample=False, eos_token_id=eos, assistant_model=draft, judge=never()
    )
    assert torch.equal(out, ref[:, : first + 1])


def test_max_new_tokens_respected_with_long_drafts(prompt):
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(seed=0)
    set_draft_len(draft, 8)
    for n in (1, 2, 5, 9, 10):
        out = target.generate(prompt, max_new_tokens=n, do_sample=False, assistant_model=draft, judge=always())
        assert out.shape[1] == prompt.shape[1] + n


def test_stopping_criteria_and_streamer(prompt):
    class StopAt(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), input_ids.shape[1] >= prompt.shape[1] + 10, dtype=torch.bool)

    class Collect(BaseStreamer):
        def __init__(self):
            self.chunks, self.ended = [], False

        def put(self, value):
            self.chunks.append(value.reshape(-1).tolist())

        def end(self):
            self.ended = True

    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 3)
    streamer = Collect()
    out = target.generate(
        prompt,
        max_new_tokens=NEW,
        do_sample=False,
        assistant_model=draft,
        judge=always(),
        stopping_criteria=StoppingCriteriaList([StopAt()]),
        streamer=streamer,
    )
    assert out.shape[1] == prompt.shape[1] + 10  # stops where the criterion first holds, not after the whole step
    assert streamer.ended
    assert streamer.chunks[0] == prompt[0].tolist()  # generate() streams the prompt first
    assert sum(streamer.chunks[1:], []) == out[0, prompt.shape[1] :].tolist()


class StopAfterToken(StoppingCriteria):
    """Holds once the sequence ends in ``token`` (as a stop string does once its text is written)."""

    def __init__(self, token: int):
        self.token = token

    def __call__(self, input_ids, scores, **kwargs):
        return input_ids[:, -1] == self.token


@pytest.mark.parametrize("k", [3, 6])
def test_a_stopping_criterion_met_inside_a_step_ends_the_answer_there(k, prompt):
    """Lossless at threshold 1.0 under a user's stopping criterion: the tokens a step keeps after the one
    where the criterion first holds are not part of the answer (as plain generate never writes them)."""
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(seed=0)  # the draft agrees with the target: every step keeps k tokens
    set_draft_len(draft, k)
    greedy = target.generate(prompt, max_new_tokens=NEW, do_sample=False)[0, prompt.shape[1] :]
    stop = next(int(t) for i, t in enumerate(greedy) if i % (k + 1) != k and t not in greedy[:i])  # mid-step
    criteria = StoppingCriteriaList([StopAfterToken(stop)])
    ref = target.generate(prompt, max_new_tokens=NEW, do_sample=False, stopping_criteria=criteria)
    assert int(ref[0, -1]) == stop and ref.shape[1] < prompt.shape[1] + NEW
    out = target.generate(
        prompt,
        max_new_tokens=NEW,
        do_sample=False,
        stopping_criteria=criteria,
        assistant_model=draft,
        judge=never(),
        return_dict_in_generate=True,
        output_scores=True,
    )
    assert torch.equal(out.sequences, ref)
    assert out.acceptance.new_tokens == len(out.scores) == ref.shape[1] - prompt.shape[1]


def test_output_scores_match_sequence(prompt):
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 3)
    out = target.generate(
        prompt,
        max_new_tokens=12,
        do_sample=False,
        assistant_model=draft,
        judge=never(),
        return_dict_in_generate=True,
        output_scores=True,
        output_logits=True,
    )
    assert len(out.scores) == len(out.logits) == 12
    greedy = torch.stack([s.argmax(-1) for s in out.scores], 1)
    assert torch.equal(greedy, out.sequences[:, prompt.shape[1] :])


def test_without_judge_is_stock_assisted_generation(prompt):
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 3)
    a = target.generate(prompt, max_new_tokens=NEW, do_sample=False, assistant_model=draft)
    b = type(target).generate(target, prompt, max_new_tokens=NEW, do_sample=False, assistant_model=draft)
    assert torch.equal(a, b)


def test_left_padded_single_row(prompt):
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 3)
    ref = target.generate(prompt, max_new_tokens=10, do_sample=False)
    padded = torch.cat([torch.zeros(1, 2, dtype=torch.long), prompt], 1)
    mask = torch.cat([torch.zeros(1, 2, dtype=torch.long), torch.ones_like(prompt)], 1)
    out = target.generate(
        padded,
        attention_mask=mask,
        max_new_tokens=10,
        do_sample=False,
        assistant_model=draft,
        judge=never(),
        pad_token_id=0,
    )
    assert torch.equal(out[:, 2:], ref)


def test_functional_generate_matches_enable(prompt):
    target = tiny_model(seed=0)
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 3)
    a = hf_judge.generate(target, prompt, max_new_tokens=10, do_sample=False, assistant_model=draft, judge=always())
    b = hf_judge.enable(target).generate(
        prompt, max_new_tokens=10, do_sample=False, assistant_model=draft, judge=always()
    )
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"judge": judge_with_bias(0.0, 0.5, hidden=HIDDEN + 1)}, "judge hidden_size=33"),
        ({"draft_vocab": 97}, "vocabularies differ"),
        ({"batch": 2}, "batch_size=2"),
        ({"num_beams": 2}, "num_beams=2"),
        ({"assistant_model": None}, "assistant_model"),
        ({"judge_threshold": 1.5}, "judge_threshold=1.5"),
        ({"num_return_sequences": 2, "do_sample": True}, "num_return_sequences"),
        ({"judge": 3}, "judge=3 .int. is neither a judge head nor a scorer"),
        ({"judge": "/no/such/folder"}, "no judge head folder at /no/such/folder"),
        ({"judge": "./no-such-head"}, "no judge head folder at ./no-such-head"),
        # classifier-free guidance's processor runs the model a token at a time: a step of several tokens gave
        # another answer than plain greedy at threshold 1.0 (as stock assisted generation does), silently
        ({"guidance_scale": 1.5, "judge_threshold": 1.0}, "guidance_scale=1.5 .classifier-free guidance. is not"),
        # another drafting or verification of stock assisted generation: the judge loop ran without it, silently
        ({"assistant_ensemble_weight": 0.5}, "assistant_ensemble_weight=0.5 .stock assisted generation's lossy"),
        ({"prompt_lookup_num_tokens": 3}, "prompt_lookup_num_tokens=3 .prompt-lookup drafting"),
        ({"assistant_early_exit": 1}, "assistant_early_exit=1 .drafting from the target's first layers"),
    ],
)
def test_bad_input_gets_a_clear_error(change, match, prompt):
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1, vocab=change.pop("draft_vocab", 96))
    ids = prompt.repeat(change.pop("batch", 1), 1)
    kwargs = {"max_new_tokens": 4, "do_sample": False, "assistant_model": draft, "judge": never()}
    kwargs.update(change)
    with pytest.raises(ValueError, match=match):
        target.generate(ids, **kwargs)


def test_a_prompt_given_as_embeddings_is_named(prompt):
    """Before: 'the prompt is empty' (generate hands the loop no token ids for an inputs_embeds prompt)."""
    target = hf_judge.enable(tiny_model(seed=0))
    embeds = target.get_input_embeddings()(prompt)
    with pytest.raises(ValueError, match="inputs_embeds is not supported.*input_ids"):
        target.generate(inputs_embeds=embeds, max_new_tokens=4, assistant_model=tiny_model(seed=1), judge=never())


def test_threshold_without_judge_is_an_error(prompt):
    target = hf_judge.enable(tiny_model(seed=0))
    with pytest.raises(ValueError, match="judge_threshold"):
        target.generate(prompt, max_new_tokens=2, judge_threshold=0.3)


def test_generator_object_works_with_stock_generate(prompt):
    """No patching: transformers' own generate(custom_generate=JudgeAssistedGenerator(...))."""
    target = tiny_model(seed=0)
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 3)
    ref = target.generate(prompt, max_new_tokens=NEW, do_sample=False)
    out = target.generate(
        prompt,
        max_new_tokens=NEW,
        do_sample=False,
        custom_generate=hf_judge.JudgeAssistedGenerator(draft, never()),
        return_dict_in_generate=True,
    )
    assert torch.equal(out.sequences, ref)
    assert out.acceptance.steps > 0 and out.acceptance.accepted_judge_only == 0
    with pytest.raises(ValueError, match="judge_threshold=-0.1"):
        hf_judge.JudgeAssistedGenerator(draft, never(), judge_threshold=-0.1)
    with pytest.raises(ValueError, match="judge head"):
        hf_judge.JudgeAssistedGenerator(draft, None)


def test_judge_cannot_end_the_answer(prompt):
    """A draft that wants to stop (its token is eos) needs the target's agreement, not the judge's."""
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 3)
    t1 = int(target.generate(prompt, max_new_tokens=1, do_sample=False)[0, -1])
    d1 = int(draft.generate(prompt, max_new_tokens=1, do_sample=False)[0, -1])
    assert t1 != d1  # the draft's first token is one the target would not choose
    out = target.generate(
        prompt, max_new_tokens=8, do_sample=False, eos_token_id=d1, assistant_model=draft, judge=always()
    )
    assert int(out[0, prompt.shape[1]]) == t1  # the judge accepts everything but the draft's eos


# --- reliability: each of these failed before its fix ---


def test_sampling_with_one_new_token(prompt):
    """max_new_tokens=1 drafts nothing (k=0); sampling used to fail there ("draft_probs are required")."""
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 3)
    for n in (1, 2, 3):
        torch.manual_seed(n)
        out = target.generate(prompt, max_new_tokens=n, do_sample=True, assistant_model=draft, judge=never())
        assert out.shape[1] == prompt.shape[1] + n


def test_cache_holding_the_whole_prompt(prompt):
    """A caller's cache that already holds the prompt is used (last token fed again), not a shape error."""
    from hf_judge.core import _compat

    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 3)
    ref = target.generate(prompt, max_new_tokens=10, do_sample=False)
    for held in (prompt.shape[1] - 2, prompt.shape[1]):
        cache = _compat.new_cache(target)
        _compat.forward(target, prompt[:, :held], cache, 1, None)
        out = target.generate(
            prompt,
            **{_compat.OUTPUT_CACHE_FIELD: cache},
            max_new_tokens=10,
            do_sample=False,
            assistant_model=draft,
            judge=never(),
        )
        assert torch.equal(out, ref), held


def test_cache_longer_than_the_prompt_is_named(prompt):
    from hf_judge.core import _compat

    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    cache = _compat.new_cache(target)
    _compat.forward(target, torch.cat([prompt, prompt], 1), cache, 1, None)
    with pytest.raises(ValueError, match=f"cache holds {2 * prompt.shape[1]} tokens but the prompt has only 7"):
        target.generate(
            prompt, **{_compat.OUTPUT_CACHE_FIELD: cache}, max_new_tokens=3, assistant_model=draft, judge=never()
        )


def test_left_padding_counts_for_length_processors(prompt):
    """min_new_tokens must count from the padded prompt, as generate() does: padding used to shift it."""
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    set_draft_len(draft, 3)
    greedy = target.generate(prompt, max_new_tokens=12, do_sample=False)[0, prompt.shape[1] :]
    eos = int(greedy[2])  # the target would stop after 3 tokens
    ref = target.generate(prompt, max_new_tokens=12, min_new_tokens=5, eos_token_id=eos, do_sample=False)
    padded = torch.cat([torch.zeros(1, 3, dtype=torch.long), prompt], 1)
    mask = torch.cat([torch.zeros(1, 3, dtype=torch.long), torch.ones_like(prompt)], 1)
    out = target.generate(
        padded,
        attention_mask=mask,
        max_new_tokens=12,
        min_new_tokens=5,
        eos_token_id=eos,
        pad_token_id=0,
        do_sample=False,
        assistant_model=draft,
        judge=never(),
    )
    assert torch.equal(out[:, 3:], ref)


def test_right_padding_is_refused(prompt):
    target = hf_judge.enable(tiny_model(seed=0))
    draft = tiny_model(layers=1, seed=1)
    ids = torch.cat([prompt, torch.zeros(1, 2, dtype=torch.long)], 1)
    mask = torch.cat([torch.ones_like(prompt), torch.zeros(1, 2, dtype=torch.long)], 1)
    with pytest.raises(ValueError, match="left padding"):
        target.generate(
            ids, attention_mask=mask, max_new_tokens=3, pad_token_id=0, assistant_model=draft, judge=never()
        )


def test_eos_is_kept_when_the_private_tensor_is_missing():
    """eos_tensor used to return None when transformers' private ``_eos_token_tensor`` was absent."""
    from transformers import GenerationConfig

    from hf_judge.core import _compat

    cfg = GenerationConfig(eos_token_id=[5, 7])
    assert not hasattr(cfg, "_eos_token_tensor")
    assert _compat.eos_tensor(cfg).tolist() == [5, 7]
    assert _compat.eos_tensor(GenerationConfig(eos_token_id=3)).tolist() == [3]
    assert _compat.eos_tensor(GenerationConfig()) is None


def test_judge_by_folder_or_default_name(tmp_path, prompt):
    """judge= takes a loaded head, a local folder, or "default" (the head shipped for this target)."""
    target = tiny_model(seed=0)
    draft = tiny_model(layers=1, seed=1)
    head = judge_with_bias(0.0, 0.45)
    head.save_pretrained(tmp_path / "head")
    kw = {"max_new_tokens": 10, "do_sample": False, "assistant_model": draft, "num_assistant_tokens": 3}
    a = hf_judge.generate(target, prompt, judge=head, **kw)
    b = hf_judge.enable(target).generate(prompt, judge=str(tmp_path / "head"), **kw)
    assert torch.equal(a, b)

    big = tiny_model(seed=0, hidden=1536, layers=19)  # the shipped head's hidden size; it reads hidden_states[18]
    big.name_or_path = "Qwen/Qwen2.5-Coder-1.5B-Instruct"  # the target the shipped head was trained for
    out = hf_judge.generate(
        big,
        prompt,
        judge="default",
        return_dict_in_generate=True,
        **(kw | {"assistant_model": tiny_model(layers=1, seed=1, hidden=1536)}),
    )
    assert out.acceptance.steps > 0
    big.name_or_path = "org/unknown-model"
    with pytest.raises(FileNotFoundError, match="no judge head ships for target 'org/unknown-model'"):
        hf_judge.generate(big, prompt, judge="default", **kw)
    with pytest.raises(ValueError, match="is a name: load it first"):
        from hf_judge.core.decoding import generate as core_generate

        core_generate(target, prompt, judge="default", **kw)


def test_the_heads_own_floor_is_the_default_and_an_argument_overrides_it(tmp_path, prompt):
    """A head saved with a plausibility floor (config min_ratio) decodes as a head without one given
    judge_min_ratio=that floor; judge_min_ratio=0 turns it off."""
    target = tiny_model(seed=0)
    draft = tiny_model(layers=1, seed=1)
    kw = {"max_new_tokens": 16, "do_sample": False, "assistant_model": draft, "num_assistant_tokens": 4}
    plain = always()  # keeps every draft token, however implausible to the target
    floored = always()
    floored.config.min_ratio = 0.8
    floored.save_pretrained(tmp_path / "head")
    loaded = JudgeHead.from_pretrained(tmp_path / "head")
    assert loaded.min_ratio == 0.8

    unfloored = hf_judge.generate(target, prompt, judge=plain, **kw)
    by_argument = hf_judge.generate(target, prompt, judge=plain, judge_min_ratio=0.8, **kw)
    standard = hf_judge.generate(target, prompt, judge=plain, judge_min_ratio=1.0, **kw)  # the judge keeps none
    # the floor binds here, and not as standard verification: the comparisons below say something
    assert not torch.equal(unfloored, by_argument) and not torch.equal(by_argument, standard)
    assert torch.equal(hf_judge.generate(target, prompt, judge=loaded, **kw), by_argument)
    assert torch.equal(hf_judge.generate(target, prompt, judge=loaded, judge_min_ratio=0.0, **kw), unfloored)


def test_draft_length_is_an_argument(prompt):
    """num_assistant_tokens given to generate wins over the draft's generation config, which is left untouched."""
    target = tiny_model(seed=0)
    draft = tiny_model(seed=0)  # the same model: every draft token is accepted, so steps = new / (k + 1)
    set_draft_len(draft, 2)
    kw = {"max_new_tokens": 12, "do_sample": False, "assistant_model": draft, "judge": never()}
    out = hf_judge.generate(target, prompt, num_assistant_tokens=5, return_dict_in_generate=True, **kw)
    assert out.acceptance.histogram == {5: 2} and out.acceptance.steps == 2  # 2 steps of 5 + 1 = 12 tokens
    assert draft.generation_config.num_assistant_tokens == 2
    out = hf_judge.generate(target, prompt, return_dict_in_generate=True, **kw)  # the draft's own setting
    assert out.acceptance.histogram == {2: 4}
    with pytest.raises(ValueError, match="num_assistant_tokens=0 must be a positive int"):
        hf_judge.generate(target, prompt, num_assistant_tokens=0, **kw)


def test_the_heuristic_schedule_carries_its_draft_length_to_the_next_call_as_stock_does(prompt):
    """transformers' ``heuristic`` schedule keeps the grown or shrunk draft length in the draft's generation config
    for the next call; ``heuristic_transient`` (and an explicit ``num_assistant_tokens``) starts each call afresh."""
    target, draft = tiny_model(seed=0), tiny_model(seed=0)  # the same model: every step fully accepted, +2 each
    set_draft_len(draft, 2)
    kw = {"max_new_tokens": 12, "do_sample": False, "assistant_model": draft, "judge": never()}
    draft.generation_config.num_assistant_tokens_schedule = "heuristic_transient"
    hf_judge.generate(target, prompt, **kw)
    assert draft.generation_config.num_assistant_tokens == 2
    draft.generation_config.num_assistant_tokens_schedule = "heuristic"
    hf_judge.generate(target, prompt, num_assistant_tokens=2, num_assistant_tokens_schedule="heuristic", **kw)
    assert draft.generation_config.num_assistant_tokens == 2  # an argument is this call's alone
    out = hf_judge.generate(target, prompt, return_dict_in_generate=True, **kw)
    assert out.acceptance.steps > 1 and draft.generation_config.num_assistant_tokens == 2 + 2 * out.acceptance.steps


def _draft_forwards(target, draft, prompt, **kw):
    """Draft and target forwards of one greedy ``hf_judge.generate`` call without a judge (stock assisted
    generation) of 12 new tokens."""
    calls = {"target": 0, "draft": 0}
    hooks = [
        m.register_forward_pre_hook(lambda *_, n=n: calls.__setitem__(n, calls[n] + 1))
        for n, m in (("target", target), ("draft", draft))
    ]
    try:
        hf_judge.generate(target, prompt, assistant_model=draft, max_new_tokens=12, do_sample=False, **kw)
    finally:
        for h in hooks:
            h.remove()
    return calls


def test_draft_settings_without_a_judge_reach_stock_assisted_generation(prompt):
    """Before: ``hf_judge.generate(target, ids, assistant_model=draft, num_assistant_tokens=2)`` (standard SD, the
    baseline a user compares judge decoding with) handed the setting to stock ``generate``, whose assisted decoding
    reads the draft's generation config only: it drafted 20 tokens a step, silently. Now the settings hold for the
    call, as with a judge, and the draft's generation config is left as it was."""
    target, draft = tiny_model(seed=0), tiny_model(seed=0)  # the same model: every draft token is accepted
    set_draft_len(draft, 5)
    assert _draft_forwards(target, draft, prompt) == {"target": 2, "draft": 10}  # 2 steps of 5 + 1 = 12 tokens
    assert _draft_forwards(target, draft, prompt, num_assistant_tokens=2) == {"target": 4, "draft": 8}
    assert draft.generation_config.num_assistant_tokens == 5
    draft.generation_config.assistant_confidence_threshold = 0.4  # stock's default: the tiny draft is never as sure
    assert _draft_forwards(target, draft, prompt)["target"] == 6  # one draft token a step
    assert _draft_forwards(target, draft, prompt, assistant_confidence_threshold=0.0)["target"] == 2
    assert draft.generation_config.assistant_confidence_threshold == 0.4
    with pytest.raises(ValueError, match="num_assistant_tokens=2 was given without assistant_model="):
        hf_judge.generate(target, prompt, max_new_tokens=4, num_assistant_tokens=2)
