"""Where the lossy methods of ``hf-judge bench`` runs lose answers the target alone gets right.

For each bench folder, task and lossy method: the prompts whose quality differs from the target alone's
(lost: the target right and the method wrong; gained: the reverse), and for each the first token where the
method's answer leaves the target's (every answer is greedy, so the two agree up to there) with a few tokens
of both. A lost answer that leaves the target's within its first ``--opening`` tokens took another opening
(on code: another first line of the block), not another step later on. With ``--data``, the labelled
draft/target disagreements of judge data shards are counted the same way: at the answer's opening or later,
acceptable or an error. With ``--heads``, the target's probability ratio p(d) / max p of the method's token
where the answers part, and each head's score of it (the target run once per parting, as features are
extracted for training). With ``--continue``, the target goes on greedily from each parting (the shared answer
and the method's one token there, through lossless speculative decoding with the draft, to the run's token
budget) and its answer is scored: a lost answer the target also gets wrong from there was lost at the parting
itself (often a harmless rewording after which the target's own answer goes wrong), one it gets right was lost
to the method's later tokens; a gained answer the target also gets right from there was gained at the parting::

    python benchmarks/lost_answers.py --bench benchmarks/results/frontier_humaneval_heldout_layer18_v2_cpu \\
        benchmarks/results/frontier_humaneval_heldout_layer18_v5_cpu --data data/judge/programs/seed-1 \\
        --heads benchmarks/results/judge_training_layer18_v5_cpu --out benchmarks/results/lost_answers_cpu.json
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from pathlib import Path

from hf_judge.bench.tasks import load_task
from hf_judge.registry.packaged import DEFAULT_TARGET, load_tokenizer
from hf_judge.training.data import load_dataset_dir, prompt_ids
from hf_judge.training.records import read_records

SHOWN = 6  # tokens of each answer shown from where they part


def parted_at(a: list[int], b: list[int]) -> int:
    """The first index where two token lists differ (the shorter one's length if one begins the other)."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def lost_answers(folder: Path, tokenizer, opening: int) -> dict:
    """Per task and lossy method of one bench folder: its lost and gained prompts, each with where it parts from
    the target's answer, and how many lost answers part within the first ``opening`` tokens."""
    res = json.loads((folder / "results.json").read_text())
    cfg = res["config"]
    records = {(r["task"], r["id"], r["method"]): r for r in read_records(folder / "records.jsonl")}
    out = {}
    for task, rows in res["tasks"].items():
        examples = load_task(task, cfg["limit"], cfg.get("skip", 0))
        prompts = {ex["id"]: prompt_ids(tokenizer, ex["prompt"]) for ex in examples}  # as the bench prompts
        q = next(k for k in rows["target"] if k.startswith("quality:"))
        if q == "quality:nll":
            continue  # no answer is right or wrong by the NLL alone
        base = rows["target"]["per_item"][q]
        methods = {}
        for m, row in rows.items():
            if m in ("target", "sd"):
                continue
            changed = []
            for ex, t, v in zip(examples, base, row["per_item"][q], strict=True):
                if t == v:
                    continue
                ex_id = ex["id"]
                a, b = records[(task, ex_id, "target")]["new_ids"], records[(task, ex_id, m)]["new_ids"]
                k = parted_at(a, b)
                changed.append(
                    {
                        # up to the method's token where they part (scored, then dropped); none where it just stopped
                        "row": prompts[ex_id] + a[:k] + b[k : k + 1] if k < len(b) else None,
                        "_go_on": (ex, len(prompts[ex_id]), cfg["max_new_tokens"]),
                        "id": ex_id,
                        "lost": t > v,
                        "parted_at": k,
                        "before": tokenizer.decode(a[max(0, k - SHOWN) : k]),
                        "target": tokenizer.decode(a[k : k + SHOWN]),
                        "method": tokenizer.decode(b[k : k + SHOWN]),
                    }
                )
            lost = [c for c in changed if c["lost"]]
            methods[m] = {
                "lost": len(lost),
                "gained": len(changed) - len(lost),
                "lost_at_opening": sum(c["parted_at"] < opening for c in lost),
                "answers": changed,
            }
        out[task] = {"quality": q[8:], "prompts": len(examples), "methods": methods}
    return {"command": res["command"], "tasks": out}


def score_partings(answers: list[dict], target_name: str, head_dirs: list[str]) -> None:
    """Add to each answer (with its ``row``: the tokens up to the method's token where it parts from the
    target's) the target's probability ratio of that token and each head's score of it."""
    from datasets import Dataset

    from hf_judge.core.modeling_judge import JudgeHead
    from hf_judge.registry.packaged import load_model
    from hf_judge.training.features import extract
    from hf_judge.training.trainer import head_proba

    scored = [a for a in answers if a["row"] is not None]  # (not where the method's answer just stopped)
    rows = [{"input_ids": a["row"], "positions": [len(a["row"]) - 1], "labels": [1]} for a in scored]
    if not rows:
        return
    target = load_model(target_name).float()
    features = {}  # layer -> the features there (heads reading one layer share one extraction)
    for path in head_dirs:
        head = JudgeHead.from_pretrained(path).float().eval()
        layer = head.config.hidden_layer
        if layer not in features:
            features[layer] = extract(target, Dataset.from_list(rows), progress=True, layer=layer)
        f = features[layer]
        p = head_proba(head, f.X, f.F)  # (N,)
        for a, v, log_ratio in zip(scored, p.tolist(), f.F[:, 0].tolist(), strict=True):
            a["ratio"] = round(math.exp(log_ratio), 4)  # the first logit feature: log(p(d) / max p)
            a.setdefault("scores", {})[Path(path).name] = round(v, 4)


def continue_partings(methods: list[dict], target, draft, tokenizer, k: int = 16) -> None:
    """For each changed answer of each method (``lost_answers``'s per-method dicts), the target's own greedy
    answer from where the method parted, scored: ``target_after_parting`` (1 right, 0 wrong), and per method
    ``lost_at_parting`` (lost answers the target also gets wrong from there) and ``gained_at_parting``."""
    import torch

    from hf_judge.bench.runner import run_method
    from hf_judge.bench.suite import _quality

    todo = [a for x in methods for a in x["answers"] if a["row"] is not None]
    memo = {}  # a parting two methods (or two runs sharing records) both took: the target goes on from it once
    for i, a in enumerate(todo):
        example, start, budget = a["_go_on"]
        key = (a["id"], tuple(a["row"]), budget)
        if key in memo:
            a["target_after_parting"] = memo[key]
            continue
        row = torch.tensor([a["row"]])  # (1, T): the prompt, the shared answer and the method's token
        left = budget - (len(a["row"]) - start)  # what the run's token budget leaves
        sd = run_method("sd", target, row, draft=draft, num_assistant_tokens=k, max_new_tokens=left, do_sample=False)
        text = tokenizer.decode(a["row"][start:] + sd.new_ids, skip_special_tokens=True)
        a["target_after_parting"] = memo[key] = next(iter(_quality(example["kind"], [example], [text]).values()))[0]
        print(
            f"  {i + 1}/{len(todo)} {a['id']}: {'lost' if a['lost'] else 'gained'}, the target from the parting "
            f"{'right' if a['target_after_parting'] else 'wrong'}",
            flush=True,
        )
    for x in methods:
        went_on = [a for a in x["answers"] if "target_after_parting" in a]
        x["lost_at_parting"] = sum(a["lost"] and not a["target_after_parting"] for a in went_on)
        x["gained_at_parting"] = sum(not a["lost"] and bool(a["target_after_parting"]) for a in went_on)


def answer_header(tokenizer) -> list[int]:
    """The tokens the chat template puts between a question and its answer (the generation prompt)."""
    with_header, without = (
        tokenizer.apply_chat_template(
            [{"role": "user", "content": "x"}], add_generation_prompt=g, tokenize=True, return_dict=True
        )["input_ids"]
        for g in (True, False)
    )
    if list(with_header[: len(without)]) != list(without):
        raise ValueError("the chat template's generation prompt does not extend the prompt without it")
    return list(with_header[len(without) :])


def data_openings(paths: list[str], tokenizer, opening: int) -> dict:
    """The labelled draft/target disagreements of judge data shards (``auto:mismatch`` rows), per domain (the
    shard's folder), counted at the answer's first ``opening`` tokens or later, acceptable (label 1) or an error
    (label 0)."""
    header = answer_header(tokenizer)
    domains: dict[str, dict] = {}
    for path in paths:
        counts = domains.setdefault(
            Path(path).parent.name, {where: {"acceptable": 0, "error": 0} for where in ("opening", "later")}
        )
        for row in load_dataset_dir(path):
            if not row["source"].startswith("auto:mismatch"):
                continue
            ids = row["input_ids"]
            starts = [i + len(header) for i in range(len(ids)) if ids[i : i + len(header)] == header]
            if not starts:
                raise ValueError(f"{path}: a row without the chat template's answer header")
            for pos, label in zip(row["positions"], row["labels"], strict=True):
                where = "opening" if pos - starts[-1] < opening else "later"
                counts[where]["acceptable" if label == 1 else "error"] += 1
    return {"shards": paths, "disagreements": domains}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", nargs="+", required=True, help="hf-judge bench output folders")
    ap.add_argument("--opening", type=int, default=4, help="a lost answer parting this early took another opening")
    ap.add_argument("--data", nargs="*", default=[], help="judge data shards whose disagreements to count")
    ap.add_argument("--heads", nargs="*", default=[], help="judge head folders that score each parting token")
    ap.add_argument("--methods", nargs="*", default=None, help="only these lossy methods (default: every one)")
    ap.add_argument(
        "--continue",
        dest="go_on",
        action="store_true",
        help="let the target go on from each parting and score its answer (a generation per changed answer)",
    )
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    runs, targets, setups = {}, set(), set()
    for path in map(Path, args.bench):
        cfg = json.loads((path / "run_config.json").read_text())
        targets.add(Path(cfg["target"]).name)  # a local path: the alias is its name
        setups.add((cfg["draft"], cfg["dtype"]))
        runs[path.name] = lost_answers(path, load_tokenizer(Path(cfg["target"]).name, install=False), args.opening)
    if args.methods is not None:
        known = {m for r in runs.values() for t in r["tasks"].values() for m in t["methods"]}
        if set(args.methods) - known:
            raise SystemExit(f"--methods {sorted(set(args.methods) - known)}: no such lossy method in these runs")
        for r in runs.values():
            for t in r["tasks"].values():
                t["methods"] = {m: x for m, x in t["methods"].items() if m in args.methods}
    methods = [x for r in runs.values() for t in r["tasks"].values() for x in t["methods"].values()]
    answers = [a for x in methods for a in x["answers"]]
    if args.go_on:
        if len(targets) != 1 or len(setups) != 1:
            raise SystemExit(
                f"--continue goes on with one target, draft and dtype; these runs have {targets}, {setups}"
            )
        import torch

        from hf_judge.registry.packaged import load_model

        name, (draft_path, dtype) = next(iter(targets)), next(iter(setups))
        dtype = getattr(torch, dtype.removeprefix("torch."))
        target = load_model(name, dtype=dtype, cpu_linear="auto")  # as the bench loads them
        draft = load_model(Path(draft_path).name, dtype=dtype, quant="auto", cpu_linear="auto")
        continue_partings(methods, target, draft, load_tokenizer(name, install=False))
    if args.heads:
        if len(targets) != 1:
            raise SystemExit(f"--heads scores with one target; these runs have {sorted(targets)}")
        score_partings(answers, targets.pop(), args.heads)
    for a in answers:
        del a["row"], a["_go_on"]
    report = {"command": shlex.join(["python", *sys.argv]), "opening": args.opening, "runs": runs}
    if args.data:
        report["data"] = data_openings(args.data, load_tokenizer(DEFAULT_TARGET, install=False), args.opening)
    Path(args.out).write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
