"""Every use of vLLM internals, in one module, for the one tested vLLM version.

Four patches, installed once per process by the plugin entry point:

1. ``LogitsProcessor.forward`` keeps the hidden states it turns into logits (the target's last,
   normed hidden states at the rows vLLM samples from); a head that reads the last layer reads them.
2. ``load_model`` of the model runners (GPU, and CPU's own): for a head that reads an intermediate layer
   (``hidden_layer``), the target model gives that layer as an EAGLE-3 auxiliary hidden state
   (``set_aux_hidden_state_layers``, which vLLM's decoder models implement, compiled or not); its forward
   keeps it for every scheduled token and returns the last hidden state alone, as the runner expects.
3. ``GPUModelRunner._sample`` (the CPU runner inherits it) notes, before verification, each request's
   ``SamplingParams.extra_args`` in batch order: a request's own ``judge_threshold`` or ``judge_min_ratio``
   there (OpenAI API: ``"vllm_xargs": {"judge_threshold": 0.9}``) overrides the engine's for that request;
   and its stop token ids (eos and its own ``stop_token_ids``), none of which the judge keeps for it.
4. ``RejectionSampler.forward``: for an engine configured with ``additional_config["hf_judge"]`` and
   a batch of greedy requests, the step's tokens come from :func:`hf_judge_vllm.rule.judge_greedy`
   (vLLM's own verification, extended by the judge) on the target's logits after the requests' own
   processors (penalties, bad words, allowed token ids, min_tokens: ``apply_logits_processors`` and the
   sampler, as vLLM's verification applies them); otherwise vLLM's rule runs unchanged.

Rows: vLLM samples, per request, the rows of [last token, d_1 .. d_k]; row j predicts d_{j+1}
(``target_logits_indices``) and row k gives the bonus token (``bonus_logits_indices``). The judge
scores d_j from the hidden state at d_j itself, the row after the one that predicts it, as hf_judge does.
"""

from __future__ import annotations

import json
import logging
import os

import torch

from .head import load_head
from .rule import judge_greedy, prob_ratio, request_stops

__all__ = ["SETTINGS", "TESTED_VLLM", "install", "judge_settings", "request_settings"]

TESTED_VLLM = ("0.32.0",)
SETTINGS = ("judge_threshold", "judge_min_ratio")  # the knobs an engine, or each request, may set
log = logging.getLogger("vllm.hf_judge")  # under vLLM's logger, so its handlers print it
_installed = False
_last_hidden: dict[str, torch.Tensor] = {}
_layer_hidden: dict[str, torch.Tensor] = {}  # "all": the head's layer, (T, H) for every scheduled token
_step: dict[str, list] = {"request_args": [], "stops": []}  # this step's requests' extra_args and stop ids, in order
# this process's totals. Counted as the sampler keeps tokens, before the scheduler cuts a request at its stop
# token: the basis of vLLM's own accepted-token counter (its scheduler counts a step's accepted drafts from the
# sampled tokens, then checks for stops), so the two add up; a kept run past a stop token counts in both.
stats = {"steps": 0, "drafts": 0, "kept_by_target": 0, "kept_by_judge_only": 0}


def _check_version() -> None:
    import vllm

    version = vllm.__version__.split("+")[0]
    if version not in TESTED_VLLM:
        raise RuntimeError(
            f"hf_judge_vllm is tested with vLLM {', '.join(TESTED_VLLM)}, not {vllm.__version__}: "
            "install a tested version, or uninstall hf-judge-vllm"
        )


def judge_settings(vllm_config) -> dict | None:
    """``{"judge", "judge_threshold", "judge_min_ratio"}`` from the engine's ``additional_config["hf_judge"]``
    (or the ``HF_JUDGE_VLLM`` environment variable, JSON), or None when judge decoding is not asked for."""
    extra = getattr(vllm_config, "additional_config", None) or {}
    settings = extra.get("hf_judge") if isinstance(extra, dict) else None
    if settings is None and os.environ.get("HF_JUDGE_VLLM"):
        settings = json.loads(os.environ["HF_JUDGE_VLLM"])
    if settings is None:
        return None
    unknown = set(settings) - {"judge", *SETTINGS}
    if unknown or "judge" not in settings:
        raise ValueError(f"hf_judge settings {settings} must have 'judge' and at most {', '.join(SETTINGS)}")
    for name in SETTINGS:
        v = settings.get(name)
        if v is not None and not (isinstance(v, int | float) and 0.0 <= v <= 1.0):
            raise ValueError(f"{name}={v!r} must be a number in [0, 1]")
    return settings


def request_settings(request_args: list[dict], name: str, default: float) -> list[float]:
    """Each request's ``name`` (a threshold or the floor): its own (extra_args) or the engine's ``default``.
    A value outside [0, 1] would fail the whole engine here, so that request gets 1.0 (the judge keeps
    nothing: standard verification) and a logged error instead."""
    out = []
    for args in request_args:
        v = (args or {}).get(name, default)
        try:
            v = float(v)
            ok = 0.0 <= v <= 1.0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            log.error("hf_judge: %s=%r of a request is not in [0, 1]: standard verification for it", name, v)
            v = 1.0
        out.append(v)
    return out


def _stop_ids(vllm_config) -> torch.Tensor:
    ids = set()
    model_config = getattr(vllm_config, "model_config", None)
    for source in (getattr(model_config, "hf_config", None), _generation_config(model_config)):
        eos = getattr(source, "eos_token_id", None)
        ids |= set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    return torch.tensor(sorted(ids), dtype=torch.long)


def _generation_config(model_config):
    try:
        from transformers import GenerationConfig

        return GenerationConfig.from_pretrained(model_config.model)
    except Exception:  # no generation_config.json: the model config's eos is all there is
        return None


def _num_layers(vllm_config) -> int:
    return int(vllm_config.model_config.hf_text_config.num_hidden_layers)


def _capture_layer(runner) -> None:
    """After the runner loaded the target: make it give the judge's layer, when the judge reads one other than the
    last (a no-op without judge settings or for a last-layer head)."""
    settings = judge_settings(runner.vllm_config)
    if settings is None:
        return
    layer = load_head(settings["judge"]).vllm_layer(_num_layers(runner.vllm_config))
    if layer is None:
        return
    from vllm.model_executor.models.interfaces import supports_eagle3

    model = runner.model
    if getattr(runner, "use_aux_hidden_state_outputs", False):
        raise NotImplementedError(
            "hf_judge: a judge that reads an intermediate layer does not run beside EAGLE-3 (which takes the "
            "target's auxiliary hidden states itself): use speculative method 'draft_model', or a last-layer head"
        )
    if not supports_eagle3(model):
        raise ValueError(
            f"hf_judge: vLLM's {type(model).__name__} gives no intermediate hidden states (no EAGLE-3 auxiliary "
            "outputs): use a head that reads the last hidden state (hidden_layer=-1)"
        )
    model.set_aux_hidden_state_layers((layer,))
    stock = model.forward

    def forward(*args, **kwargs):
        out = stock(*args, **kwargs)
        if isinstance(out, tuple):  # (last hidden state, [the judge's layer])
            _layer_hidden["all"] = out[1][0]  # (T, H)
            return out[0]
        return out  # intermediate tensors of a pipeline stage: the last stage's runner keeps the layer

    model.forward = forward
    log.info("hf_judge: the judge reads the target's hidden_states[%d], as a vLLM auxiliary hidden state", layer)


def install() -> None:
    global _installed
    if _installed:
        return
    _check_version()
    from vllm.config import get_current_vllm_config_or_none
    from vllm.model_executor.layers.logits_processor import LogitsProcessor
    from vllm.v1.outputs import SamplerOutput
    from vllm.v1.sample.rejection_sampler import RejectionSampler
    from vllm.v1.worker.gpu_model_runner import GPUModelRunner

    runners = [GPUModelRunner]
    try:  # the CPU runner has its own load_model
        from vllm.v1.worker.cpu_model_runner import CPUModelRunner

        runners.append(CPUModelRunner)
    except ImportError:  # a build without the CPU platform
        pass

    stock_logits, stock_init, stock_forward, stock_sample = (
        LogitsProcessor.forward,
        RejectionSampler.__init__,
        RejectionSampler.forward,
        GPUModelRunner._sample,
    )

    def load_model_for(stock_load):
        def load_model(self, *args, **kwargs):
            stock_load(self, *args, **kwargs)
            _capture_layer(self)

        return load_model

    def sample(self, logits, spec_decode_metadata, *args, **kwargs):
        if spec_decode_metadata is not None:
            params = [getattr(self.requests.get(r), "sampling_params", None) for r in self.input_batch.req_ids]
            _step["request_args"] = [getattr(p, "extra_args", None) for p in params]
            _step["stops"] = [getattr(p, "all_stop_token_ids", None) for p in params]  # eos and its stop_token_ids
        return stock_sample(self, logits, spec_decode_metadata, *args, **kwargs)

    def logits_forward(self, lm_head, hidden_states, *args, **kwargs):
        _last_hidden[str(hidden_states.shape[-1])] = hidden_states  # (rows, H): target and draft by width
        return stock_logits(self, lm_head, hidden_states, *args, **kwargs)

    def init(self, *args, **kwargs):
        stock_init(self, *args, **kwargs)
        config = get_current_vllm_config_or_none()
        settings = judge_settings(config) if config is not None else judge_settings(None)
        self._hf_judge = None
        if settings is not None:
            head = load_head(settings["judge"])
            t, r = settings.get("judge_threshold"), settings.get("judge_min_ratio")
            if config is None and head.hidden_layer != -1:
                raise RuntimeError("hf_judge: no vLLM config here to place the judge's hidden_layer in the target")
            # True: the head reads an intermediate layer, which _capture_layer keeps
            layer = config is not None and head.vllm_layer(_num_layers(config)) is not None
            defaults = {
                "judge_threshold": head.threshold if t is None else float(t),
                "judge_min_ratio": head.min_ratio if r is None else float(r),
            }
            self._hf_judge = (head, defaults, _stop_ids(config), layer)
            log.info("hf_judge: judge %s at %s", settings["judge"], defaults)

    def forward(self, metadata, draft_probs, logits, sampling_metadata):
        judge = getattr(self, "_hf_judge", None)
        if judge is None:
            return stock_forward(self, metadata, draft_probs, logits, sampling_metadata)
        if not sampling_metadata.all_greedy or sampling_metadata.max_num_logprobs is not None:
            if not getattr(self, "_hf_judge_warned", False):
                log.warning(
                    "hf_judge: a batch with sampling or logprobs requests runs vLLM's own lossless verification "
                    "(the judge decides greedy batches only)"
                )
                self._hf_judge_warned = True
            return stock_forward(self, metadata, draft_probs, logits, sampling_metadata)
        head, defaults, stop_ids, reads_layer = judge
        if reads_layer:  # the judge's layer for every scheduled token: the rows vLLM computed logits for
            every = _layer_hidden.get("all")
            rows_of = metadata.logits_indices  # (rows,) the scheduled token behind each logits row
            ok = every is not None and every.shape[-1] == head.hidden_size and len(rows_of) == logits.shape[0]
            hidden = every[rows_of] if ok else None  # (rows, H)
        else:
            hidden = _last_hidden.get(str(head.hidden_size))
        if hidden is None or hidden.shape[0] != logits.shape[0]:
            raise RuntimeError(
                f"hf_judge: no target hidden states of width {head.hidden_size} (hidden_layer={head.hidden_layer}) "
                f"for these {logits.shape[0]} rows (is the head trained for this target?)"
            )
        rows = metadata.target_logits_indices  # (N,) row j predicts d_{j+1}
        # the requests' penalties, bad words, allowed token ids and min_tokens, as vLLM's own verification applies
        # them: to the rows that predict the drafts (with the drafts before each as output so far) and to the bonus
        raw = logits[rows].float()  # (N, V)
        processed = self.apply_logits_processors(raw.clone(), sampling_metadata, metadata)  # (N, V)
        argmax = processed.argmax(-1)  # (N,)
        bonus_rows = logits[metadata.bonus_logits_indices]  # (B, V)
        bonus = self.sampler(bonus_rows, sampling_metadata, predict_bonus_token=True).sampled_token_ids  # (B, 1)
        bonus = bonus[:, 0].long()  # (B,)
        allowed = processed.gather(-1, metadata.draft_token_ids[:, None].long())[:, 0].isfinite()  # (N,) not banned
        # (N,) from the hidden state at each draft token itself (and the raw logits that predict it, if the head
        # reads them: what it was trained on, as hf_judge hands it)
        scores = head.scores(hidden[rows + 1], raw, metadata.draft_token_ids)
        num_draft = metadata.num_draft_tokens
        request_args, stops = _step["request_args"], _step["stops"]
        if len(request_args) != len(num_draft):  # not noted for this step: the engine's settings for all
            request_args, stops = [None] * len(num_draft), [None] * len(num_draft)
        allowed &= ~request_stops(metadata.draft_token_ids, num_draft, stops)  # (N,) nor its request's own stops
        counts = torch.tensor(num_draft, dtype=torch.long)  # (B,)
        t, r = (
            torch.tensor(request_settings(request_args, name, defaults[name])).repeat_interleave(counts)  # (N,)
            for name in SETTINGS
        )
        ratios = None
        if bool((r > 0).any()):  # a floor: p(d) / max p of each draft token
            ratios = prob_ratio(processed, metadata.draft_token_ids)  # (N,) under the processed logits, as hf_judge
        out, n_target, n_judge = judge_greedy(
            metadata.draft_token_ids, num_draft, argmax, bonus, scores, t, stop_ids, ratios, r, allowed
        )
        stats["steps"] += len(n_target)
        stats["drafts"] += sum(metadata.num_draft_tokens)
        stats["kept_by_target"] += sum(n_target)
        stats["kept_by_judge_only"] += sum(n_judge)
        if os.environ.get("HF_JUDGE_VLLM_STATS"):  # the engine runs in another process: its totals, as a file
            with open(os.environ["HF_JUDGE_VLLM_STATS"], "w") as f:
                json.dump(stats, f)
        return SamplerOutput(sampled_token_ids=out.to(torch.int32).to(logits.device), logprobs_tensors=None)

    LogitsProcessor.forward = logits_forward
    for runner in runners:
        if "load_model" in vars(runner):  # its own (a subclass that inherits it is wrapped through its parent)
            runner.load_model = load_model_for(runner.load_model)
    GPUModelRunner._sample = sample
    RejectionSampler.__init__ = init
    RejectionSampler.forward = forward
    _installed = True
