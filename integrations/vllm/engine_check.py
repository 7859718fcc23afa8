"""Runs in the vLLM environment: greedy outputs of one engine configuration, as JSON on stdout.

    python engine_check.py CONFIG.json   ->   {"token_ids": [[...], ...], "seconds": s, "tokens": n}

CONFIG: {"target", "draft" (or null: no speculation), "k", "judge" (or null), "judge_threshold",
"prompt_token_ids": [[...], ...], "max_tokens"}. Float32, eager, one engine per call.
"""

import json
import os
import sys
import time

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


def main(path: str) -> None:
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    cfg = json.loads(open(path).read())
    stats_path = path + ".judge_stats.json"
    os.environ["HF_JUDGE_VLLM_STATS"] = stats_path  # the plugin's judge-only counts, from the engine process
    kw = {}
    if cfg.get("draft"):
        kw["speculative_config"] = {"method": "draft_model", "model": cfg["draft"], "num_speculative_tokens": cfg["k"]}
    if cfg.get("judge"):
        kw["additional_config"] = {"hf_judge": {"judge": cfg["judge"], "judge_threshold": cfg.get("judge_threshold")}}
    llm = LLM(
        model=cfg["target"], dtype="float32", enforce_eager=True, max_model_len=1024, seed=0,
        disable_log_stats=False, **kw,
    )  # fmt: skip
    prompts = [TokensPrompt(prompt_token_ids=ids) for ids in cfg["prompt_token_ids"]]
    params = SamplingParams(temperature=0, max_tokens=cfg["max_tokens"])
    t0 = time.perf_counter()
    outs = llm.generate(prompts, params, use_tqdm=False)
    secs = time.perf_counter() - t0
    ids = [list(o.outputs[0].token_ids) for o in outs]
    spec = {
        m.name: m.value for m in llm.get_metrics() if m.name.startswith("vllm:spec_decode_num_") and hasattr(m, "value")
    }
    judge = json.loads(open(stats_path).read()) if os.path.exists(stats_path) else None
    result = {"token_ids": ids, "seconds": secs, "tokens": sum(map(len, ids)), "spec_decode": spec, "judge": judge}
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
