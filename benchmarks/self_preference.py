"""What win rate does the target's own answer reach against its greedy answer, under the open-ended bench's grader?

The open-ended bench grades each method's answer by the target's rating of it against the rating of the target's
greedy answer (``--grader target --grading rating``: win 1, loss 0, the same answer 0.5), and the issue's bar of
matched quality is a win rate of 0.45. A lossy method changes answers; this script measures what a change costs
when nothing but the target writes: the target's answers sampled at ``--temperature`` (by the target alone:
speculative sampling at this temperature was slower on 2 CPU cores), one per MT-Bench prompt, rated by the same
grader against the greedy answers of a committed bench folder (the same prompts, answers, grader and rating
cache). A win rate below the bar says the bar asks a changed answer to beat the target's own sampling under
this grader.

Each answer is appended to ``answers.jsonl`` in ``--out`` as it is written (a rerun resumes); the ratings are kept
in the bench folder's format (``ratings.jsonl``), so ratings the bench already made are not asked again.

python benchmarks/self_preference.py --folder benchmarks/results/frontier_mtbench64_layer18_v9_cpu --limit 32 \
    --temperature 0.7 --out benchmarks/results/self_preference_mtbench32_cpu
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from hf_judge.bench.open_ended import RatingGrader
from hf_judge.bench.suite import environment
from hf_judge.bench.tasks import load_task
from hf_judge.registry.hardware import resolve_dtype
from hf_judge.registry.packaged import DEFAULT_TARGET, load_model, load_tokenizer
from hf_judge.training.data import prompt_ids
from hf_judge.training.records import append_record, read_records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", required=True, help="a committed MT-Bench bench folder (its target's greedy answers)")
    ap.add_argument("--limit", type=int, help="the folder's first LIMIT prompts (default: all of them)")
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--target", default=DEFAULT_TARGET)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    folder, out = Path(args.folder), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bench = json.loads((folder / "results.json").read_text())
    config = bench["config"]
    if bench["tasks"].keys() != {"mt-bench"} or bench.get("grader", {}).get("kind") != "rating":
        raise SystemExit(f"{folder}: not an MT-Bench folder graded by ratings")
    if "--grader target" not in bench["command"]:
        raise SystemExit(f"{folder}: graded by another model than the target; this script grades with the target")
    n, max_new = args.limit or config["limit"], config["max_new_tokens"]
    if not 0 < n <= config["limit"]:
        raise SystemExit(f"--limit {n}: the folder has {config['limit']} prompts")
    examples = load_task("mt-bench", n)
    greedy = {r["id"]: r["new_ids"] for r in read_records(folder / "records.jsonl") if r["method"] == "target"}
    dtype = resolve_dtype(args.dtype)
    target = load_model(args.target, dtype=dtype, cpu_linear="auto")
    tok = load_tokenizer(args.target)
    if not (out / RatingGrader.cache_name).exists():  # the bench's ratings: its greedy answers' are not asked again
        shutil.copy(folder / RatingGrader.cache_name, out / RatingGrader.cache_name)
    grader = RatingGrader(target, tok, cache=out / RatingGrader.cache_name)

    path = out / "answers.jsonl"
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "limit")}  # an answer does not depend on them
    done = read_records(path)
    if done and done[0] != {"settings": settings}:
        raise SystemExit(f"{path} was written with {done[0]}, not {settings}: use another --out")
    have = {r["id"]: r for r in done[1:]}
    t0 = time.perf_counter()
    with open(path, "a") as log:
        if not done:
            append_record(log, {"settings": settings})
        for i, ex in enumerate(tqdm(examples, desc=f"sampled at T={args.temperature}")):
            if ex["id"] in have:
                continue
            torch.manual_seed(args.seed * 100_003 + i)
            ids = torch.tensor([prompt_ids(tok, ex["prompt"])])
            with torch.no_grad():
                seq = target.generate(
                    ids,
                    do_sample=True,
                    temperature=args.temperature,
                    top_k=0,
                    top_p=1.0,
                    max_new_tokens=max_new,
                )
            have[ex["id"]] = {"id": ex["id"], "new_ids": seq[0, ids.shape[1] :].tolist()}
            append_record(log, have[ex["id"]])
    texts = [tok.decode(have[ex["id"]]["new_ids"], skip_special_tokens=True) for ex in examples]
    base = [tok.decode(greedy[ex["id"]], skip_special_tokens=True) for ex in examples]
    got = grader.grade([e["prompt"] for e in examples], texts, base, [e.get("reference") for e in examples])
    base_ratings = [grader.rating(e["prompt"], b, e.get("reference")) for e, b in zip(examples, base, strict=True)]
    points = got["win_rate"]
    changed = [w for w in points if w != 0.5]
    per_category: dict[str, list[float]] = {}
    for ex, w in zip(examples, points, strict=True):
        per_category.setdefault(ex["category"], []).append(w)
    res = {
        "command": "python benchmarks/self_preference.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "environment": environment(target),
        "folder": str(folder),
        "prompts": n,
        "max_new_tokens": max_new,
        "win_rate": sum(points) / n,
        "answers_changed": len(changed),
        "won_of_changed": sum(changed) / len(changed) if changed else None,
        "rating": sum(got["rating"]) / n,
        "rating_greedy": sum(base_ratings) / n,
        "win_rate_by_category": {c: sum(v) / len(v) for c, v in sorted(per_category.items())},
        "per_item": {"win_rate": points, "rating": got["rating"], "rating_greedy": base_ratings},
        "grader_forwards_this_run": grader.asked,
        "seconds_this_run": time.perf_counter() - t0,
    }
    (out / "report.json").write_text(json.dumps(res, indent=2))
    print(json.dumps({k: v for k, v in res.items() if k not in ("environment", "per_item")}, indent=2))


if __name__ == "__main__":
    main()
