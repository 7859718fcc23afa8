"""Runs in the vLLM environment: greedy outputs of one engine configuration, as JSON on stdout.

    python -m hf_judge_vllm.worker CONFIG.json   ->   a line "RESULT {...}"

CONFIG: {"target", "draft" (or null: no speculation), "k", "judge" (a head folder, or null),
"judge_threshold", optional "judge_min_ratio", "prompt_token_ids": [[...], ...], "max_tokens", optional
"sequential" and "request_args" (per prompt: its own settings such as {"judge_threshold": 0.9}, sent as
SamplingParams.extra_args, or null), optional "sampling" (more SamplingParams for every prompt, greedy kept:
{"repetition_penalty": 1.3, "bad_words": [...], "min_tokens": 8}),
"max_model_len" (default 2048), "kv_cache_memory_bytes" (default: vLLM's, VLLM_CPU_KVCACHE_SPACE) and
"dtype" (default float32)}. Eager, one engine per call. The result has the token ids per prompt, the wall time, vLLM's
spec-decode counters and the plugin's judge counts; with ``"sequential": true`` the prompts run one at
a time (batch size 1, as hf_judge's generate) and the result also has them per prompt, in "per_prompt".
"""

import json
import os
import sys
import time


def _counters(llm, stats_path: str) -> dict:
    """vLLM's spec-decode counters and the plugin's judge counts so far (both cumulative)."""
    out = {
        m.name: m.value for m in llm.get_metrics() if m.name.startswith("vllm:spec_decode_num_") and hasattr(m, "value")
    }
    if os.path.exists(stats_path):
        with open(stats_path) as f:
            out.update({f"judge:{k}": v for k, v in json.load(f).items()})
    return out


def _minus(after: dict, before: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items()}


def main(path: str) -> None:
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    with open(path) as f:
        cfg = json.load(f)
    stats_path = path + ".judge_stats.json"
    os.environ["HF_JUDGE_VLLM_STATS"] = stats_path  # the plugin's judge-only counts, from the engine process
    kw = {}
    if cfg.get("kv_cache_memory_bytes"):
        kw["kv_cache_memory_bytes"] = cfg["kv_cache_memory_bytes"]
        os.environ.pop("VLLM_CPU_KVCACHE_SPACE", None)  # vLLM's CPU platform would take it over the above
    else:
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    if cfg.get("draft"):
        kw["speculative_config"] = {"method": "draft_model", "model": cfg["draft"], "num_speculative_tokens": cfg["k"]}
    if cfg.get("judge"):
        from hf_judge_vllm._vllm import SETTINGS

        settings = {name: cfg.get(name) for name in SETTINGS}
        kw["additional_config"] = {"hf_judge": {"judge": cfg["judge"], **settings}}
    llm = LLM(
        model=cfg["target"], dtype=cfg.get("dtype", "float32"), enforce_eager=True,
        max_model_len=cfg.get("max_model_len", 2048), seed=0, disable_log_stats=False, **kw,
    )  # fmt: skip
    prompts = [TokensPrompt(prompt_token_ids=ids) for ids in cfg["prompt_token_ids"]]
    own = cfg.get("request_args") or [None] * len(prompts)
    more = cfg.get("sampling") or {}
    params = [SamplingParams(temperature=0, max_tokens=cfg["max_tokens"], extra_args=args, **more) for args in own]
    llm.generate(prompts[:1], SamplingParams(temperature=0, max_tokens=4), use_tqdm=False)  # warm-up
    start = _counters(llm, stats_path)
    result = {"per_prompt": []}
    t0 = time.perf_counter()
    if cfg.get("sequential"):
        ids = []
        for p, sp in zip(prompts, params, strict=True):
            before, t = _counters(llm, stats_path), time.perf_counter()
            out = list(llm.generate([p], sp, use_tqdm=False)[0].outputs[0].token_ids)
            secs = time.perf_counter() - t
            ids.append(out)
            result["per_prompt"].append({"seconds": secs, "counters": _minus(_counters(llm, stats_path), before)})
    else:
        ids = [list(o.outputs[0].token_ids) for o in llm.generate(prompts, params, use_tqdm=False)]
    secs = time.perf_counter() - t0
    counters = _minus(_counters(llm, stats_path), start)
    spec = {k: v for k, v in counters.items() if k.startswith("vllm:")}
    judge = {k[6:]: v for k, v in counters.items() if k.startswith("judge:")} or None
    result.update(token_ids=ids, seconds=secs, tokens=sum(map(len, ids)), spec_decode=spec, judge=judge)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
