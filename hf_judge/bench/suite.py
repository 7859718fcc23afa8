"""The benchmark suite: quality and speed of target alone, standard SD and judge decoding, in one run.

Every method runs on the same prompts in the same process; speed figures are ratios measured in
that run (warm-up excluded). Quality goes through ``evaluate`` with metric modules shipped in
hf_judge (``hf_judge/metrics``), so it works offline.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..core.errors import InputError
from ..core.scorers import scorer_from_spec
from ..core.verify import check_threshold
from ..training.data import prompt_ids
from ..training.records import append_record, read_records
from .limit import measure_costs
from .report import add_limits, add_speedups, aggregate, format_table
from .runner import RunResult, run_method
from .tasks import code_program, load_task, math_answer

__all__ = ["BenchConfig", "run_bench"]

METRICS = Path(__file__).parent / "metrics"


@dataclass
class BenchConfig:
    """What the benchmark runs."""

    tasks: list[str] = field(
        default_factory=lambda: ["gsm-style", "mt-bench"],
        metadata={"help": "tasks to run (gsm-style, math-steps, gsm8k, mmath, humaneval, mt-bench)"},
    )
    limit: int | None = field(default=5, metadata={"help": "examples per task (None: all)"})
    judge_thresholds: list[float | None] = field(
        default_factory=lambda: [None], metadata={"help": "judge thresholds (None: the head's own)"}
    )
    scorers: list[str] = field(
        default_factory=list, metadata={"help": "training-free rules run as peers, e.g. top-k:2 ratio:0.3"}
    )
    ensemble_weights: list[float] = field(
        default_factory=list, metadata={"help": "transformers' assistant_ensemble_weight values run as peers"}
    )
    num_assistant_tokens: int = field(default=8, metadata={"help": "draft tokens per step"})
    assistant_confidence_threshold: float = field(
        default=0.0, metadata={"help": "stop drafting after a token the draft is less sure of (0: never)"}
    )
    max_new_tokens: int = field(default=128, metadata={"help": "new tokens per answer"})
    seed: int = field(default=0, metadata={"help": "torch seed"})
    limit_meter: bool = field(
        default=True, metadata={"help": "measure the speedup cap at this k and report achieved / cap per method"}
    )
    allow_code_exec: bool = field(default=False, metadata={"help": "run model-written code for pass@1 (opt-in)"})
    grader_max_new_tokens: int = field(default=256, metadata={"help": "reply length of the MT-Bench grader model"})

    def __post_init__(self):
        from .tasks import TASKS

        bad = [t for t in self.tasks if t not in TASKS]
        if bad:
            raise InputError(f"unknown task(s) {bad}: choose from {sorted(TASKS)}")
        if "humaneval" in self.tasks and not self.allow_code_exec:
            raise InputError(
                "task 'humaneval' executes model-written code: opt in with allow_code_exec=True "
                "(CLI: --allow-code-exec), or drop the task"
            )
        if self.limit is not None and self.limit <= 0:
            raise InputError(f"limit={self.limit} must be positive")
        if self.num_assistant_tokens <= 0 or self.max_new_tokens <= 0:
            raise InputError(
                f"num_assistant_tokens={self.num_assistant_tokens} and max_new_tokens={self.max_new_tokens} "
                "must be positive"
            )
        for t in self.judge_thresholds:
            if t is not None:
                check_threshold(t)
        for spec in self.scorers:
            scorer_from_spec(spec)  # a bad spec fails here, before any model runs
        for w in self.ensemble_weights:
            if not 0.0 < w < 1.0:
                raise InputError(f"assistant_ensemble_weight={w} must lie in (0, 1)")

    def methods(self, judge) -> dict[str, dict]:
        """Method label -> the keyword arguments of :func:`~hf_judge.bench.runner.run_method` for it.

        The baselines, the trained ``judge`` at each threshold, each training-free scorer, and transformers'
        own lossy ``assistant_ensemble_weight`` at each weight: every method on the same prompts.
        """
        out = {"target": {"method": "target"}, "sd": {"method": "sd"}}
        for t in self.judge_thresholds:
            t = judge.threshold if t is None else t
            out[f"judge@{t:.3g}"] = {"method": "judge", "judge": judge, "judge_threshold": t}
        for spec in self.scorers:
            out[spec] = {"method": "judge", "judge": scorer_from_spec(spec)}
        for w in self.ensemble_weights:
            out[f"ensemble@{w:g}"] = {"method": "sd", "assistant_ensemble_weight": w}
        return out


def _environment(target) -> dict:
    import transformers

    dev = next(target.parameters()).device
    return {
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu ({os.cpu_count()} cores)",
        "dtype": str(next(target.parameters()).dtype),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
    }


@torch.no_grad()
def _grade(grader, examples: list[dict], texts: list[str], max_new_tokens: int) -> dict:
    """MT-Bench single-answer grading (1-10) by a grader LM ``(model, tokenizer)``."""
    from .tasks import mt_bench_judge_prompt, parse_rating

    model, tok = grader
    ratings = []
    for ex, text in zip(examples, texts, strict=True):
        system, user = mt_bench_judge_prompt(ex["prompt"], text)
        msgs = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        ids = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        out = model.generate(ids["input_ids"].to(model.device), max_new_tokens=max_new_tokens, do_sample=False)
        ratings.append(parse_rating(tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)))
    got = [r for r in ratings if r is not None]
    return {"mt_bench_score": sum(got) / len(got) if got else float("nan"), "graded": len(got)}


def _quality(task_kind: str, examples: list[dict], texts: list[str], grader=None, grader_tokens: int = 256) -> dict:
    import evaluate

    if task_kind == "chat" and grader is not None:
        return _grade(grader, examples, texts, grader_tokens)
    if task_kind == "math":
        m = evaluate.load(str(METRICS / "exact_match"))
        return m.compute(predictions=[math_answer(t) for t in texts], references=[e["answer"] for e in examples])
    if task_kind == "code":
        m = evaluate.load(str(METRICS / "code_eval"))
        old = os.environ.get("HF_ALLOW_CODE_EVAL")
        os.environ["HF_ALLOW_CODE_EVAL"] = "1"  # the caller opted in (BenchConfig.allow_code_exec)
        try:
            progs = [[code_program(e, t)] for e, t in zip(examples, texts, strict=True)]
            score, _ = m.compute(predictions=progs, references=[e["test"] for e in examples], k=[1])
        finally:
            if old is None:
                os.environ.pop("HF_ALLOW_CODE_EVAL")
            else:
                os.environ["HF_ALLOW_CODE_EVAL"] = old
        return score
    return {}


def run_bench(
    target, draft, judge, tokenizer, config: BenchConfig, out_dir: str | Path, progress: bool = True, grader=None
) -> dict:
    """Run the suite; write ``records.jsonl`` (resumable), ``results.json``, ``table.txt`` and plots.

    ``grader`` is an optional ``(model, tokenizer)`` that grades MT-Bench answers 1-10 with
    MT-Bench's own single-answer prompt; without it MT-Bench measures speed only.
    """
    from .plots import plot_histograms, plot_tradeoff

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    methods = config.methods(judge)
    rec_path = out / "records.jsonl"
    fingerprint = {
        "num_assistant_tokens": config.num_assistant_tokens,
        "assistant_confidence_threshold": config.assistant_confidence_threshold,
        "max_new_tokens": config.max_new_tokens,
        "seed": config.seed,
        "target": target.name_or_path,
        "draft": draft.name_or_path,
        "judge_threshold": judge.threshold,
        "dtype": str(next(target.parameters()).dtype),
    }
    fp_path = out / "run_config.json"
    if rec_path.exists() and fp_path.exists() and json.loads(fp_path.read_text()) != fingerprint:
        raise InputError(
            f"{out} holds a run with other settings ({fp_path.read_text().strip()}); "
            "resume only with the same settings, or pass another output folder"
        )
    fp_path.write_text(json.dumps(fingerprint))
    # resume: keep what an earlier run of the same config measured (a record cut short is dropped)
    done = {(r["task"], r["id"], r["method"]): r for r in read_records(rec_path)}
    torch.manual_seed(config.seed)
    warm = torch.tensor([prompt_ids(tokenizer, "Hello")], device=target.device)
    shared = {
        "draft": draft,
        "num_assistant_tokens": config.num_assistant_tokens,
        "assistant_confidence_threshold": config.assistant_confidence_threshold,
    }
    for kw in methods.values():  # warm-up, not measured
        run_method(target=target, input_ids=warm, max_new_tokens=4, **shared, **kw)

    results = {"environment": _environment(target), "config": asdict(config), "methods": list(methods), "tasks": {}}
    costs = None
    if config.limit_meter:  # the cap every method is measured against, on this machine, in this run
        k = config.num_assistant_tokens
        costs = measure_costs(target, draft, ks=(k,), repeats=3)
        results["limit"] = costs.as_dict()
    all_runs: dict[str, list[RunResult]] = {m: [] for m in methods}
    with open(rec_path, "a") as rec_file:
        for task in config.tasks:
            examples = load_task(task, config.limit)
            runs: dict[str, list[RunResult]] = {m: [] for m in methods}
            bar = tqdm(total=len(examples) * len(methods), desc=f"bench {task}", disable=not progress)
            for ex in examples:
                ids = torch.tensor([prompt_ids(tokenizer, ex["prompt"])], device=target.device)
                for m, kw in methods.items():
                    key = (task, ex["id"], m)
                    if key in done:
                        res = RunResult.from_dict(done[key])
                    else:
                        res = run_method(
                            target=target,
                            input_ids=ids,
                            max_new_tokens=config.max_new_tokens,
                            do_sample=False,
                            **shared,
                            **kw,
                        )
                        res.method = m  # the label, e.g. judge@0.5
                        append_record(rec_file, {"task": task, "id": ex["id"], **res.as_dict()})
                    runs[m].append(res)
                    bar.update()
            bar.close()
            kind = examples[0]["kind"] if examples else "chat"
            rows = {}
            for m in methods:
                rows[m] = aggregate(runs[m])
                texts = [tokenizer.decode(r.new_ids, skip_special_tokens=True) for r in runs[m]]
                for name, val in _quality(kind, examples, texts, grader, config.grader_max_new_tokens).items():
                    rows[m][f"quality:{name}"] = val
                all_runs[m].extend(runs[m])
            add_speedups(rows)
            if costs is not None:
                add_limits(rows, costs, config.num_assistant_tokens)
            results["tasks"][task] = rows
    results["overall"] = {m: aggregate(all_runs[m]) for m in methods}
    add_speedups(results["overall"])
    if costs is not None:
        add_limits(results["overall"], costs, config.num_assistant_tokens)
    table = "\n\n".join(f"== {task}\n{format_table(rows)}" for task, rows in results["tasks"].items())
    table += f"\n\n== all tasks\n{format_table(results['overall'])}"
    (out / "table.txt").write_text(table + "\n")
    (out / "results.json").write_text(json.dumps(results, indent=2))

    plot_histograms(
        {m: r["histogram"] for m, r in results["overall"].items() if m != "target"},
        out / "acceptance_histogram.png",
        k=config.num_assistant_tokens,
    )
    for task, rows in results["tasks"].items():
        q = next((k for k in next(iter(rows.values())) if k.startswith("quality:")), None)
        if q:
            pts = [{"label": m, "speedup": r["speedup_vs_target"], q: r[q]} for m, r in rows.items()]
            plot_tradeoff(pts, out / f"tradeoff_{task}.png", q, title=f"{task}: speed vs quality")
    results["table"] = table
    return results
