"""The benchmark suite: quality and speed of target alone, standard SD and judge decoding, in one run.

Every method runs on the same prompts in the same process; speed figures are ratios measured in
that run (warm-up excluded). Quality goes through ``evaluate`` with metric modules shipped in
hf_judge (``hf_judge/metrics``), so it works offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..core.errors import InputError
from ..core.scorers import Scorer, scorer_from_spec
from ..core.verify import check_threshold
from ..registry.packaged import weights_dtype
from ..training.card import grader_note
from ..training.data import prompt_ids
from ..training.records import append_record, read_records
from .limit import Costs, measure_costs
from .open_ended import GRADINGS, answer_nll
from .report import (
    add_limits,
    add_speedups,
    aggregate,
    at_matched_quality,
    dominance,
    family,
    format_table,
    mean,
    quality_keys,
    quality_text,
)
from .runner import RunResult, run_method
from .tasks import code_program, load_task, math_answer

__all__ = ["EARLIER_RUN", "ENGINES", "BenchConfig", "environment", "floored_spec", "head_id", "run_bench"]

METRICS = Path(__file__).parent / "metrics"
ENGINES = ("transformers", "vllm")


def floored_spec(spec: str) -> tuple[float, float]:
    """``"0.41/r0.1"`` -> (judge threshold 0.41, judge_min_ratio 0.1), each checked to lie in [0, 1]."""
    t, sep, r = spec.partition("/r")
    if not sep:
        raise InputError(f"floored judge {spec!r}: write it as 'T/rR', e.g. '0.41/r0.1'")
    try:
        t, r = float(t), float(r)
    except ValueError:
        raise InputError(f"floored judge {spec!r}: T and R must be numbers, as in '0.41/r0.1'") from None
    return check_threshold(t), check_threshold(r, "judge_min_ratio")


@dataclass
class BenchConfig:
    """What the benchmark runs."""

    tasks: list[str] = field(
        default_factory=lambda: ["gsm-style", "mt-bench"],
        metadata={"help": "tasks to run (gsm-style, math-steps, gsm8k, mmath, humaneval, programs, mt-bench)"},
    )
    limit: int | None = field(default=5, metadata={"help": "examples per task (None: all)"})
    skip: int = field(default=0, metadata={"help": "examples to pass over first in each task (a held-out slice)"})
    judge_thresholds: list[float | None] = field(
        default_factory=lambda: [None],
        metadata={"help": "judge thresholds, unfloored (None: the head's own point, its floor included)"},
    )
    floored_judges: list[str] = field(
        default_factory=list,
        metadata={
            "help": "judge points with a plausibility floor, 'T/rR': threshold T, and the judge keeps no draft "
            "token whose target probability ratio p(d) / max p is at most R (judge_min_ratio)"
        },
    )
    scorers: list[str] = field(
        default_factory=list, metadata={"help": "training-free rules run as peers, e.g. top-k:2 ratio:0.3"}
    )
    ensemble_weights: list[float] = field(
        default_factory=list, metadata={"help": "transformers' assistant_ensemble_weight values run as peers"}
    )
    num_assistant_tokens: list[int] = field(
        default_factory=lambda: [8], metadata={"help": "draft tokens per step (an int, or several: each a point)"}
    )
    assistant_confidence_threshold: float = field(
        default=0.0, metadata={"help": "stop drafting after a token the draft is less sure of (0: never)"}
    )
    max_new_tokens: int = field(default=128, metadata={"help": "new tokens per answer"})
    seed: int = field(default=0, metadata={"help": "torch seed"})
    limit_meter: bool = field(
        default=True, metadata={"help": "measure the speedup cap at this k and report achieved / cap per method"}
    )
    allow_code_exec: bool = field(default=False, metadata={"help": "run model-written code for pass@1 (opt-in)"})
    engines: list[str] = field(
        default_factory=lambda: ["transformers"],
        metadata={"help": "engines: transformers, and vllm (target, SD and the judge in vLLM, rows 'vllm:...')"},
    )

    def __post_init__(self):
        from .tasks import CODE_TASKS, TASKS

        if isinstance(self.num_assistant_tokens, int):
            self.num_assistant_tokens = [self.num_assistant_tokens]
        if any(e not in ENGINES for e in self.engines) or "transformers" not in self.engines:
            raise InputError(
                f"engines={self.engines}: choose from {list(ENGINES)}, transformers included "
                "(vLLM's rows are reported beside the transformers path)"
            )

        bad = [t for t in self.tasks if t not in TASKS]
        if bad:
            raise InputError(f"unknown task(s) {bad}: choose from {sorted(TASKS)}")
        runs_code = [t for t in self.tasks if t in CODE_TASKS]
        if runs_code and not self.allow_code_exec:
            raise InputError(
                f"task(s) {runs_code} execute model-written code: opt in with allow_code_exec=True "
                "(CLI: --allow-code-exec), or drop them"
            )
        if self.limit is not None and self.limit <= 0:
            raise InputError(f"limit={self.limit} must be positive")
        if self.skip < 0:
            raise InputError(f"skip={self.skip} must be at least 0")
        if not self.num_assistant_tokens or min(self.num_assistant_tokens) <= 0 or self.max_new_tokens <= 0:
            raise InputError(
                f"num_assistant_tokens={self.num_assistant_tokens} and max_new_tokens={self.max_new_tokens} "
                "must be positive"
            )
        for t in self.judge_thresholds:
            if t is not None:
                check_threshold(t)
        for spec in self.floored_judges:
            floored_spec(spec)  # a bad spec fails here, before any model runs
        for spec in self.scorers:
            scorer_from_spec(spec)
        for w in self.ensemble_weights:
            if not 0.0 < w < 1.0:
                raise InputError(f"assistant_ensemble_weight={w} must lie in (0, 1)")

    def examples(self, graded: bool = False) -> dict[str, list]:
        """Each task's examples of the run, ``skip`` to ``skip + limit`` (a slice past a task's end is an error);
        ``graded``: a grader is given, which only open-ended answers use (an error where no task has any)."""
        examples = {task: load_task(task, self.limit, self.skip) for task in self.tasks}
        if graded and not any(ex["kind"] == "chat" for exs in examples.values() for ex in exs):
            raise InputError(
                f"a grader grades open-ended answers (mt-bench), and tasks={self.tasks} have none: leave it out"
            )
        return examples

    def methods(self, judge) -> dict[str, dict]:
        """Method label -> the keyword arguments of :func:`~hf_judge.bench.runner.run_method` for it.

        The baselines, the trained ``judge`` at each threshold, each training-free scorer, and transformers'
        own lossy ``assistant_ensemble_weight`` at each weight: every method on the same prompts, and every
        speculative one at each draft length (labels end in ``/kN`` when there are several).
        """
        points = {}  # the trained judge's points: label -> its knobs, the same in every engine
        for t in self.judge_thresholds:  # no floor, unless the point is the head's own (None) and it has one
            t, r = (judge.threshold, getattr(judge, "min_ratio", 0.0)) if t is None else (t, 0.0)
            points[f"judge@{t:.3g}/r{r:g}" if r else f"judge@{t:.3g}"] = {"judge_threshold": t, "judge_min_ratio": r}
        for spec in self.floored_judges:
            t, r = floored_spec(spec)
            points[f"judge@{t:.3g}/r{r:g}"] = {"judge_threshold": t, "judge_min_ratio": r}
        out = {"target": {"method": "target"}}
        for k in self.num_assistant_tokens:
            tag = f"/k{k}" if len(self.num_assistant_tokens) > 1 else ""
            at_k = {"num_assistant_tokens": k}
            out[f"sd{tag}"] = {"method": "sd", **at_k}
            for label, knobs in points.items():
                out[f"{label}{tag}"] = {"method": "judge", "judge": judge, **knobs, **at_k}
            for spec in self.scorers:
                out[f"{spec}{tag}"] = {"method": "judge", "judge": scorer_from_spec(spec), **at_k}
            for w in self.ensemble_weights:
                out[f"ensemble@{w:g}{tag}"] = {"method": "sd", "assistant_ensemble_weight": w, **at_k}
        if "vllm" in self.engines:  # the plugin runs the trained head; the training-free peers are not in it
            out["vllm:target"] = {"engine": "vllm", "method": "target"}
            for k in self.num_assistant_tokens:
                tag = f"/k{k}" if len(self.num_assistant_tokens) > 1 else ""
                at_k = {"num_assistant_tokens": k}
                out[f"vllm:sd{tag}"] = {"engine": "vllm", "method": "sd", **at_k}
                for label, knobs in points.items():
                    out[f"vllm:{label}{tag}"] = {"engine": "vllm", "method": "judge", **knobs, **at_k}
        return out


def head_id(judge) -> str:
    """A digest of the trained head's weights: records of judge points name the head that made them."""
    digest = hashlib.sha256()
    for name, t in sorted(judge.state_dict().items()):
        digest.update(name.encode() + t.detach().cpu().float().numpy().tobytes())
    return digest.hexdigest()[:16]


def environment(target) -> dict:
    """Where a measurement ran: device, dtype, library versions, threads."""
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


def _quality(task_kind: str, examples: list[dict], texts: list[str]) -> dict[str, list[float]]:
    """Checked quality, per item: exact match of the final number (math), pass@1 of the unit tests (code)."""
    import evaluate

    if task_kind == "math":
        m = evaluate.load(str(METRICS / "exact_match"))
        preds = [math_answer(t) for t in texts]
        return {"exact_match": m.compute(predictions=preds, references=[e["answer"] for e in examples])["hits"]}
    if task_kind == "code":
        m = evaluate.load(str(METRICS / "code_eval"))
        old = os.environ.get("HF_ALLOW_CODE_EVAL")
        os.environ["HF_ALLOW_CODE_EVAL"] = "1"  # the caller opted in (BenchConfig.allow_code_exec)
        try:
            progs = [[code_program(e, t)] for e, t in zip(examples, texts, strict=True)]
            _, passed = m.compute(predictions=progs, references=[e["test"] for e in examples], k=[1])
        finally:
            if old is None:
                os.environ.pop("HF_ALLOW_CODE_EVAL")
            else:
                os.environ["HF_ALLOW_CODE_EVAL"] = old
        return {"pass@1": [float(p[0]) for p in passed]}  # one program per problem: pass@1 is its mean
    return {}


def _open_ended(target, tokenizer, examples, runs, texts, grader, nll_memo: dict, nll_path: Path) -> dict:
    """Each method's open-ended quality against the target's own answers (``texts``: each method's decoded
    answers), per prompt: the target's NLL per token of the answer, and (with a grader) its figures (win rate
    + half ties, and a rating grader's rating). ``nll_memo`` holds the NLLs known (by prompt and answer); each
    new one is also appended to ``nll_path`` (what a rerun reads)."""
    rows: dict[str, dict] = {}
    for m, rs in runs.items():
        nlls = []
        for ex, r in zip(examples, rs, strict=True):
            key = hashlib.sha256(json.dumps([ex["id"], r.new_ids]).encode()).hexdigest()[:24]
            if key not in nll_memo:
                nll_memo[key] = answer_nll(target, prompt_ids(tokenizer, ex["prompt"]), r.new_ids)
                with open(nll_path, "a") as f:
                    append_record(f, {"key": key, "nll": nll_memo[key]})
            nlls.append(nll_memo[key])
        rows[m] = {"nll": nlls}
        if grader is not None:
            rows[m] |= grader.grade(
                [e["prompt"] for e in examples], texts[m], texts["target"], [e.get("reference") for e in examples]
            )
    return rows


def _record(rec_file, task: str, example_id, res: RunResult, kw: dict, head: str, run: str) -> dict:
    """Append one measured run to the records file (what a rerun resumes from); the record, stamped with
    the ``run`` that measured it (tokens/s compare only within a run)."""
    rec = {"task": task, "id": example_id, "run": run, **res.as_dict()}
    if "num_assistant_tokens" in kw:
        rec["k"] = kw["num_assistant_tokens"]
    if family(res.method).endswith("judge"):
        rec["judge_id"] = head
    append_record(rec_file, rec)
    return rec


def _dtype_name(model) -> str:
    """``float32``, ``bfloat16``...: the model's dtype as vLLM names it."""
    return str(next(model.parameters()).dtype).removeprefix("torch.")


def _run_vllm(label: str, kw: dict, examples: list[dict], target, draft, judge, tokenizer, config):
    """One vLLM engine for method ``label`` over ``examples``, one prompt at a time; a RunResult per example."""
    import tempfile

    from .vllm_engine import run_engine, run_results

    for role, model in (("target", target), ("draft", draft)):
        if not model.name_or_path:
            raise InputError(f"the {role} has no name_or_path: vLLM loads models from a folder or a Hub id")
    k = kw.get("num_assistant_tokens")
    cfg = {
        "target": target.name_or_path,
        "draft": draft.name_or_path if kw["method"] != "target" else None,
        "k": k,
        "judge": None,
        "prompt_token_ids": [prompt_ids(tokenizer, ex["prompt"]) for ex in examples],
        "max_tokens": config.max_new_tokens,
        "sequential": True,
        "dtype": _dtype_name(target),  # the transformers path's
    }
    # one prompt at a time: a KV cache for the longest prompt and its answer is all it needs; the bench
    # process holds the same pair meanwhile, so the engine asks for little memory
    cfg["max_model_len"] = max(map(len, cfg["prompt_token_ids"])) + config.max_new_tokens + (k or 0) + 8
    with tempfile.TemporaryDirectory() as tmp:
        if kw["method"] == "judge":  # the plugin reads a head folder
            judge.save_pretrained(Path(tmp) / "head")
            cfg.update(
                judge=str(Path(tmp) / "head"),
                judge_threshold=kw["judge_threshold"],
                judge_min_ratio=kw["judge_min_ratio"],
            )
        result = run_engine(cfg, tmp, "engine", kv_cache_gib=0.25)
        runs = run_results(label, result, k if kw["method"] != "target" else None)
    return runs


def _rows(runs: dict[str, list[RunResult]], methods: dict[str, dict]) -> dict[str, dict]:
    """One aggregated row per method, with the draft length ``k`` of each speculative one."""
    rows = {m: aggregate(runs[m]) for m in methods}
    for m, kw in methods.items():
        if "num_assistant_tokens" in kw:
            rows[m]["k"] = kw["num_assistant_tokens"]
    return rows


EARLIER_RUN = "earlier"  # the run of every record from before runs were stamped: one run before all others


def _run_of(record: dict) -> str:
    """The stamp of the run that measured ``record`` (:data:`EARLIER_RUN` for one from before stamps)."""
    return record.get("run", EARLIER_RUN)


def _stored_limit(out: Path, ks) -> dict | None:
    """The limit meter a finished run in ``out`` wrote to its ``results.json``, or None (none there, or
    not at every draft length in ``ks``)."""
    path = out / "results.json"
    stored = json.loads(path.read_text()).get("limit") if path.exists() else None
    if stored is None or not {str(k + 1) for k in ks} <= set(stored["target_ms"]):
        return None
    return stored


def run_bench(
    target,
    draft,
    judge,
    tokenizer,
    config: BenchConfig,
    out_dir: str | Path,
    progress: bool = True,
    grader=None,
    grading: str = "pairwise",
    command: str | None = None,
) -> dict:
    """Run the suite; write ``records.jsonl`` (resumable), ``results.json``, ``table.txt`` and plots.

    Open-ended prompts (MT-Bench) are measured against the target's own answers: the target's NLL per
    token always, and with ``grader``, a ``(model, tokenizer)``, the ``grading`` it gives: "pairwise" (the
    win rate, both orders; verdicts kept in ``grades.jsonl``) or "rating" (each answer rated 1-10 alone: the
    mean rating and the win rate; ratings kept in ``ratings.jsonl``); see :mod:`hf_judge.bench.open_ended`. Every task's
    rows also go into a frontier plot: quality against tokens per target forward, one curve per method.
    ``command``, the command line that ran it, is recorded in ``results.json``. A rerun with nothing left to
    measure (to rewrite the report from the records) keeps the limit meter of the run the folder's
    ``results.json`` names, not one of the machine as it is loaded now.
    """
    from .plots import plot_frontier, plot_histograms

    if isinstance(judge, Scorer):  # its rows would carry the trained head's name, and be compared as its rival
        raise InputError(
            f"judge={judge!r} is a training-free rule: the bench's judge@ rows measure a trained head; "
            "bench a rule as one of the scorers (BenchConfig.scorers, CLI: --scorers)"
        )
    examples_of = config.examples(graded=grader is not None)
    for task, exs in examples_of.items() if progress else ():
        if len(exs) < config.limit:  # the task ends before skip + limit
            end = config.skip + len(exs)
            print(f"bench: {task}: {config.skip} to {end}, {len(exs)} examples, not {config.limit}: the task has {end}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    methods = config.methods(judge)
    rec_path = out / "records.jsonl"
    fingerprint = {  # what every record depends on; the methods and knobs are in each record's label
        "assistant_confidence_threshold": config.assistant_confidence_threshold,
        "max_new_tokens": config.max_new_tokens,
        "seed": config.seed,
        "target": target.name_or_path,
        "draft": draft.name_or_path,
        "dtype": str(next(target.parameters()).dtype),
        "draft_dtype": weights_dtype(draft),  # qint8: the int8 draft (--draft-quant), which drafts other tokens
    }
    fp_path = out / "run_config.json"
    held = json.loads(fp_path.read_text()) if rec_path.exists() and fp_path.exists() else None
    if held is not None:  # a folder from before a setting was recorded is checked on those it has, and kept so
        differ = {k: (held[k], fingerprint.get(k)) for k in held if held[k] != fingerprint.get(k)}
        if differ:
            said = ", ".join(f"{k}={was!r} there, {now!r} now" for k, (was, now) in differ.items())
            raise InputError(
                f"{out} holds a run with other settings ({said}); resume only with the same settings, or pass "
                "another output folder"
            )
        fingerprint = held
    fp_path.write_text(json.dumps(fingerprint))
    # resume: keep what an earlier run measured (a record cut short is dropped)
    done = {(r["task"], r["id"], r["method"]): r for r in read_records(rec_path)}
    head = head_id(judge)  # the trained head's points are redone for another head; the rest are kept
    stale = [
        key
        for key, r in done.items()
        if key[2] in methods and family(r["method"]).endswith("judge") and r.get("judge_id") != head
    ]  # the points asked for again; another head's points at other labels stay in the file, unread
    if stale and progress:
        print(f"bench: {len(stale)} records of another judge head in {rec_path}: measuring them again")
    for key in stale:
        del done[key]
    for (_, _, m), r in done.items():
        k = methods.get(m, {}).get("num_assistant_tokens")
        if k is not None and r.get("k") != k:
            raise InputError(
                f"{rec_path}: method {m!r} was measured at num_assistant_tokens={r.get('k')}, not {k}: "
                "pass another output folder"
            )
    if grading not in GRADINGS:
        raise InputError(f"grading={grading!r}: pick one of {sorted(GRADINGS)}")
    grader_cls = GRADINGS[grading]
    grader = grader_cls(*grader, cache=out / grader_cls.cache_name) if grader is not None else None
    torch.manual_seed(config.seed)
    todo_any = any((t, ex["id"], m) not in done for t, exs in examples_of.items() for ex in exs for m in methods)
    warm = torch.tensor([prompt_ids(tokenizer, "Hello")], device=target.device)
    shared = {"draft": draft, "assistant_confidence_threshold": config.assistant_confidence_threshold}
    local = {m: kw for m, kw in methods.items() if kw.get("engine") != "vllm"}  # vLLM's run in their engine
    for kw in local.values() if todo_any else ():  # warm-up, not measured
        run_method(target=target, input_ids=warm, max_new_tokens=4, **shared, **kw)

    results = {"command": command, "environment": environment(target), "config": asdict(config)}
    if "vllm" in config.engines:
        from .vllm_engine import VLLM_PINS

        results["environment"]["vllm"] = f"{VLLM_PINS[1]}, {_dtype_name(target)}, eager, one prompt at a time"
    results.update(methods=list(methods), tasks={})
    run = datetime.now(UTC).isoformat(timespec="microseconds")  # this run's stamp on its records
    costs, metered = None, run  # the meter, and the run it timed the machine in
    if config.limit_meter:  # the cap every method is measured against, on this machine, in the rows' run
        stored = _stored_limit(out, config.num_assistant_tokens) if not todo_any else None
        if stored is not None:  # a run that times nothing keeps the meter of the run that timed the rows
            costs = Costs.from_dict(stored)
            stamps = (r["run"] for r in done.values() if "run" in r)  # ISO times sort; EARLIER_RUN would not
            metered = stored.get("run") or max(stamps, default=EARLIER_RUN)
        else:
            costs = measure_costs(target, draft, ks=tuple(config.num_assistant_tokens), repeats=3)
        results["limit"] = costs.as_dict() | {"run": metered}
    all_runs: dict[str, list[RunResult]] = {m: [] for m in methods}
    n_items: dict[str, int] = {}
    nll_memo = {r["key"]: r["nll"] for r in read_records(out / "nll.jsonl")}  # the target's NLLs of answers
    measured_in: dict[str, set[str]] = {}  # run -> the methods with records from it
    timed_now = set(methods)  # the methods with every record from the meter's run
    with open(rec_path, "a") as rec_file:
        for task in config.tasks:
            examples = examples_of[task]
            runs: dict[str, list[RunResult]] = {m: [] for m in methods}
            bar = tqdm(total=len(examples) * len(methods), desc=f"bench {task}", disable=not progress)
            for ex in examples:
                ids = torch.tensor([prompt_ids(tokenizer, ex["prompt"])], device=target.device)
                for m, kw in local.items():
                    key = (task, ex["id"], m)
                    if key not in done:
                        res = run_method(
                            target=target,
                            input_ids=ids,
                            max_new_tokens=config.max_new_tokens,
                            do_sample=False,
                            **shared,
                            **kw,
                        )
                        res.method = m  # the label, e.g. judge@0.5
                        done[key] = _record(rec_file, task, ex["id"], res, kw, head, run)
                    bar.update()
            for m, kw in methods.items():
                if m in local:
                    continue
                todo = [ex for ex in examples if (task, ex["id"], m) not in done]
                if todo:
                    vllm_runs = _run_vllm(m, kw, todo, target, draft, judge, tokenizer, config)
                    for ex, res in zip(todo, vllm_runs, strict=True):
                        done[(task, ex["id"], m)] = _record(rec_file, task, ex["id"], res, kw, head, run)
                bar.update(len(examples))
            for m in methods:
                runs[m] = [RunResult.from_dict(done[(task, ex["id"], m)]) for ex in examples]
                for ex in examples:
                    measured_in.setdefault(_run_of(done[(task, ex["id"], m)]), set()).add(m)
            fresh = {m for m in methods if all(_run_of(done[(task, ex["id"], m)]) == metered for ex in examples)}
            timed_now &= fresh
            bar.close()
            kind = examples[0]["kind"] if examples else "chat"
            texts = {m: [tokenizer.decode(r.new_ids, skip_special_tokens=True) for r in rs] for m, rs in runs.items()}
            chat = {}
            if kind == "chat":
                chat = _open_ended(target, tokenizer, examples, runs, texts, grader, nll_memo, out / "nll.jsonl")
            rows = _rows(runs, methods)
            for m in methods:
                figures = _quality(kind, examples, texts[m]) | chat.get(m, {})  # name -> one figure per prompt
                per_item = {f"quality:{name}": v for name, v in figures.items()}  # kept for the intervals
                rows[m] |= {q: mean(v) for q, v in per_item.items()} | {"per_item": per_item}
                all_runs[m].extend(runs[m])
            add_speedups(rows)
            if costs is not None:
                add_limits(rows, costs, timed_with=fresh)
            results["tasks"][task] = rows
            n_items[task] = len(examples)
    results["runs"] = {r: sorted(ms) for r, ms in sorted(measured_in.items())}
    results["overall"] = _rows(all_runs, methods)
    add_speedups(results["overall"])
    if costs is not None:
        add_limits(results["overall"], costs, timed_with=timed_now)
    blind = False  # a grader without signal (one that always says A) decides no verdict below
    if grader is not None:
        results["grader"] = grader.report()
        blind = "no_signal" in results["grader"]

    def judged(rows: dict[str, dict]) -> list[str]:
        return [q for q in quality_keys(rows) if not (blind and q in ("quality:win_rate", "quality:rating"))]

    tasks = results["tasks"]  # for every quality figure: which judge point matches each lossy peer
    results["frontier"] = {task: {q: dominance(rows, q) for q in judged(rows)} for task, rows in tasks.items()}
    # issue 12's bar: the fastest judge point within one item of the target alone (or a 0.45 win rate)
    results["matched"] = {
        task: {q: t for q in judged(rows) if (t := at_matched_quality(rows, q, n_items[task])) is not None}
        for task, rows in tasks.items()
    }
    table = "\n\n".join(f"== {task}\n{format_table(rows)}" for task, rows in results["tasks"].items())
    table += f"\n\n== all tasks\n{format_table(results['overall'])}"
    for task, rows in results["tasks"].items():
        qs = quality_keys(rows)
        if not qs:
            continue
        n, base = n_items[task], rows.get("target")
        table += (
            f"\n\n== {task}: each quality figure, and its difference from the target alone with the 95% interval "
            f"of that difference (bootstrap over the {n} prompts, paired prompt by prompt)\n"
        )
        table += "\n".join(
            f"{m:<22}" + "   ".join(f"{q[8:]} {quality_text(r, q, base)}" for q in qs) for m, r in rows.items()
        )
    for task, by_q in results["frontier"].items():
        for q, verdicts in by_q.items():
            table += f"\n\n== {task}, {q[8:]}: is every lossy peer matched by a judge point (and its tokens/forward)?\n"
            table += "\n".join(f"{peer:<22}{v}" for peer, v in verdicts.items())
    for task, by_q in results["matched"].items():
        for q, text in by_q.items():
            table += f"\n\n== {task}, {q[8:]}: the fastest judge point at matched quality\n{text}"
    if "grader" in results:
        table += f"\n\n{grader_note(results['grader'])}"
    (out / "table.txt").write_text(table + "\n")
    (out / "results.json").write_text(json.dumps(results, indent=2))

    plot_histograms(
        {m: r["histogram"] for m, r in results["overall"].items() if r["histogram"] and family(m) != "target"},
        out / "acceptance_histogram.png",
        k=max(config.num_assistant_tokens),
    )
    for task, rows in results["tasks"].items():
        q = next(iter(judged(rows)), None)  # a blind grader's win rate is not what the plot shows
        if q:
            plot_frontier(rows, q, out / f"frontier_{task}.png", title=f"{task}: quality vs tokens per target forward")
    results["table"] = table
    return results
