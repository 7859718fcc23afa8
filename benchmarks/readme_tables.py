"""README tables generated from committed result files (never typed by hand).

python benchmarks/readme_tables.py          # rewrite the README's generated sections
python benchmarks/readme_tables.py --check  # exit 1 if they are stale (tests/test_readme.py checks the same)
"""

from __future__ import annotations

import json
import shlex
import sys
from functools import partial
from pathlib import Path

from hf_judge.bench.plots import plot_standing
from hf_judge.bench.report import (
    at_matched_quality,
    family,
    lossy_peers,
    matched_bar,
    matching_point,
    mean,
    quality_text,
)
from hf_judge.bench.suite import EARLIER_RUN
from hf_judge.training.card import auc_text, domain_table, grader_note, optimiser_text
from hf_judge.training.records import read_records
from hf_judge.training.trainer import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
# the layer-18 head retrained with more shards: the default until the head with math seeds 1008 and 1009 added
# (judge_training_layer18_v5_cpu) replaced it; its training folder, and the name the tables comparing heads give it
V2 = "judge_training_layer18_v2_cpu"
V2_NAME = "v2 (earlier default)"


def speed_cpu_table(res: dict) -> str:
    """The demo's prompts under the landed defaults and the new ones, with quality beside each speed."""
    env = res["environment"]
    lines = [
        f"Measured by `{res['command']}` on {env['device']}, torch {env['torch']}, transformers "
        f"{env['transformers']}; greedy, {res['max_new_tokens']} new tokens on each of the demo's three "
        "prompts, all rows of a configuration in one process. *same as target*: answers identical to the "
        "target's own greedy answer (standard SD must give 3/3 in float32; judge decoding is lossy by design, "
        "and its quality is measured by `hf-judge bench`, not by these three prompts). *cap*: the speedup if "
        "every draft token were kept, from the measured costs (`hf-judge doctor`)."
        + (
            f" Judge: the `{res['judge']['head']}` head (weights digest `{res['judge']['id']}`) at its threshold "
            f"{res['judge']['threshold']:.3f}."
            if "judge" in res
            else ""
        ),
        "",
        "| configuration | method | k | stop below | tokens/s | x target | tokens/step | cap | achieved / cap "
        "| same as target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, cfg in res["configs"].items():
        s = cfg["settings"]
        label = f"{name}: {s['dtype'].replace('torch.', '')}, {s['cpu_linear']} linear, {s['quant']} draft"
        t = cfg["target"]
        lines.append(f"| {label} | target | - | - | {t['tokens_per_s']:.2f} | 1.00 | 1.00 | - | - | 3/3 |")
        for point, r in cfg["points"].items():
            method, k, conf = point.split()
            same = sum(r["same_tokens_as_target"])
            lines.append(
                f"| | {'standard SD' if method == 'sd' else 'judge'} | {k[2:]} | {conf[5:]} | "
                f"{r['tokens_per_s']:.2f} | {r['speedup_vs_target']:.2f} | {r['tokens_per_step']:.2f} | "
                f"{r['cap']:.2f} | {r['speedup_vs_target'] / r['cap']:.0%} | {same}/3 |"
            )
        c = cfg["costs"]
        lines.append(f"| | *costs* | | | | | | c = {c['c']:.3f} | target 1 token {c['target_ms']['1']:.0f} ms | | |")
    return "\n".join(lines)


def default_head_text(report: dict) -> str:
    """What the shipped head's own training report says: calibration on validation, figures on held-out test."""
    v, c = report["val"], report["config"]
    text = (
        f"From its `training_report.json`: calibrated on the validation split ({v['n']} labelled positions, "
        f"{v['n_errors']} of them errors), its threshold {v['threshold']:.3f} (the lowest that rejects "
        f"{c['error_recall']:.0%} of errors) rejects {v['error_recall']:.0%} of them there and accepts "
        f"{v['recall']:.0%} of the acceptable tokens."
    )
    t, td = report.get("test"), report.get("test_disagreements")
    if t and td:  # held-out questions, never trained or tuned on
        text += (
            f" On the held-out test questions ({t['n']} positions, {t['n_errors']} errors) its ROC-AUC is "
            f"{t['roc_auc']:.3f}, and {td['roc_auc']:.3f} on their {td['n']} draft/target disagreements "
            f"({td['n_errors']} errors); at the threshold it rejects {t['error_recall']:.0%} of the test errors "
            f"and accepts {t['recall']:.0%} of the acceptable tokens."
        )
    return text


# the held-out reports of a head's draft/target disagreements: (column, folder pattern, report file)
HELD_OUT_AUCS = (
    ("its own test split", "judge_training_layer18_{v}_cpu", "training_report.json"),
    ("every shard's test split", "judge_testsplit_every_layer18_{v}_cpu", "test_report.json"),
    ("program stubs seed 106", "judge_heldout_stubs106_layer18_{v}_cpu", "test_report.json"),
    ("math seed 1014", "judge_heldout_math1014_layer18_{v}_cpu", "test_report.json"),
)


def held_out_auc_text(_res: dict, heads: tuple[str, ...], bar: float = 0.9) -> str:
    """Each head's ROC-AUC on the held-out draft/target disagreements of every report in :data:`HELD_OUT_AUCS`,
    and on which of them it reaches ``bar`` (judged on the unrounded value: 0.8996 prints 0.900 and misses it)."""
    lines = [
        "ROC-AUC on held-out draft/target disagreements, each from the committed report named in the column "
        "(`hf-judge train`'s `training_report.json`, `hf-judge test-head`'s `test_report.json`; neither head "
        "was trained on any of these questions, nor were its threshold or optimiser picked on them). In "
        "parentheses: the 95% interval (DeLong's, on the logit scale).",
        "",
        "| head | "
        + " | ".join(f"{c} (`{f.format(v='vN')}`)" for c, f, _ in HELD_OUT_AUCS)
        + f" | at least {bar} on |",
        "|---" * (len(HELD_OUT_AUCS) + 2) + "|",
    ]
    for v in heads:
        ms = [_report(f.format(v=v), name)["test_disagreements"] for _, f, name in HELD_OUT_AUCS]
        counts = [f"{auc_text(m)}, {m['n']} / {m['n_errors']} errors" for m in ms]
        under = [
            f"{c} {m['roc_auc']:.4f}" for (c, _, _), m in zip(HELD_OUT_AUCS, ms, strict=True) if m["roc_auc"] < bar
        ]
        lines.append(
            f"| {v} | "
            + " | ".join(counts)
            + f" | {len(ms) - len(under)} of {len(ms)}"
            + (f" (under: {', '.join(under)})" if under else "")
            + " |"
        )
    return "\n".join(lines)


def _runs_text(res: dict) -> str:
    """Whether every figure comes from one run: a resumed bench keeps the records of earlier runs."""
    runs = res.get("runs")
    if runs is None:  # results from before runs were recorded
        return "possibly over several resumed runs (earlier records are kept), so tokens/s may compare sessions"
    if len(runs) == 1:
        return "in one run"
    latest = ", ".join(f"`{m}`" for m in runs[max(r for r in runs if r != EARLIER_RUN)])
    return (
        f"over {len(runs)} runs (resumed; the latest measured {latest}): tokens/s and x target compare "
        "only methods of the same run (column runs: which of the runs, numbered in order, measured each method; "
        "a later run may be another machine), tokens/forward and quality compare all"
    )


def _run_numbers(res: dict) -> dict[str, str]:
    """Which runs (numbered in order, the unstamped earliest records first) measured each method, e.g. ``1-8``:
    {} where every figure comes from one run."""
    runs = res.get("runs") or {}
    if len(runs) < 2:
        return {}
    measured: dict[str, list[int]] = {}
    for i, run in enumerate(sorted(runs, key=lambda r: "" if r == EARLIER_RUN else r), 1):
        for m in runs[run]:
            measured.setdefault(m, []).append(i)
    spans = {}
    for m, ix in measured.items():  # consecutive runs as one span: [1, 2, 3, 5] -> "1-3, 5"
        parts: list[list[int]] = []
        for i in ix:
            if parts and parts[-1][1] == i - 1:
                parts[-1][1] = i
            else:
                parts.append([i, i])
        spans[m] = ", ".join(f"{lo}-{hi}" if hi > lo else f"{lo}" for lo, hi in parts)
    return spans


def _prompts_text(cfg: dict) -> str:
    """How many prompts of each task, and which: a run with ``--skip`` holds out the first ones."""
    skip = cfg.get("skip", 0)
    if not skip:
        return f"{cfg['limit']} prompts per task"
    return f"{cfg['limit']} prompts per task, those after the first {skip} (held out from a run with --limit {skip})"


def _span(cfg: dict) -> str:
    """The prompts a bench run took, as ``"80-119"`` (``--skip`` 80, ``--limit`` 40)."""
    skip = cfg.get("skip", 0)
    return f"{skip}-{skip + cfg['limit'] - 1}"


def _graded_text(res: dict) -> str:
    """What a run's grader measured on MT-Bench, for the "Measured by" line ("" without a grader)."""
    if "grader" not in res:
        return ""
    if res["grader"].get("kind", "pairwise") == "pairwise":
        return (
            "the win rate + half ties against the target's own answer (both orders; the target itself is 0.5 by "
            "definition) and "
        )
    return (
        "the grader's mean rating of the answer (1-10, MT-Bench's single-answer prompt, with the reference answer "
        "where MT-Bench has one), the win rate + half ties of those ratings against the target's own answer (the "
        "target itself is 0.5 by definition) and "
    )


def _interval_text(res: dict) -> str:
    """The sentence on the quality figures' intervals, for a run that keeps per-prompt figures ("" otherwise)."""
    if not any("per_item" in r for rows in res["tasks"].values() for r in rows.values()):
        return ""
    return (
        " In parentheses: the difference from the target alone and its 95% interval, bootstrap over the prompts, "
        "paired prompt by prompt (an interval that holds 0: no difference this many prompts can show)."
    )


def frontier_table(res: dict, folder: str = "frontier_cpu") -> str:
    """Every method's quality beside its tokens per target forward and tokens/s, per task, and which lossy
    peer a judge point matches (from ``hf-judge bench`` results in ``benchmarks/results/<folder>``)."""
    env, cfg = res["environment"], res["config"]
    engine = f"; the `vllm:` rows in vLLM ({env['vllm']}), against vLLM's own baselines" if "vllm" in env else ""
    lines = [
        f"Measured by `{res['command']}` on {env['device']}, {env['threads']} threads, {env['dtype']}, torch "
        f"{env['torch']}, transformers {env['transformers']}{engine}; greedy, at most {cfg['max_new_tokens']} new "
        f"tokens, {_prompts_text(cfg)}, every method on the same prompts, {_runs_text(res)} "
        f"(`benchmarks/results/{folder}/`). Quality: exact match of the final number (math), "
        "pass@1 (code); on MT-Bench "
        + _graded_text(res)
        + "the target's mean NLL per token of the answer (lower: closer to what the target says). Tokens per "
        "forward and quality do not depend on the machine's load; tokens/s does." + _interval_text(res),
    ]
    measured_in = _run_numbers(res)
    for task, rows in res["tasks"].items():
        qs = [k for k in next(iter(rows.values())) if k.startswith("quality:")]
        lines += ["", f"**{task}**", ""]
        runs_column = " runs |" if measured_in else ""
        lines.append(
            "| method | tokens/forward | tokens/s | x target |" + runs_column + "".join(f" {q[8:]} |" for q in qs)
        )
        lines.append("|---|---|---|---|" + "---|" * (len(qs) + bool(measured_in)))
        for m, r in rows.items():
            speed = f"{r['tokens_per_step']:.2f} | {r['tokens_per_s']:.2f} | {r['speedup_vs_target']:.2f} |"
            if measured_in:
                speed += f" {measured_in[m]} |"
            qual = "".join(f" {quality_text(r, q, rows.get('target'))} |" for q in qs)
            lines.append(f"| {m} | {speed}{qual}")
        for q, verdicts in res.get("frontier", {}).get(task, {}).items():
            if not verdicts:  # no lossy peer in this run
                continue
            head = f"Each lossy peer against the judge points, by {q[8:]} (at least its quality and tokens/forward):"
            lines += ["", head, ""] + [f"- {peer}: {verdict}" for peer, verdict in verdicts.items()]
        for q in res.get("matched", {}).get(task, {}):  # as the bench finds it, x SD to three places
            text = at_matched_quality(rows, q, cfg["limit"])
            lines += ["", f"The fastest judge point at matched quality, by {q[8:]}: {text}."]
    if "grader" in res:
        lines += ["", grader_note(res["grader"])]
    return "\n".join(lines)


def _lost_gained(method: list[float], target: list[float]) -> str:
    """`` | L / G`` for a right-or-wrong quality: the target's right answers a method lost, and the target's
    wrong answers it got right (``method`` and ``target`` per prompt, in the same order)."""
    lost = sum(1 for m, t in zip(method, target, strict=True) if t and not m)
    gained = sum(1 for m, t in zip(method, target, strict=True) if m and not t)
    return f" | {lost} / {gained}"


def earlier_head_lines(res: dict, base: str) -> list[str]:
    """An earlier head's judge points (those of the bench folder ``base``, on the same tasks' prompts and maybe
    more) on just the prompts of ``res``, from ``base``'s records and per-prompt quality: tokens per target
    forward and quality beside the newer head's points on the same prompts, each head named by its folder (the
    commands' ``--judge``). Where the quality is right or wrong per prompt (exact match, pass@1), each point's
    answers lost against the target alone's and gained over it, since points level in quality can differ in
    both."""
    from hf_judge.bench.tasks import load_task

    old = _report(base, "results.json")
    cfg, old_cfg = res["config"], old["config"]
    records = read_records(RESULTS / base / "records.jsonl")
    old_head, new_head = (_judge_folder(r["command"]) for r in (old, res))
    lines = []
    for task, rows in res["tasks"].items():
        ids = [ex["id"] for ex in load_task(task, cfg["limit"], cfg.get("skip", 0))]
        where = {ex["id"]: i for i, ex in enumerate(load_task(task, old_cfg["limit"], old_cfg.get("skip", 0)))}
        if any(i not in where for i in ids):
            raise ValueError(f"{base}: its {task} prompts must hold every prompt of this run")
        qs = [k for k in rows["target"] if k.startswith("quality:")]
        target = rows["target"]["per_item"]
        binary = [q for q in qs if set(target[q]) <= {0, 1}]  # right or wrong per prompt
        lines += [
            "",
            f"The earlier head's judge points on the same {len(ids)} {task} prompts (`benchmarks/results/{base}/`), "
            "beside this run's"
            + (
                " (lost / gained: the target alone's right answers a point lost, and its wrong ones the point got "
                "right)"
                if binary
                else ""
            )
            + ":",
            "",
            "| head | method | tokens/forward | "
            + " | ".join(q[8:] for q in qs)
            + "".join(f" | {q[8:]} lost / gained" for q in binary)
            + " |",
            "|---|---|---|" + "---|" * (len(qs) + len(binary)),
        ]
        points = []  # (tokens per forward, row) of each earlier judge point, on these prompts
        for m, r in old["tasks"][task].items():
            if not m.startswith("judge"):
                continue
            mine = {x["id"]: x for x in records if x["task"] == task and x["method"] == m and x["id"] in ids}
            if len(mine) != len(ids):
                raise ValueError(f"{base}: {m} lacks records for some of the {len(ids)} prompts")
            tps = sum(x["new_tokens"] for x in mine.values()) / sum(x["steps"] for x in mine.values())
            qual = " | ".join(f"{mean([r['per_item'][q][where[i]] for i in ids]):.3f}" for q in qs)
            qual += "".join(_lost_gained([r["per_item"][q][where[i]] for i in ids], target[q]) for q in binary)
            points.append((tps, f"| {old_head} | {m} | {tps:.2f} | {qual} |"))
        lines += [row for _, row in sorted(points)]
        for m, r in rows.items():
            if m.startswith("judge"):
                qual = " | ".join(f"{r[q]:.3f}" for q in qs)
                qual += "".join(_lost_gained(r["per_item"][q], target[q]) for q in binary)
                lines.append(f"| {new_head} | {m} | {r['tokens_per_step']:.2f} | {qual} |")
    return lines


def _judge_folder(command: str) -> str:
    """The head folder a bench command's ``--judge`` names (its last path part)."""
    return Path(option_values(command, "--judge")[0]).name


def _parting_scores(answer: dict) -> str:
    """`` (target ratio R; head S, ...)`` for a parting scored by ``lost_answers.py --heads``, else ""."""
    if "ratio" not in answer:
        return ""
    heads = ", ".join(f"{name} {v:.2f}" for name, v in answer["scores"].items())
    return f" (the target's ratio {answer['ratio']:.3f}; scored {heads})"


def lost_answers_text(rep: dict) -> str:
    """Where each lossy method loses answers the target alone gets right (``benchmarks/lost_answers.py``): per
    bench run and task, how many it lost and gained, and how many lost answers took another opening; then the
    openings the judge points took in their lost answers."""
    n = rep["opening"]
    went_on = "--continue" in shlex.split(rep["command"])
    lines = [
        f"Measured by `{rep['command']}` (`{option_values(rep['command'], '--out')[0]}`, from the runs' records): "
        f"lost = right by the target alone and wrong by the method, gained = the reverse; a lost answer that leaves "
        f"the target's within its first {n} tokens took another opening (on code: another first line).",
        "",
        "| run | task | method | lost | gained | lost with another opening |",
        "|---|---|---|---|---|---|",
    ]
    if went_on:
        lines[0] += (
            " At the parting: the target's own greedy answer (through lossless speculative decoding), going on from "
            "the shared answer and the method's token where they part, also gets a lost answer wrong (lost at the "
            "parting) or a gained one right (gained at the parting); the rest the method lost or gained with its "
            "later tokens."
        )
        lines[-2:] = [lines[-2] + " lost at the parting | gained at the parting |", lines[-1] + "---|---|"]
    for run, r in rep["runs"].items():
        for task, t in r["tasks"].items():
            for m, x in t["methods"].items():
                line = (
                    f"| {run} | {task} ({t['prompts']}) | {m} | {x['lost']} | {x['gained']} | {x['lost_at_opening']} |"
                )
                lines.append(line + (f" {x['lost_at_parting']} | {x['gained_at_parting']} |" if went_on else ""))
    for run, r in rep["runs"].items():
        for task, t in r["tasks"].items():
            for m, x in t["methods"].items():
                opened = [a for a in x["answers"] if a["lost"] and a["parted_at"] < n]
                if m.startswith("judge") and opened:
                    pairs = "; ".join(f"`{a['target']!r}` became `{a['method']!r}`{_parting_scores(a)}" for a in opened)
                    lines += ["", f"{run}, {m}, the openings of its lost {task} answers: {pairs}."]
    if "data" in rep:
        counts = "; ".join(
            f"{domain}: at the opening {c['opening']['acceptable']} acceptable and {c['opening']['error']} errors, "
            f"later {c['later']['acceptable']} acceptable and {c['later']['error']} errors"
            for domain, c in rep["data"]["disagreements"].items()
        )
        lines += ["", f"The labelled draft/target disagreements of the judge data shards counted: {counts}."]
    return "\n".join(lines)


def auc_table(rep: dict, head: str) -> list[str]:
    """The head's test ROC-AUC beside each free rule's, on every position and on the disagreements alone."""
    te, td = rep["test"], rep.get("test_disagreements", {})
    lines = [
        "| scorer | test ROC-AUC | test ROC-AUC, disagreements only |",
        "|---|---|---|",
        f"| {head} | {te['roc_auc']:.3f} | {td.get('roc_auc', float('nan')):.3f} |",
    ]
    for rule, m in rep.get("free_rules", {}).items():
        lines.append(f"| free rule: {rule} | {m['test']:.3f} | {m.get('test_disagreements', float('nan')):.3f} |")
    return lines


def judge_heldout_text(rep: dict) -> str:
    """The head on judge data built after it was trained: held out from training, validation and calibration."""
    env, te, td = rep["environment"], rep["test"], rep["test_disagreements"]
    return "\n".join(
        [
            f"Measured by `{rep['command']}` on {env['device']}, {env['dtype'].replace('torch.', '')}, torch "
            f"{env['torch']}, transformers {env['transformers']}: {te['n']} labelled positions ({te['n_errors']} "
            f"errors), of them {td['n']} evenly spread draft/target disagreements ({td['n_errors']} errors). At its "
            f"threshold {te['threshold']:.3f} the head rejects {td['error_recall']:.0%} of the errors among the "
            f"disagreements and keeps {td['recall']:.0%} of the acceptable ones.",
            "",
            *auc_table(rep, "the trained head"),
        ]
    )


def reads_text(rep: dict) -> str:
    """What a trained head reads, from its training report."""
    layer = rep.get("hidden_layer", -1)  # (reports from before heads could read another layer: the last)
    state = "target's last hidden state" if layer == -1 else f"target's hidden state after layer {layer}"
    return state + (" and logit features" if rep.get("config", {}).get("logit_features") else "")


def _report(folder: str, name: str) -> dict:
    return json.loads((RESULTS / folder / name).read_text())


def _same_held_out(heads: list[tuple[dict, dict]]) -> None:
    """Heads compared on held-out data (``(training report, test-head report)`` each) must share it."""
    if len({tuple(h["data"]) for _, h in heads}) != 1:
        raise ValueError("the heads' held-out tests must be on the same data")


def judge_layer_text(rep: dict) -> str:
    """Two heads from one command on the same data, one reading the last hidden state and one a middle
    layer's: validation and test on the split, then both on the same shards built after them."""

    heads = [  # (training report, held-out report) of each head
        (_report("judge_training_cpu", "training_report.json"), _report("judge_heldout_cpu", "test_report.json")),
        (rep, _report("judge_heldout_layer18_cpu", "test_report.json")),
    ]
    _same_held_out(heads)
    t = heads[0][1]["test_disagreements"]
    lines = [
        f"Both trained by the command above on the same data and split, the second with `--hidden-layer "
        f"{rep['hidden_layer']}`: `{rep['command']}`. Held out: {', '.join(heads[0][1]['data'])} "
        f"(built after both heads, {t['n']} evenly spread disagreements with {t['n_errors']} errors), measured "
        "by `hf-judge test-head` as above.",
        "",
        "| head reads | validation ROC-AUC | test ROC-AUC | test, disagreements | held-out ROC-AUC "
        "| held-out, disagreements | held-out disagreements: errors rejected / acceptable kept |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [held_out_row(reads_text(r), r, h) for r, h in heads]
    return "\n".join(lines + held_out_domains([h for _, h in heads], [reads_text(r) for r, _ in heads]))


def held_out_row(name: str, r: dict, h: dict) -> str:
    """One head's row: validation and test ROC-AUC from its training report ``r``, held-out ROC-AUC (every
    position, disagreements) and what its threshold does on the held-out disagreements from ``h``."""
    hd = h["test_disagreements"]
    return (
        f"| {name} | {r['val']['roc_auc']:.3f} | {r['test']['roc_auc']:.3f} | {auc_text(r['test_disagreements'])} "
        f"| {h['test']['roc_auc']:.3f} | {auc_text(hd)} | {hd['error_recall']:.0%} / {hd['recall']:.0%} |"
    )


def held_out_domains(reports: list[dict], names: list[str]) -> list[str]:
    """Held-out ROC-AUC on the draft/target disagreements of each domain: each head's (``reports`` of
    ``hf-judge test-head`` on the same data, with ``by_domain``) beside the free rules' on the same positions."""
    if not all(r.get("by_domain") for r in reports):
        return []
    first = reports[0]["by_domain"]
    rules = list(next(iter(first.values())).get("free_rules", {}))
    lines = [
        "",
        "The same held-out data by domain, ROC-AUC on its draft/target disagreements:",
        "",
        "| " + " | ".join(["domain", "disagreements (errors)", *names, *(f"free rule: {r}" for r in rules)]) + " |",
        "|---|---|" + "---|" * (len(names) + len(rules)),
    ]
    for domain, m in first.items():
        d = m.get("test_disagreements")
        if d is None:  # no disagreement among this domain's positions
            continue
        heads = [auc_text(r["by_domain"][domain]["test_disagreements"]) for r in reports]
        free = [f"{m['free_rules'][r].get('test_disagreements', float('nan')):.3f}" for r in rules]
        lines.append(f"| {domain} | {d['n']} ({d['n_errors']}) | " + " | ".join([*heads, *free]) + " |")
    return lines


def option_values(command: str, flag: str) -> list[str]:
    """The values a command line gives option ``flag`` (the words after it, up to the next option)."""
    words = shlex.split(command)
    start = words.index(flag) + 1
    end = next((i for i in range(start, len(words)) if words[i].startswith("--")), len(words))
    return words[start:end]


def training_data(rep: dict) -> list[str]:
    """The data folders a report's command trained on (its ``--data`` values): ``hf-judge train``'s or a
    benchmark script's."""
    return option_values(rep["command"], "--data")


def judge_data_text(rep: dict) -> str:
    """The layer-18 head trained again by the same command with more shards: both heads' own split
    figures, then both on the same later shards that neither trained on, and the new head's learning curve."""

    old = _report("judge_training_layer18_cpu", "training_report.json")
    heads = [
        (old, _report("judge_heldout_math_layer18_cpu", "test_report.json")),
        (rep, _report("judge_heldout_math_layer18_v2_cpu", "test_report.json")),
    ]
    _same_held_out(heads)
    seen = set(training_data(old))
    added = [d for d in training_data(rep) if d not in seen]
    held = heads[1][1]
    lines = [
        f"Trained by `{rep['command']}`: the command of the layer-18 head above with {', '.join(added)} "
        f"added. {held_out_sentence(held)} A question's split is a hash of it, so the first head's validation "
        "and test questions keep theirs and the added shards add some to each: the second head's validation and "
        "test columns are on those splits grown.",
        "",
        "| head | training positions (errors) | training disagreements | validation ROC-AUC | test, disagreements "
        "| held-out ROC-AUC | held-out, disagreements | held-out disagreements at its threshold: errors rejected / "
        "acceptable kept |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, (r, h) in zip(("before", "with the added shards"), heads, strict=True):
        hd, n_dis = h["test_disagreements"], (r.get("learning_curve") or [{}])[-1].get("train_disagreements", "?")
        lines.append(
            f"| {name} (threshold {r['val']['threshold']:.3f}) | {r['train']['n']} ({r['train']['n_errors']}) "
            f"| {n_dis} "
            f"| {r['val']['roc_auc']:.3f} | {r['test_disagreements']['roc_auc']:.3f} | {h['test']['roc_auc']:.3f} "
            f"| {auc_text(hd)} | {hd['error_recall']:.0%} / {hd['recall']:.0%} |"
        )
    return "\n".join(lines + free_rules_lines(held) + own_curve(rep))


def free_rules_lines(held: dict) -> list[str]:
    """The free rules' ROC-AUC on the held-out disagreements of a test-head report, where it has them."""
    rules = {k: m["test_disagreements"] for k, m in held.get("free_rules", {}).items() if "test_disagreements" in m}
    if not rules:
        return []
    text = ", ".join(f"{k} {auc:.3f}" for k, auc in rules.items())
    return ["", f"The free rules on the same held-out disagreements: {text}."]


def judge_weight_text(rep: dict) -> str:
    """The v2 head's command again with the disagreements weighed more in the loss and the grid's head
    picked on the validation disagreements: both heads on their shared split and on the same held-out shards."""
    heads = [  # (name, training report, held-out report)
        (
            V2_NAME,
            _report(V2, "training_report.json"),
            _report("judge_heldout_all_layer18_v2_cpu", "test_report.json"),
        ),
        ("disagreements weighed", rep, _report("judge_heldout_all_layer18_v3_cpu", "test_report.json")),
    ]
    if training_data(heads[0][1]) != training_data(rep):
        raise ValueError("the two heads must be trained on the same data")
    cfg = rep["config"]
    lines = [
        f"Trained by `{rep['command']}`: the v2 head's data and split, a grid that adds disagreement weights, "
        f"the head picked by validation ROC-AUC on the disagreements (learning rate {cfg['lr']:g}, weight decay "
        f"{cfg['weight_decay']:g}, disagreement weight {cfg['disagreement_weight']:g}). "
        + held_out_sentence(heads[1][2]),
        "",
        *heads_table(heads),
    ]
    return "\n".join(lines + own_curve(rep))


def heads_table(heads: list[tuple[str, dict, dict]]) -> list[str]:
    """Heads ``(name, training report, held-out report)`` side by side: validation and test ROC-AUC on their
    own splits, and on the held-out shards they share, in all and by domain."""
    _same_held_out([(r, h) for _, r, h in heads])
    lines = [
        "| head | validation ROC-AUC | test ROC-AUC | test, disagreements | held-out ROC-AUC "
        "| held-out, disagreements | held-out disagreements at its threshold: errors rejected / acceptable kept |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [held_out_row(f"{name} (threshold {r['val']['threshold']:.3f})", r, h) for name, r, h in heads]
    return lines + held_out_domains([h for _, _, h in heads], [name for name, _, _ in heads])


def _v2_and_candidates(
    runs: list[str], held: list[str], newest: dict
) -> tuple[list[tuple[str, dict, dict]], list[list[str]]]:
    """The v2 head (the default until v5 replaced it) and the heads of the training folders ``runs``, each
    trained by the v2 head's command with more shards, each with its ``hf-judge test-head`` report from ``held``
    (one result folder per head, v2's first); and the shards each added. ``newest``, the section's report, must
    be the last run's."""
    v2 = _report(V2, "training_report.json")
    if len(held) != len(runs) + 1:
        raise ValueError(f"{len(runs)} candidate heads need {len(runs) + 1} held-out reports, not {len(held)}")
    before = training_data(v2)
    heads, added = [(V2_NAME, v2, _report(held[0], "test_report.json"))], []
    for run, folder in zip(runs, held[1:], strict=True):
        rep = _report(run, "training_report.json")
        after = training_data(rep)
        extra = [d for d in after if d not in before]
        if not extra or any(d not in after for d in before):
            raise ValueError(f"{run}: the head must be trained on the v2 head's data and more")
        name = "+ " + ", ".join(d.removeprefix("data/judge/") for d in extra)
        heads.append((name, rep, _report(folder, "test_report.json")))
        added.append(extra)
    if heads[-1][1]["command"] != newest["command"]:
        raise ValueError(f"the section's report must be the newest candidate's, {runs[-1]}")
    return heads, added


def heads_compared(heads: list[tuple[str, dict, dict]]) -> list[str]:
    """:func:`heads_table`, then what each head's own threshold does on each domain's held-out disagreements
    (where the held-out data hold more than one domain)."""
    if not all(h.get("by_domain") for _, _, h in heads):
        return heads_table(heads)
    by_domain = "; ".join(
        f"{domain}: "
        + ", ".join(
            f"{name} {h['by_domain'][domain]['test_disagreements']['error_recall']:.0%} / "
            f"{h['by_domain'][domain]['test_disagreements']['recall']:.0%}"
            for name, _, h in heads
        )
        for domain, m in heads[0][2]["by_domain"].items()
        if m.get("test_disagreements")
    )
    return [
        *heads_table(heads),
        "",
        "At each head's own threshold, the held-out disagreements of each domain (errors rejected / acceptable "
        f"kept): {by_domain}.",
    ]


# the heads trained by the v2 head's command with the shards built since, oldest first
CANDIDATES = ["judge_training_layer18_v4_cpu", "judge_training_layer18_v5_cpu", "judge_training_layer18_v6_cpu"]


def judge_more_shards_text(rep: dict) -> str:
    """The v2 head's command again with the shards built since it was trained added to its data (each
    candidate in :data:`CANDIDATES`, ``rep`` the newest): all heads on the same held-out shards, and the newest
    head's learning curve."""
    held = ["judge_heldout_all_layer18_v2_cpu"] + [c.replace("training", "heldout_all") for c in CANDIDATES]
    heads, added = _v2_and_candidates(CANDIDATES, held, rep)
    lines = [
        f"Trained by `{rep['command']}`: the v2 head's command with {', '.join(added[-1])} added to `--data`"
        + (
            f"; the head{'s' if len(added) > 2 else ''} before it added "
            + ", then ".join(", ".join(a) for a in added[:-1])
            if len(added) > 1
            else ""
        )
        + ". "
        + held_out_sentence(heads[-1][2]),
        "",
        *heads_compared(heads),
    ]
    return "\n".join(lines + own_curve(rep))


def judge_fresh_text(rep: dict, runs: list[str], held: list[str]) -> str:
    """The v2 head and the candidate heads of ``runs`` on a shard built after all were trained (and after
    every choice made on the held-out shards above): ``held``, their ``hf-judge test-head`` folders on it."""
    heads, _ = _v2_and_candidates(runs, held, rep)
    lines = [held_out_sentence(heads[-1][2]), "", *heads_compared(heads), *free_rules_lines(heads[-1][2])]
    both = heads[-1][2].get("test_disagreements_and_hard")
    if both:  # more errors to rank, so narrower intervals, though not the mix decoding meets
        rules = heads[-1][2]["free_rules"]
        lines += [
            "",
            f"With the hard picks beside them ({both['n']} positions, {both['n_errors']} errors), ROC-AUC: "
            + ", ".join(f"{name} {auc_text(h['test_disagreements_and_hard'])}" for name, _, h in heads)
            + "; the free rules "
            + ", ".join(f"{k} {m['test_disagreements_and_hard']:.3f}" for k, m in rules.items())
            + ".",
        ]
    return "\n".join(lines)


def held_out_sentence(h: dict) -> str:
    """Which shards a test-head report ``h`` held out from the heads compared, and how many disagreements."""
    t = h["test_disagreements"]
    return (
        f"Held out from every head here: {', '.join(h['data'])} ({t['n']} evenly spread disagreements with "
        f"{t['n_errors']} errors), measured by `hf-judge test-head` as above."
        + (INTERVAL_NOTE if "roc_auc_95" in t else "")
    )


def _check_one_test_split(reports: list[dict]) -> None:
    """``hf-judge test-head --split test`` reports of several heads must score them on the same data's test split."""
    if any(r.get("split") != "test" for r in reports) or len({tuple(r["data"]) for r in reports}) != 1:
        raise ValueError("the heads must be compared on the test split of the same data")


def judge_testsplit_text(rep: dict, versions: list[str]) -> str:
    """Heads trained on different shards, on one test set none of them saw: the test questions of every
    committed shard (``hf-judge test-head --split test``, ``judge_testsplit_every_layer18_{v}_cpu``; ``rep`` the
    first's report): each head's ROC-AUC on its draft/target disagreements, overall and by domain, and what its
    own threshold keeps there."""
    reports = [rep, *(_report(f"judge_testsplit_every_layer18_{v}_cpu", "test_report.json") for v in versions[1:])]
    _check_one_test_split(reports)
    t = rep["test_disagreements"]
    domains = [d for d, m in rep["by_domain"].items() if m.get("test_disagreements")]
    lines = [
        f"Measured by `{rep['command']}` and the same for each head: the test questions of the {len(rep['data'])} "
        f"shards ({t['n']} evenly spread disagreements with {t['n_errors']} errors)." + INTERVAL_NOTE,
        "",
        "| head | trained on | test disagreements: ROC-AUC | "
        + " | ".join(
            f"{d} ({rep['by_domain'][d]['test_disagreements']['n']}, "
            f"{rep['by_domain'][d]['test_disagreements']['n_errors']} errors)"
            for d in domains
        )
        + " "
        "| at its threshold: errors rejected / acceptable kept |",
        "|---|---|---|" + "---|" * len(domains) + "---|",
    ]
    picked, before = [], None
    for v, r in zip(versions, reports, strict=True):
        trained = _report(f"judge_training_layer18_{v}_cpu", "training_report.json")
        shards = training_data(trained)
        added = "" if before is None else f"; the one above's shards and {', '.join(sorted(set(shards) - before))}"
        picked.append(f"{v}: {optimiser_text(trained)}{added}")
        before = set(shards)
        by = " | ".join(f"{r['by_domain'][d]['test_disagreements']['roc_auc']:.3f}" for d in domains)
        d = r["test_disagreements"]
        lines.append(
            f"| {v} (threshold {trained['calibration']['threshold']:.3f}) | {len(shards)} shards | {auc_text(d)} "
            f"| {by} | {d['error_recall']:.0%} / {d['recall']:.0%} |"
        )
    return "\n".join(
        [
            *lines,
            *free_rules_lines(rep),
            "",
            "Each head's optimiser, picked on its own validation split, and its shards: " + "; ".join(picked) + ".",
        ]
    )


def grid_average_text(rep: dict, pairs: list[tuple[str, str]], fresh: list[str]) -> str:
    """Picking one head of a grid by validation ROC-AUC against averaging the grid (``hf-judge train --combine
    average``), on the same data: ``pairs`` [(picked, averaged)] head versions, each pair trained by one command
    but for ``--combine``; each head's ROC-AUC on the draft/target disagreements of the common test split
    (``judge_testsplit_every_layer18_{v}_cpu``, ``rep`` the first's) and of the ``fresh`` shards built after
    every head (``judge_heldout_{fresh}_layer18_{v}_cpu``)."""
    heads = [v for pair in pairs for v in pair]
    split = {v: _report(f"judge_testsplit_every_layer18_{v}_cpu", "test_report.json") for v in heads}
    held = {(f, v): _report(f"judge_heldout_{f}_layer18_{v}_cpu", "test_report.json") for f in fresh for v in heads}
    trained = {v: _report(f"judge_training_layer18_{v}_cpu", "training_report.json") for v in heads}
    _check_one_test_split(list(split.values()))
    for picked, averaged in pairs:
        a, b = trained[picked], trained[averaged]
        if training_data(a) != training_data(b) or b.get("combine") != "average" or a.get("combine") == "average":
            raise ValueError(f"{averaged} must average the grid {picked} picked from, on the same data")
    for f in fresh:
        if len({tuple(held[f, v]["data"]) for v in heads}) != 1:
            raise ValueError(f"the heads must be measured on the same {f} data")
    sets = [rep, *(held[f, heads[0]] for f in fresh)]  # the test sets, in the columns' order
    names = ["common test split", *(r["data"][0].removeprefix("data/judge/") for r in sets[1:])]
    cols = [
        f"{name} ({r['test_disagreements']['n']}, {r['test_disagreements']['n_errors']} errors)"
        for name, r in zip(names, sets, strict=True)
    ]
    lines = [
        f"Measured by `hf-judge test-head --split test` on the {len(rep['data'])} shards' test questions as above, "
        f"and by `hf-judge test-head` on {', '.join(names[1:])}, built after every head "
        "here. ROC-AUC on the evenly spread draft/target disagreements." + INTERVAL_NOTE,
        "",
        "| head | data | grid | threshold | "
        + " | ".join(cols)
        + " | common test split at its threshold: errors rejected / acceptable kept |",
        "|---|---|---|---|" + "---|" * (len(cols) + 1),
    ]
    for picked, averaged in pairs:
        for v in (picked, averaged):
            r = trained[v]
            how = (
                "averaged"
                if r.get("combine") == "average"
                else f"picked: {r['config']['lr']:g}/{r['config']['weight_decay']:g}"
            )
            aucs = [split[v]["test_disagreements"]] + [held[f, v]["test_disagreements"] for f in fresh]
            lines.append(
                f"| {v} | {picked}'s ({len(training_data(r))} shards) | {how} | {r['calibration']['threshold']:.3f} | "
                + " | ".join(auc_text(m) for m in aucs)
                + f" | {aucs[0]['error_recall']:.0%} / {aucs[0]['recall']:.0%} |"
            )
    text = "; ".join(
        f"{name}: " + ", ".join(f"{k} {m['test_disagreements']:.3f}" for k, m in r.get("free_rules", {}).items())
        for name, r in zip(names, sets, strict=True)
    )
    lines += ["", f"The free rules on the same disagreements, {text}."]
    picked, averaged = pairs[-1]
    a, b = trained[picked].get("learning_curve"), trained[averaged].get("learning_curve")
    if a and b:  # the same shares of the same training questions, validated and tested on the same ones
        if [p["train_disagreements"] for p in a] != [p["train_disagreements"] for p in b]:
            raise ValueError(f"{picked}'s and {averaged}'s learning curves must use the same shares")
        lines += [
            "",
            f"{picked}'s and {averaged}'s learning curves on shares of the training questions ({picked}'s at every "
            f"point with the learning rate and weight decay its grid picked, {averaged}'s the grid averaged at every "
            "point; the same test split):",
            "",
            f"| training questions | training disagreements | {picked}: test disagreements ROC-AUC | {averaged} |",
            "|---|---|---|---|",
            *(
                f"| {p['train_questions']} | {p['train_disagreements']} | {p['test_disagreements_roc_auc']:.3f} "
                f"| {q['test_disagreements_roc_auc']:.3f} |"
                for p, q in zip(a, b, strict=True)
            ),
        ]
    return "\n".join(lines)


def recheck_table(folders: list[str]) -> list[str]:
    """What ``hf-judge recheck`` changed in each data folder (its ``recheck.json``)."""
    reports = {folder: json.loads((ROOT / folder / "recheck.json").read_text()) for folder in folders}
    samples = {r["samples"] for r in reports.values()}
    if len(samples) != 1:
        raise ValueError(f"the shards were rechecked with different numbers of samples: {sorted(samples)}")
    k = samples.pop()
    lines = [
        "| shard | errors rechecked: evenly spread / where the target likes the draft's token least | kept as errors "
        f"| errors with {' / '.join(map(str, range(k + 1)))} of {k} sampled answers right |",
        "|---|---|---|---|",
    ]
    for folder, r in reports.items():
        src = r["by_source"]
        n = [src.get(s, {}).get("rechecked", 0) for s in ("auto:mismatch", "auto:mismatch:hard")]
        hist = " / ".join(str(r["right_answers"].get(str(k), 0)) for k in range(r["samples"] + 1))
        lines.append(f"| {folder} | {n[0]} / {n[1]} | {r['kept']} of {r['rechecked']} | {hist} |")
    return lines


def judge_recheck_text(rep: dict) -> str:
    """The v2 head on the held-out math shards before and after their errors were rechecked: the same
    positions and scores, other labels."""
    before = _report("judge_heldout_math_layer18_v2_cpu", "test_report.json")
    if before["head"] != rep["head"]:
        raise ValueError("the two held-out tests must be of the same head")
    b, a = before["test_disagreements"], rep["test_disagreements"]
    if b["n"] != a["n"]:
        raise ValueError("the rechecked held-out data must hold the same disagreements")
    lines = [
        f"Measured by `{rep['command']}` (and the same on the shards as built: "
        f"`benchmarks/results/judge_heldout_math_layer18_v2_cpu/`); rechecked by `bash data/judge/recheck.sh "
        "math-steps 1005 1006`." + INTERVAL_NOTE,
        "",
        *recheck_table(rep["data"]),
        "",
        "| scorer | ROC-AUC on the held-out disagreements, labels as built | rechecked labels |",
        "|---|---|---|",
        f"| the v2 head | {auc_text(b)}, {b['n_errors']} errors of {b['n']} | {auc_text(a)}, {a['n_errors']} "
        f"errors of {a['n']} |",
    ]
    for rule, m in rep.get("free_rules", {}).items():
        lines.append(
            f"| free rule: {rule} | {before['free_rules'][rule]['test_disagreements']:.3f} "
            f"| {m['test_disagreements']:.3f} |"
        )
    return "\n".join(lines)


def judge_labels_text(res: dict) -> str:
    """Heads trained on the math shards' labels as built and as rechecked, each tested on the held-out
    shards' labels of both kinds: the same positions and features, other labels (``res``: built / built,
    the target-only head of ``benchmarks/judge_features.py``'s run)."""
    runs = {("built", "built"): res}
    for train, test in (("rechecked", "rechecked"), ("rechecked", "built"), ("built", "rechecked")):
        runs[(train, test)] = json.loads(
            (RESULTS / f"judge_labels_math_train_{train}_test_{test}_cpu.json").read_text()
        )
    lines = [
        "Measured by `benchmarks/judge_features.py` (the target-only head, the v2 head's recipe) on math "
        "shards 1000–1004, tested on 1005–1006, with the labels as built or rechecked; the commands are in "
        "`benchmarks/results/judge_labels_math_*_cpu.json` and `judge_features_math_layer18_cpu.json`.",
        "",
        "| trained on labels | ROC-AUC on the held-out disagreements: labels as built | rechecked labels |",
        "|---|---|---|",
    ]
    for train in ("built", "rechecked"):
        cells = []
        for test in ("built", "rechecked"):
            m = runs[(train, test)]["results"]["target"]["heldout_disagreements"]
            cells.append(f"{auc_text(m)}, {m['n_errors']} errors of {m['n']}")
        lines.append(f"| {'as built' if train == 'built' else 'rechecked'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def judge_features_text(res: dict) -> str:
    """Heads trained on the same data with other features beside the target's (the draft's hidden states,
    AutoJudge's; the draft's logit features), on held-out shards, against the free rules."""
    held = res["results"]["target"]["heldout_disagreements"]
    keys = ("heldout_disagreements", "heldout_disagreements_and_hard", "heldout")
    n = {k: res["results"]["target"][k] for k in keys}
    mlp = json.loads(MLP_FEATURES.read_text())
    lines = [
        f"Measured by `{res['command']}`, the MLP head by `{mlp['command']}`." + INTERVAL_NOTE,
        "",
        "| what the head reads beside the target's "
        f"| ROC-AUC on the held-out disagreements ({held['n_errors']} errors of {held['n']}) "
        f"| and the hard picks too ({n[keys[1]]['n_errors']} of {n[keys[1]]['n']}) "
        f"| every held-out position ({n[keys[2]]['n_errors']} of {n[keys[2]]['n']}) |",
        "|---|---|---|---|",
    ]
    for name, r in res["results"].items():
        lines.append(f"| {FEATURE_SETS.get(name, name)} | " + " | ".join(auc_text(r[k]) for k in keys) + " |")
        if name == "target":  # the same features, one hidden layer in place of the linear head
            r = mlp["results"]["target"]
            lines.append(f"| nothing, an MLP head ({MLP_NOTE}) | " + " | ".join(auc_text(r[k]) for k in keys) + " |")
    rules = res["free_rules"]
    for rule, m in rules["heldout"].items():
        both = rules["heldout_disagreements_and_hard"][rule]
        lines.append(f"| free rule: {rule} | {m['test_disagreements']:.3f} | {both:.3f} | {m['test']:.3f} |")
    return "\n".join(lines)


# the grid of the v5, v6 and v7 recipes: each config's head on the same held-out shards (--every-config)
GRIDS = {
    "v5's data": "judge_grid_layer18_v5data_cpu.json",
    "v6's data (v5's and stub seeds 101, 102)": "judge_grid_layer18_v6data_cpu.json",
    "v7's data (v5's and math seeds 1011, 1012)": "judge_grid_layer18_v7data_cpu.json",
}


def _knobs_held(g: dict) -> str:
    """A grid config's learning rate / weight decay and its held-out ROC-AUC on the disagreements."""
    return f"{g['lr']:g} / {g['weight_decay']:g} (held-out {g['heldout_disagreements']['roc_auc']:.3f})"


def judge_grid_text(_res: dict) -> str:
    """Every config of the training grid, trained on each recipe's data, on the same held-out shards: its
    validation ROC-AUC on every position and on the disagreements, against its held-out ROC-AUC on the
    disagreements; and which head each validation criterion picks."""
    runs = {name: json.loads((RESULTS / f).read_text()) for name, f in GRIDS.items()}
    first = next(iter(runs.values()))
    held = first["results"]["target"]["every_config"][0]["heldout_disagreements"]
    lines = [
        "Measured by "
        + ", ".join(f"`{r['command']}`" for r in runs.values())
        + f" ({held['n']} held-out disagreements with {held['n_errors']} errors; every run on the same held-out "
        "shards)." + INTERVAL_NOTE,
        "",
        "| data | learning rate / weight decay | best epoch | validation ROC-AUC, every position | validation, "
        "disagreements | held-out, disagreements |",
        "|---|---|---|---|---|---|",
    ]
    picks = []
    for name, r in runs.items():
        grid = r["results"]["target"]["every_config"]
        if any(g["heldout_disagreements"]["n"] != held["n"] for g in grid):
            raise ValueError(f"{name}: every run must hold out the same disagreements")
        for g in grid:
            lines.append(
                f"| {name} | {g['lr']:g} / {g['weight_decay']:g} | {g['best_epoch']} | {g['val_roc_auc']:.3f} "
                f"| {g['val_disagreements_roc_auc']:.3f} | {auc_text(g['heldout_disagreements'])} |"
            )
        pos = max(grid, key=lambda g: g["val_roc_auc"])
        dis = max(grid, key=lambda g: g["val_disagreements_roc_auc"])
        best = max(grid, key=lambda g: g["heldout_disagreements"]["roc_auc"])
        picks.append(
            f"- {name}: picked on every validation position {_knobs_held(pos)}; on the validation "
            f"disagreements {_knobs_held(dis)}; the grid's best on the held-out disagreements {_knobs_held(best)}"
        )
    return "\n".join([*lines, "", *picks])


def label_cost_text(res: dict) -> str:
    """The labeller's continuations of built items replayed with one shared prefill and with a batch prefill."""
    env = res["environment"]
    lines = [
        f"Measured by `{res['command']}` on {env['device']}, {env['dtype'].replace('torch.', '')}, "
        f"torch {env['torch']}, transformers {env['transformers']}: both ways in one run, item by item.",
        "",
        "| item | substitutions | prefix tokens (mean) | batch prefill (s) | one shared prefill (s) | faster "
        "| same continuations | same labels | labels as in the shard |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, g in enumerate(res["groups"]):
        lines.append(
            f"| {i + 1} | {g['rows']} | {sum(g['prefix_tokens']) / g['rows']:.0f} | {g['seconds_batch_prefill']:.0f} "
            f"| {g['seconds_shared_prefill']:.0f} | {g['speedup']:.2f}x | {g['same_continuations']} of {g['rows']} "
            f"| {g['same_labels']} of {g['rows']} | {g['labels_as_built']} of {g['rows']} |"
        )
    sec = res["seconds"]
    lines.append(
        f"| all | {sum(g['rows'] for g in res['groups'])} | | {sec['batch_prefill']:.0f} | {sec['shared_prefill']:.0f} "
        f"| {res['speedup']:.2f}x | | | |"
    )
    return "\n".join(lines)


def label_batching_text(res: dict) -> str:
    """The labeller's continuations of built items replayed one item per batch and several items per batch."""
    env, sec, n = res["environment"], res["seconds"], res["rows"]
    per = " + ".join(f"{x:.0f}" for x in res["seconds_per_item_before"])
    return "\n".join(
        [
            f"Measured by `{res['command']}` on {env['device']}, {env['dtype'].replace('torch.', '')}, "
            f"torch {env['torch']}, transformers {env['transformers']}: both ways in one run, on the "
            f"{res['items']} items' {n} substitutions ({res['errors_as_built']} labelled errors in the shard).",
            "",
            "| way | seconds | faster | same continuations | same labels | labels as in the shard |",
            "|---|---|---|---|---|---|",
            "| one item per batch, every row stepped until the item's longest is done "
            f"| {sec['one_item_per_batch']:.0f} ({per}) | 1.00x | | | |",
            f"| the items' rows in one batch, a row leaving it once its answer is written "
            f"| {sec['items_together_done_rows_leave']:.0f} | {res['speedup']:.2f}x "
            f"| {res['same_continuations']} of {n} | {res['same_labels']} of {n} | {res['labels_as_built']} of {n} |",
        ]
    )


def judge_learning_curve_text(res: dict) -> str:
    """The default recipe's head trained on nested shares of the math training questions, tested on the
    held-out math shards, once per seed (which questions, and the initialisation)."""
    curves = res["results"]["target"]["heldout_learning_curves"]
    held = res["results"]["target"]["heldout_disagreements"]
    rules = {r: m["test_disagreements"] for r, m in res["free_rules"]["heldout"].items()}
    best = max(rules, key=rules.get)
    lines = [
        f"Measured by `{res['command']}`: {len(curves)} seeds, each its own draw of the shares' questions. "
        f"The held-out disagreements hold {held['n_errors']} errors of {held['n']}; the best free rule "
        f"({best}) ranks them at {rules[best]:.3f}.",
        "",
        "| share of the training questions | questions | training disagreements (mean) "
        "| ROC-AUC on the held-out disagreements: mean (lowest–highest seed) | every held-out position: mean |",
        "|---|---|---|---|---|",
    ]
    for i, p in enumerate(curves[0]):
        pts = [c[i] for c in curves]
        dis = [q["test_disagreements_roc_auc"] for q in pts]
        allp = [q["test_roc_auc"] for q in pts]
        n = sum(q["train_disagreements"] for q in pts) / len(pts)
        lines.append(
            f"| {p['fraction']:g} | {p['train_questions']} | {n:.0f} "
            f"| {sum(dis) / len(dis):.3f} ({min(dis):.3f}–{max(dis):.3f}) | {sum(allp) / len(allp):.3f} |"
        )
    return "\n".join(lines)


LEARNING_CURVE = RESULTS / "judge_learning_curve_math_layer18_cpu.json"


def judge_more_data_text(res: dict) -> str:
    """The same learning curve with more math shards, and its head on all of the training questions beside the
    head of the run before (``LEARNING_CURVE``), on the same held-out shards."""
    runs = {"before": json.loads(LEARNING_CURVE.read_text()), "with the shards built since": res}
    lines = [
        judge_learning_curve_text(res),
        "",
        "The head on all of the training questions (each run's grid choosing its learning rate and weight decay), "
        "on the same held-out shards (ROC-AUC with its 95% interval):",
        "",
        "| run | training shards | training disagreements | held-out disagreements "
        "| held-out disagreements and hard picks |",
        "|---|---|---|---|---|",
    ]
    for name, r in runs.items():
        t = r["results"]["target"]
        dis, hard = t["heldout_disagreements"], t["heldout_disagreements_and_hard"]
        lines.append(
            f"| {name} | {len(training_data(r))} | {r['disagreements']['train']} "
            f"| {auc_text(dis)}, {dis['n_errors']} errors of {dis['n']} "
            f"| {auc_text(hard)}, {hard['n_errors']} errors of {hard['n']} |"
        )
    return "\n".join(lines)


# the target-only feature set trained as an MLP head (one hidden layer) by the same script, grid and data
MLP_FEATURES = RESULTS / "judge_features_math_layer18_mlp_cpu.json"
MLP_NOTE = f"one hidden layer of {TrainConfig.mlp_hidden_size} in place of the linear layer"

# what each feature set of benchmarks/judge_features.py reads beside the target's hidden state
FEATURE_SETS = {
    "target": "nothing (the v2 head's recipe)",
    "target+draft_logits": "the draft's logit features for the token",
    "target+draft_prev": "the draft's last hidden state that proposed the token (AutoJudge)",
    "target+draft": "the draft's last hidden state at the token",
    "target+draft_prev+draft_logits": "the draft's state that proposed the token and its logit features",
}


# what the parentheses after an ROC-AUC are (``auc_text``)
INTERVAL_NOTE = (
    " In parentheses: the 95% interval of an ROC-AUC from chance alone (DeLong's, on the logit scale; it takes "
    "positions as independent, so if anything it is too narrow)."
)


def own_curve(rep: dict) -> list[str]:
    """A retrained head's learning curve under the table comparing it, where its report has one."""
    if not rep.get("learning_curve"):
        return []
    return [
        "",
        "Its learning curve (its own validation and test questions at every point):",
        "",
        *curve_table(rep["learning_curve"]),
    ]


def curve_table(curve: list[dict]) -> list[str]:
    """A training report's learning curve: test ROC-AUC against training size."""
    return [
        "| training questions | training disagreements | test ROC-AUC | test ROC-AUC, disagreements only |",
        "|---|---|---|---|",
        *(
            f"| {p['train_questions']} | {p['train_disagreements']} | {p['test_roc_auc']:.3f} "
            f"| {p['test_disagreements_roc_auc']:.3f} |"
            for p in curve
        ),
    ]


def judge_training_text(rep: dict, folder: str = "judge_training_cpu") -> str:
    """A head trained on the committed judge data against the free rules, on the same held-out test
    questions, and its learning curve."""
    env, te, td = rep["environment"], rep["test"], rep["test_disagreements"]
    reads = reads_text(rep)
    lines = [
        f"Measured by `{rep['command']}` on {env['device']}, {env['dtype'].replace('torch.', '')}, torch "
        f"{env['torch']}, transformers {env['transformers']}. Split by question: the test questions are never "
        f"trained or tuned on. Test: {te['n']} labelled positions ({te['n_errors']} errors), of them "
        f"{td['n']} evenly spread draft/target disagreements ({td['n_errors']} errors).",
    ]
    if rep.get("grid"):  # the card's sentence: one renderer for both
        lines[-1] += f" Optimiser: AdamW, {optimiser_text(rep)}."
    lines += ["", *auc_table(rep, f"trained head ({reads})")]
    lines += domain_table(rep.get("test_by_domain"))  # the card's table: one renderer for both
    curve = rep.get("learning_curve")
    if curve:
        lines += ["", "Learning curve (the same validation and test questions at every point):", ""]
        lines += curve_table(curve)
        lines += ["", f"![learning curve](benchmarks/results/{folder}/learning_curve.png)"]
    return "\n".join(lines)


def pooled_table(task: str, rows: dict[str, list[tuple[str, str]]], results: dict[str, dict]) -> str:
    """Points measured on several disjoint prompt sets of ``task``, pooled into one row each.

    ``rows`` maps a row's name to its ``(folder, method)`` on each prompt set, in the same order for every row
    (the first row the target alone); ``results`` maps each folder to its results.json. Tokens per forward are
    pooled as all new tokens over all target forwards; a right-or-wrong quality as the count right of all
    prompts, with the target alone's right answers each point lost and its wrong ones it gained; and each row
    is checked against matched quality (at most one fewer right than the target alone)."""
    sets = list(zip(*rows.values(), strict=True))  # per prompt set: every row's (folder, method)
    spans = []
    for points in sets:
        cfgs = {(results[f]["config"].get("skip", 0), results[f]["config"]["limit"]) for f, _ in points}
        if len(cfgs) != 1:
            raise ValueError(f"{task}: the points of one prompt set ran on different prompts: {sorted(cfgs)}")
        spans.append(cfgs.pop())
    spans.sort()
    for (s0, n0), (s1, n1) in zip(spans, spans[1:], strict=False):
        if s1 < s0 + n0:
            raise ValueError(
                f"{task}: prompt sets {s0}-{s0 + n0 - 1} and {s1}-{s1 + n1 - 1} overlap: pooled prompts must differ"
            )
    first = next(iter(rows))
    lines = [
        "| point | tokens/forward | x SD | right (of " + str(sum(n for _, n in spans)) + ") | lost / gained |",
        "|---|---|---|---|---|",
    ]
    pooled = {}
    for name, points in rows.items():
        got = [results[f]["tasks"][task][m] for f, m in points]
        q = next(k for k in got[0] if k.startswith("quality:"))
        items = [x for r in got for x in r["per_item"][q]]
        if not set(items) <= {0, 1}:
            raise ValueError(f"{task}, {name}: {q[8:]} is not right-or-wrong per prompt: it does not pool as a count")
        pooled[name] = (sum(r["new_tokens"] for r in got) / sum(r["target_forwards"] for r in got), items)
    sd = pooled["sd"][0] if "sd" in pooled else None
    target = pooled[first][1]
    for name, (tpf, items) in pooled.items():
        x_sd = f"{tpf / sd:.2f}" if sd else ""
        lost_gained = _lost_gained(items, target)[3:]
        lines.append(f"| {name} | {tpf:.2f} | {x_sd} | {int(sum(items))} | {lost_gained} |")
    matched = [
        n + (f" ({tpf / sd:.3f}x SD)" if sd else "")
        for n, (tpf, items) in pooled.items()
        if n != first and sum(items) >= sum(target) - 1
    ]
    lines += [
        "",
        "At matched quality (at most one fewer right than the target alone): " + (", ".join(matched) or "none") + ".",
    ]
    return "\n".join(lines)


def standing_text(_res: dict, points: tuple[tuple[str, str, str, float], ...]) -> str:
    """One head against every lossy peer on several bench folders, a row per ``(folder, task, quality, _)`` of
    ``points`` (as :func:`headroom_text` takes them; the speed bar is not used here): for each
    peer the fastest judge point with at least its quality and tokens per target forward (or none), and the
    fastest judge point at matched quality as a multiple of standard SD's tokens per forward."""
    results = {folder: _report(folder, "results.json") for folder, *_ in points}
    peers = list(dict.fromkeys(p for f, t, *_ in points for p in lossy_peers(results[f]["tasks"][t])))
    lines = [
        "| task, prompts, quality | " + " | ".join(f"matches {p}" for p in peers) + " | at matched quality |",
        "|---|" + "---|" * (len(peers) + 1),
    ]
    for folder, task, q, _ in points:
        rows, cfg = results[folder]["tasks"][task], results[folder]["config"]
        cells = []
        for p in peers:
            if p not in rows:
                cells.append("not run")
                continue
            best = matching_point(rows, q, p)
            cells.append(f"{best} ({rows[best][q]:.3f}, {rows[best]['tokens_per_step']:.2f})" if best else "**no**")
        matched = at_matched_quality(rows, q, cfg["limit"])
        lines.append(f"| {task} {_span(cfg)}, {q[8:]} | " + " | ".join(cells) + f" | {matched} |")
    return "\n".join(lines)


def standing_panels(points: tuple[tuple[str, str, str, float], ...]) -> list[dict]:
    """:func:`plot_standing`'s panels for ``points`` (as :func:`headroom_text` takes them): every transformers-path
    row of each folder's task at its quality and tokens per target forward, with the matched-quality bar
    (:func:`matched_bar`) and the speed bar (the multiple of standard SD's tokens per forward)."""
    panels = []
    for folder, task, q, speed in points:
        res = _report(folder, "results.json")
        rows, peers = res["tasks"][task], lossy_peers(res["tasks"][task])
        found = matched_bar(rows, q, res["config"]["limit"])
        panels.append(
            {
                "title": f"{task} {_span(res['config'])} ({res['config']['limit']} prompts)",
                "quality": q[8:],
                "points": {
                    m: (r["tokens_per_step"], r[q])
                    for m, r in rows.items()
                    if m in peers or m in ("target", "sd") or family(m) == "judge"
                },
                "quality_bar": None if found is None else found[0],
                "speed_bar": speed * rows["sd"]["tokens_per_step"],
            }
        )
    return panels


def _standing_setup(points: tuple[tuple[str, str, str, float], ...]) -> tuple[str, str, str]:
    """The draft lengths (``"16"``, or ``"5/8/16"``), dtype and device the standing's folders record: they must
    agree (a folder measured otherwise is an error, not a panel beside the others)."""
    setups = set()
    for folder, *_ in points:
        res = _report(folder, "results.json")
        env = res["environment"]
        setups.add((tuple(res["config"]["num_assistant_tokens"]), env["dtype"], env["device"]))
    if len(setups) != 1:
        raise ValueError(f"the standing's folders were measured differently: {sorted(setups)}")
    ((ks, dtype, device),) = setups
    return "/".join(map(str, ks)), dtype.removeprefix("torch."), device


def standing_figure(path: Path, points: tuple[tuple[str, str, str, float], ...], head: str) -> Path:
    """Draw :func:`standing_panels` to ``path``, titled with the setup the folders record (:func:`_standing_setup`)."""
    ks, dtype, device = _standing_setup(points)
    title = f"{head} against the free rules, k={ks}, {dtype}, {device}"
    return plot_standing(standing_panels(points), path, title=title)


def standing_figure_text(_res: dict, points: tuple[tuple[str, str, str, float], ...], figure: str) -> str:
    """The README's link to the standing figure (drawn by ``FIGURES``) and what it draws."""
    bars = ", ".join(f"{task} {speed:g}x" for task, speed in dict.fromkeys((t, s) for _, t, _, s in points))
    return (
        f"![The default head against every free rule, k={_standing_setup(points)[0]}]({figure})\n\n"
        "Each panel: one held-out prompt set, quality against tokens per target forward, every method measured "
        "there (the judge's points joined by plausibility floor, each labelled with its threshold; each free rule "
        "labelled with its knob); dotted: the "
        "target alone's quality (it makes one token per forward, left of every axis). Dashed "
        "green: the matched-quality bar (at most one item fewer right than the target alone; a win rate of "
        f"0.45 on MT-Bench) and the speed bar (standard SD's tokens per forward times {bars}); shaded: "
        f"where a point clears both. Drawn by `python benchmarks/readme_tables.py` from the folders' `results.json`."
    )


def changed_answers(points: list[float], bar: float) -> tuple[int, float, float] | None:
    """How a point's MT-Bench win rate comes about, from its per-prompt ``points``: ``(answers changed, win rate
    among them, the win rate among them a win rate of ``bar`` needs at that many)``. An answer the same as the
    target's scores a tie (0.5) by construction; a changed one wins or loses on its rating. None where nothing
    changed."""
    changed = [w for w in points if w != 0.5]  # a changed answer is rated apart from the target's: 0 or 1
    if not changed:
        return None
    n, c = len(points), len(changed)
    return c, sum(changed) / c, (bar * n - 0.5 * (n - c)) / c


def changed_answers_text(_res: dict, heads: tuple[tuple[str, str], ...]) -> str:
    """Every point of the MT-Bench folders of ``heads`` (``(name, bench folder)``), the free rules from the last:
    its tokens per target forward, how many answers it changed, how many of those won against the target's own
    answer, and what the matched-quality bar (:func:`matched_bar`) asks of them at that many."""
    results = {name: _report(folder, "results.json") for name, folder in heads}
    last = results[heads[-1][0]]
    n = last["config"]["limit"]
    bar, _ = matched_bar(last["tasks"]["mt-bench"], "quality:win_rate", n)
    lines = [
        f"| point | tokens/forward | answers changed (of {n}) | won, of the changed | win rate | "
        f"the changed must win, for a win rate of {bar:.2f} |",
        "|---|---|---|---|---|---|",
    ]
    points = [
        (name, m, r)
        for name, res in results.items()
        for m, r in res["tasks"]["mt-bench"].items()
        if family(m) == "judge"
    ]
    rows = last["tasks"]["mt-bench"]
    points += [("", m, r) for m, r in rows.items() if m in lossy_peers(rows)]
    for name, m, r in sorted(points, key=lambda p: p[2]["tokens_per_step"]):
        split = changed_answers(r["per_item"]["quality:win_rate"], bar)
        c, won, needed = ("0", "-", "-") if split is None else (split[0], f"{split[1]:.3f}", f"{split[2]:.3f}")
        lines.append(
            f"| {f'{name} ' if name else ''}{m} | {r['tokens_per_step']:.2f} | {c} | {won} | "
            f"{r['quality:win_rate']:.3f} | {needed} |"
        )
    folders = ", ".join(f"`benchmarks/results/{folder}/` ({name})" for name, folder in heads)
    return (
        f"From {folders}: the same {n} prompts and grader (the target rating each answer alone); the free rules' rows "
        f"from the last. Standard SD changes no answer (a win rate of 0.5 by construction).\n\n" + "\n".join(lines)
    )


def parting_share(answer: list[int], target: list[int]) -> float:
    """Where ``answer`` first parts from the target's answer ``target`` (token ids), as a share of the target's
    length: 0 at its first token; an answer that stops early parts where it stops."""
    n = next((i for i, (a, b) in enumerate(zip(answer, target, strict=False)) if a != b), min(len(answer), len(target)))
    return n / max(1, len(target))


PARTING_BINS = (0.0, 0.1, 0.25, 0.5, 1.0)  # shares of the target's answer, each bin [lo, hi) and the last [lo, hi]


def changed_by_parting(points: list[tuple[float, float, float]], bins=PARTING_BINS) -> list[tuple[float, ...]]:
    """``points`` (parting share, win 0 or 1, rating change) of changed answers -> per bin of ``bins``: (lo, hi,
    answers, share won, mean rating change); a bin with no answer is left out."""
    rows = []
    for j, (lo, hi) in enumerate(zip(bins[:-1], bins[1:], strict=True)):
        last = j == len(bins) - 2
        got = [(w, d) for x, w, d in points if lo <= x < hi or (last and x == hi)]
        if got:
            rows.append((lo, hi, len(got), mean([w for w, _ in got]), mean([d for _, d in got])))
    return rows


def changed_mtbench_answers(heads: tuple[tuple[str, str], ...]) -> tuple[list[dict], int]:
    """The changed MT-Bench answers of every point of :func:`changed_answers_text` (the judge points of every
    folder in ``heads``, the free rules from the last), each ``{"parting", "won", "change", "category"}`` (where it
    first parts from the target's answer, :func:`parting_share`; 1 won or 0 lost; its rating less the target's
    answer's; its MT-Bench category), and how many points they come from."""
    from hf_judge.bench.tasks import load_task

    points, n_points = [], 0
    for k, (_name, folder) in enumerate(heads):
        res = _report(folder, "results.json")
        rows, cfg = res["tasks"]["mt-bench"], res["config"]
        examples = load_task("mt-bench", cfg["limit"], cfg.get("skip", 0))
        answers = {(r["id"], r["method"]): r["new_ids"] for r in read_records(RESULTS / folder / "records.jsonl")}
        mine = [m for m in rows if family(m) == "judge" or (k == len(heads) - 1 and m in lossy_peers(rows))]
        n_points += len(mine)
        base = rows["target"]["per_item"]["quality:rating"]
        for m in mine:
            per = rows[m]["per_item"]
            for j, (ex, w, rating) in enumerate(
                zip(examples, per["quality:win_rate"], per["quality:rating"], strict=True)
            ):
                if w == 0.5:  # the same text as the target's (a tie by construction): not changed
                    continue
                own, theirs = answers[ex["id"], m], answers[ex["id"], "target"]
                if own == theirs:
                    raise ValueError(f"{folder}: {m} on {ex['id']} has the target's answer but a win of {w}, not a tie")
                points.append(
                    {
                        "parting": parting_share(own, theirs),
                        "won": w,
                        "change": rating - base[j],
                        "category": ex["category"],
                    }
                )
    return points, n_points


def changed_by_parting_text(_res: dict, heads: tuple[tuple[str, str], ...]) -> str:
    """:func:`changed_mtbench_answers` by where each first parts from the target's own answer: how many, the share
    that won, and their mean rating change against the target's answer."""
    points, n_points = changed_mtbench_answers(heads)
    lines = [
        "| first parts from the target's answer | changed answers | won, of them | mean rating change |",
        "|---|---|---|---|",
    ]
    for lo, hi, n, won, d in changed_by_parting([(p["parting"], p["won"], p["change"]) for p in points]):
        lines.append(f"| {lo:.0%} to {hi:.0%} of the way in | {n} | {won:.3f} | {d:+.2f} |")
    return (
        f"The {len(points)} changed answers of those {n_points} points, by where each first parts from the target's "
        "own answer (the share of its tokens before the first that differs); the rating change is against the target's "
        "own answer's rating.\n\n" + "\n".join(lines)
    )


def changed_by_category_text(_res: dict, heads: tuple[tuple[str, str], ...]) -> str:
    """:func:`changed_mtbench_answers` by MT-Bench category: how many, the share that won, the mean rating change."""
    points, _ = changed_mtbench_answers(heads)
    by: dict[str, list[dict]] = {}
    for p in points:
        by.setdefault(p["category"], []).append(p)
    lines = ["| category | changed answers | won, of them | mean rating change |", "|---|---|---|---|"]
    for c, ps in sorted(by.items(), key=lambda kv: -mean([p["won"] for p in kv[1]])):
        lines.append(
            f"| {c} | {len(ps)} | {mean([p['won'] for p in ps]):.3f} | {mean([p['change'] for p in ps]):+.2f} |"
        )
    return "The same changed answers by MT-Bench category, from the most often won:\n\n" + "\n".join(lines)


def self_preference_text(res: dict) -> str:
    """What the target's own sampled answers score against its greedy ones under the MT-Bench folder's grader
    (``benchmarks/self_preference.py``), beside every point of that folder on the same prompts, and which side
    of the matched-quality bar each falls."""
    from hf_judge.bench.tasks import load_task

    n, bar = res["prompts"], matched_bar({}, "quality:win_rate", res["prompts"])[0]
    command = shlex.split(res["command"])
    temp = command[command.index("--temperature") + 1]
    folder = Path(res["folder"]).name
    rows = _report(folder, "results.json")["tasks"]["mt-bench"]
    ids = {ex["id"] for ex in load_task("mt-bench", n)}  # the folder's first n prompts
    last = {(r["id"], r["method"]): r for r in read_records(RESULTS / folder / "records.jsonl") if r["id"] in ids}
    steps: dict[str, list[int]] = {}  # method -> [new tokens, target forwards] on those prompts
    for (_, m), r in last.items():
        got = steps.setdefault(m, [0, 0])
        got[0], got[1] = got[0] + r["new_tokens"], got[1] + r["steps"]

    def line(name, tpf, wins):
        c, won, _ = changed_answers(wins, bar) or (0, None, None)
        won = "-" if won is None else f"{won:.3f}"
        return f"| {name} | {tpf:.2f} | {mean(wins):.3f} | {c} of {len(wins)} | {won} |"

    points = [(m, steps[m][0] / steps[m][1], r["per_item"]["quality:win_rate"][:n]) for m, r in rows.items()]
    points = sorted((p for p in points if p[0] != "target"), key=lambda p: p[1])
    changing = [wins for _, _, wins in points if set(wins) != {0.5}]  # the points that change some answer
    lines = [
        f"Measured by `{res['command']}` on {res['environment']['device']}, {res['environment']['dtype']}: the "
        f"target's own answers to the first {n} prompts of `{res['folder']}/`, sampled at temperature {temp} "
        f"(up to {res['max_new_tokens']} new tokens, as the bench), each rated by the same grader against the "
        "target's greedy answer there; beside them, that folder's points on the same prompts (tokens per target "
        "forward on those prompts).",
        "",
        "| answers | tokens/forward | win rate | answers changed | won, of the changed |",
        "|---|---|---|---|---|",
        line(f"the target's own, sampled at {temp}", 1.0, res["per_item"]["win_rate"]),
        *(line(m, tpf, wins) for m, tpf, wins in points),
        "",
        "The target's sampled answers by MT-Bench category (the share of its prompts won, ties as half): "
        + ", ".join(f"{c} {w:.2f}" for c, w in res["win_rate_by_category"].items())
        + f"; their mean rating {res['rating']:.2f}, the greedy answers' {res['rating_greedy']:.2f}.",
        "",
        f"The bar of matched quality is a win rate of {bar:.2f}: the target's own sampled answers "
        + ("fall below it." if res["win_rate"] < bar else "reach it.")
        + f" Of the folder's points that change answers, {sum(mean(w) >= res['win_rate'] for w in changing)} of "
        f"{len(changing)} reach at least the sampled answers' win rate on these prompts.",
    ]
    return "\n".join(lines)


RATING_SCORES = {  # a rating-labels report's score -> its name in the tables
    "head": "the trained head",
    "top-k": "top-k (1 / rank)",
    "ratio": "probability ratio p(d) / max p",
    "entropy": "entropy gate",
    "-preservation_drop": "preservation (minus its drop)",
}


def _auc_cell(auc: float | None, ci: list[float] | None) -> str:
    return "-" if auc is None else f"{auc:.2f}" if ci is None else f"{auc:.2f} ({ci[0]:.2f}-{ci[1]:.2f})"


def rating_labels_text(rep: dict, least: int = 10) -> str:
    """Which acceptance score predicts the open-ended bench's figure (``benchmarks/rating_labels.py``): each
    score's ROC-AUC for "the draft's token keeps the answer's rating" at each tolerance, what each keeps at its
    usual cut, and which scores tell the labels apart beyond chance where there are at least ``least`` of each."""
    env, n = rep["environment"], rep["substitutions"]
    head = option_values(rep["command"], "--head")[0]
    tols = list(rep["lowered"])
    q = rep["delta_quantiles"]
    lines = [
        f"Measured by `{rep['command']}` on {env['device']}, {env['dtype']}: {n} substitutions on {rep['prompts']} of "
        f"this project's open-ended prompts (none of them MT-Bench's), {rep['seconds_per_prompt'] / 60:.1f} min per "
        f"prompt. The rating change of the finished answer against the target's own: median {q['0.5']:+.2f}, "
        f"quartiles {q['0.25']:+.2f} and {q['0.75']:+.2f}; "
        + ", ".join(f"{rep['kept_share'][t]:.2f} within {t}" for t in tols)
        + '. ROC-AUC for the label "the rating falls by at most t" (0.5 is chance; in brackets DeLong\'s 95% '
        "interval, which takes the substitutions as independent: those of one prompt are not, so it is if "
        f"anything too narrow); the head is `--head {head}`:",
        "",
        "| score | " + " | ".join(f"t = {t}" for t in tols) + " | within a prompt |",
        "|---|" + "---|" * (len(tols) + 1),
        "| substitutions that lower the rating by more than t | "
        + " | ".join(str(rep["lowered"][t]) for t in tols)
        + " | - |",
    ]
    for key, name in RATING_SCORES.items():
        aucs, cis, w = rep["roc_auc"][key], rep["roc_auc_interval"][key], rep["within_prompt"][key]
        within = _auc_cell(*(None, None) if w is None else (w["concordance"], w["interval"]))
        lines.append(f"| {name} | " + " | ".join(_auc_cell(aucs[t], cis[t]) for t in tols) + f" | {within} |")
    lines += [
        "",
        f"{rep['prompt_share']:.2f} of the rating changes' variance lies between prompts, so a score can rank "
        "above chance over all substitutions by telling the prompts whose answers any change lowers from the "
        "others, without ranking the substitutions of one answer. The last column leaves the prompts' levels out: "
        "of two substitutions in one prompt, how often the one that lowers the rating less scores higher (0.5 is "
        "chance; in brackets a 95% bootstrap interval over the prompts).",
    ]
    lines += [
        "",
        "What each keeps at its usual cut (the head at its calibrated threshold with its plausibility floor):",
        "",
        "| score | cut | keeps (of " + str(n) + ") | mean rating change, kept | mean rating change, not kept |",
        "|---|---|---|---|---|",
    ]
    for key, cut in rep["at_cut"].items():
        c = cut["cut"]
        if isinstance(c, str):  # the head's "threshold/r<floor>"
            t, r = c.split("/r")
            c = f"{float(t):.3f}, floor {r}"
        kept, rej = cut["mean_delta_kept"], cut["mean_delta_rejected"]
        lines.append(
            f"| {RATING_SCORES[key]} | {c} | {cut['kept']} | "
            + " | ".join("-" if v is None else f"{v:+.3f}" for v in (kept, rej))
            + " |"
        )

    def sides(cells: list[tuple[str, list[float] | None]]) -> tuple[list[str], list[str]]:
        """The cells whose interval lies wholly above 0.5, and those wholly below it."""
        return [c for c, ci in cells if ci and ci[0] > 0.5], [c for c, ci in cells if ci and ci[1] < 0.5]

    counted = [t for t in tols if min(rep["lowered"][t], n - rep["lowered"][t]) >= least]
    pooled = sides(
        [
            (f"{name} at t = {t}", rep["roc_auc_interval"][key][t])
            for t in counted
            for key, name in RATING_SCORES.items()
        ]
    )
    inner = sides([(name, (rep["within_prompt"][key] or {}).get("interval")) for key, name in RATING_SCORES.items()])
    said = (
        f"Above chance (the interval wholly above 0.5): over all substitutions, where a label has at least {least} "
        f"of each class, {', '.join(pooled[0]) or 'none'}; within a prompt, {', '.join(inner[0]) or 'none'}."
    )
    if pooled[1] or inner[1]:
        said += " Below chance: " + ", ".join(pooled[1] + [f"{c} within a prompt" for c in inner[1]]) + "."
    return "\n".join([*lines, "", said])


PROBES = {  # a rating-probe report's probe -> its name in the table
    "probe:hidden": "probe on the hidden state",
    "probe:scores": "probe on the scores and position",
    "probe:both": "probe on both",
}


def rating_probe_text(rep: dict) -> str:
    """Logistic probes trained on the rating labels, cross-validated by prompt (``benchmarks/rating_probe.py``):
    their out-of-fold ROC-AUC and within-prompt concordance beside the scores' on the same substitutions."""
    env, tols = rep["environment"], list(rep["tolerances"])
    names = {**PROBES, **{k: v for k, v in RATING_SCORES.items() if k in rep["tolerances"][tols[0]]["roc_auc"]}}

    def table(cell) -> list[str]:
        head = "| score | " + " | ".join(f"t = {t}" for t in tols) + " |"
        rows = [
            f"| {name} | " + " | ".join(cell(rep["tolerances"][t], key) for t in tols) + " |"
            for key, name in names.items()
        ]
        return [head, "|---|" + "---|" * len(tols), *rows]

    def auc(got, key):
        return _auc_cell(got["roc_auc"][key], got["roc_auc_interval"][key])

    def within(got, key):
        w = got["within_prompt"][key]
        return "-" if w is None else _auc_cell(w["concordance"], w["interval"])

    lam = sorted({x for got in rep["tolerances"].values() for xs in got["lambda_per_fold"].values() for x in xs})
    lines = [
        f"Measured by `{rep['command']}` on {env['device']}, {env['dtype']}: {rep['substitutions']} substitutions of "
        f"{rep['prompts']} prompts; each probe is a logistic regression trained anew for each label, each prompt's "
        "substitutions scored by one trained on the other prompts' alone, its L2 weight chosen by inner folds of "
        f"those (weights chosen: {', '.join(f'{x:g}' for x in lam)}). The hidden state is the head's layer's "
        f'(`hidden_states[{rep["hidden_layer"]}]`) at the draft token. ROC-AUC for "the rating falls by at most '
        "t\" (the label each probe was trained on), in brackets DeLong's 95% interval:",
        "",
        *table(auc),
        "",
        "Within a prompt (of two substitutions in one prompt, how often the one that lowers the rating less scores "
        "higher; each probe the one trained on that column's label; in brackets a 95% bootstrap interval over the "
        "prompts):",
        "",
        *table(within),
    ]
    return "\n".join(lines)


def _share_of_way(tpf: float, sd: float, ceiling: float) -> float:
    """The share of standard SD's target forwards above the least a draft length allows that a point at ``tpf``
    tokens per forward removes (SD at ``sd``, every draft token kept at ``ceiling``; forwards go as 1 / tpf)."""
    return (1 / sd - 1 / tpf) / (1 / sd - 1 / ceiling)


def headroom_text(_res: dict, points: tuple[tuple[str, str, str, float], ...]) -> str:
    """How far each task's speed bar sits between standard SD and the most a draft length allows.

    ``points`` holds ``(folder, task, quality, bar)`` per row: a bench folder, its task, the quality the bar is
    judged by and the bar as a multiple of standard SD's tokens per target forward. At draft length k a step makes
    at most k+1 tokens, so SD's answers (their lengths from the folder's records) need at least ceil(n / (k+1))
    target forwards each, every draft token kept; each point's share of the way is the share of SD's forwards
    above that least it removes (at SD's answer lengths), the bar's the share a point must remove."""
    lines = [
        "| task, prompts | standard SD | every draft token kept | the bar | the bar's share of the way "
        "| the furthest point measured: share of the way, quality (difference from the target alone) |",
        "|---|---|---|---|---|---|",
    ]
    for folder, task, q, bar in points:
        res = _report(folder, "results.json")
        (k,) = res["config"]["num_assistant_tokens"]
        rows = res["tasks"][task]
        sd = [r for r in read_records(RESULTS / folder / "records.jsonl") if r["method"] == "sd"]
        tokens, least = sum(r["new_tokens"] for r in sd), sum(-(-r["new_tokens"] // (k + 1)) for r in sd)
        if (len(sd), tokens) != (res["config"]["limit"], rows["sd"]["new_tokens"]):
            raise ValueError(f"{folder}: standard SD's records ({len(sd)}, {tokens} tokens) are not its results'")
        sd_tpf, ceiling = rows["sd"]["tokens_per_step"], tokens / least
        far = max((m for m in rows if m not in ("target", "sd")), key=lambda m: rows[m]["tokens_per_step"])
        lines.append(
            f"| {task} {_span(res['config'])}, k={k} | {sd_tpf:.2f} | {ceiling:.2f} "
            f"| {bar:g}x: {bar * sd_tpf:.2f} "
            f"| {_share_of_way(bar * sd_tpf, sd_tpf, ceiling):.0%} "
            f"| {far}: {_share_of_way(rows[far]['tokens_per_step'], sd_tpf, ceiling):.0%}, "
            f"{q[8:]} {quality_text(rows[far], q, rows['target'])} |"
        )
    return "\n".join(lines)


def _pooled(task: str, rows: dict[str, list[tuple[str, str]]]):
    """A section pooling points over disjoint prompt sets (:func:`pooled_table`), from their bench folders."""
    folders = list(dict.fromkeys(f for points in rows.values() for f, _ in points))

    def text(_res: dict) -> str:
        results = {f: _report(f, "results.json") for f in folders}
        spans = sorted({(r["config"].get("skip", 0), r["config"]["limit"]) for r in results.values()})
        head = (
            f"Pooled over {task}'s prompts "
            + " and ".join(_span({"skip": a, "limit": n}) for a, n in spans)
            + ", from "
            + ", ".join(f"`benchmarks/results/{f}/`" for f in folders)
            + " (each row: that point on every prompt set; tokens/forward: all new tokens over all target forwards; "
            "lost / gained: the target alone's right answers the point lost, and its wrong ones the point got right):"
        )
        return head + "\n\n" + pooled_table(task, rows, results)

    return RESULTS / folders[-1] / "results.json", text


def _frontier(folder: str):
    """A section from an ``hf-judge bench`` folder: its results.json, rendered by :func:`frontier_table`."""
    return RESULTS / folder / "results.json", partial(frontier_table, folder=folder)


def _frontier_beside(folder: str, base: str):
    """:func:`_frontier` with an earlier head's judge points on the same prompts below (:func:`earlier_head_lines`)."""
    return RESULTS / folder / "results.json", lambda res: "\n".join(
        [frontier_table(res, folder=folder), *earlier_head_lines(res, base)]
    )


def _heads_on(held: str, *versions: str):
    """:func:`judge_fresh_text` for v2 and the heads ``versions`` (``"v5"``, ...; the newest last) on the held-out
    data of their ``judge_heldout_{held}_layer18_*`` folders."""
    return RESULTS / f"judge_training_layer18_{versions[-1]}_cpu" / "training_report.json", partial(
        judge_fresh_text,
        runs=[f"judge_training_layer18_{v}_cpu" for v in versions],
        held=[f"judge_heldout_{held}_layer18_{v}_cpu" for v in ("v2", *versions)],
    )


# the default head's held-out prompt sets: (bench folder, task, the quality its bars are judged by, issue 12's speed
# bar as a multiple of standard SD's tokens per target forward at k=16)
V9_SETS = (
    ("frontier_math512_layer18_v9_cpu", "math-steps", "quality:exact_match", 1.2),
    ("frontier_math512_heldout_layer18_v9_cpu", "math-steps", "quality:exact_match", 1.2),
    ("frontier_humaneval_heldout_layer18_v9_cpu", "humaneval", "quality:pass@1", 1.2),
    ("frontier_humaneval_heldout80_layer18_v9_cpu", "humaneval", "quality:pass@1", 1.2),
    ("frontier_mtbench64_layer18_v9_cpu", "mt-bench", "quality:win_rate", 1.5),
)
_V9_MATH = tuple(folder for folder, task, *_ in V9_SETS if task == "math-steps")  # problems 0-79, 80-119
HEAD_REPORT = ROOT / "hf_judge" / "registry" / "heads" / "qwen2.5-coder-1.5b--0.5b" / "training_report.json"
# the heads run on all 64 MT-Bench prompts with the same grader: (name, bench folder), the free rules in the last
MTBENCH64_HEADS = (
    ("v2", "frontier_mtbench64_layer18_v2_cpu"),
    ("v5", "frontier_mtbench64_layer18_v5_more_cpu"),
    ("v9", "frontier_mtbench64_layer18_v9_cpu"),
)

SECTIONS = {
    "speed-cpu": (RESULTS / "speed_cpu.json", speed_cpu_table),
    "default-head": (HEAD_REPORT, default_head_text),
    "default-head-aucs": (HEAD_REPORT, partial(held_out_auc_text, heads=("v5", "v9"))),
    "frontier-cpu": _frontier("frontier_cpu"),
    "frontier-math512-cpu": _frontier("frontier_math512_cpu"),
    "frontier-humaneval-cpu": _frontier("frontier_humaneval_cpu"),
    "frontier-mtbench-layer18-cpu": _frontier("frontier_mtbench_layer18_cpu"),
    "frontier-math512-layer18-cpu": _frontier("frontier_math512_layer18_cpu"),
    "frontier-humaneval-layer18-cpu": _frontier("frontier_humaneval_layer18_cpu"),
    "frontier-mtbench-layer18-v2-cpu": _frontier("frontier_mtbench_layer18_v2_cpu"),
    "frontier-mtbench32-layer18-v2-cpu": _frontier("frontier_mtbench32_layer18_v2_cpu"),
    "frontier-mtbench-heldout-layer18-v2-cpu": _frontier("frontier_mtbench_heldout_layer18_v2_cpu"),
    "frontier-mtbench64-layer18-v2-cpu": _frontier("frontier_mtbench64_layer18_v2_cpu"),
    "frontier-math512-layer18-v2-cpu": _frontier("frontier_math512_layer18_v2_cpu"),
    "frontier-humaneval-layer18-v2-cpu": _frontier("frontier_humaneval_layer18_v2_cpu"),
    "frontier-humaneval-heldout-layer18-v2-cpu": _frontier("frontier_humaneval_heldout_layer18_v2_cpu"),
    "frontier-math512-layer18-v3-cpu": _frontier("frontier_math512_layer18_v3_cpu"),
    "frontier-math512-layer18-v5-cpu": _frontier_beside(
        "frontier_math512_layer18_v5_cpu", "frontier_math512_layer18_v2_cpu"
    ),
    "frontier-humaneval-heldout-layer18-v5-cpu": _frontier_beside(
        "frontier_humaneval_heldout_layer18_v5_cpu", "frontier_humaneval_heldout_layer18_v2_cpu"
    ),
    "frontier-mtbench64-layer18-v5-cpu": _frontier_beside(
        "frontier_mtbench64_layer18_v5_cpu", "frontier_mtbench64_layer18_v2_cpu"
    ),
    "frontier-mtbench64-layer18-v5-more-cpu": _frontier("frontier_mtbench64_layer18_v5_more_cpu"),
    "frontier-math512-layer18-v6-cpu": _frontier_beside(
        "frontier_math512_layer18_v6_cpu", "frontier_math512_layer18_v5_cpu"
    ),
    "frontier-humaneval-heldout-layer18-v6-cpu": _frontier_beside(
        "frontier_humaneval_heldout_layer18_v6_cpu", "frontier_humaneval_heldout_layer18_v5_cpu"
    ),
    "frontier-math512-layer18-v9-cpu": _frontier_beside(
        "frontier_math512_layer18_v9_cpu", "frontier_math512_layer18_v5_cpu"
    ),
    "frontier-humaneval-heldout-layer18-v9-cpu": _frontier_beside(
        "frontier_humaneval_heldout_layer18_v9_cpu", "frontier_humaneval_heldout_layer18_v5_cpu"
    ),
    "frontier-mtbench64-layer18-v9-cpu": _frontier_beside(
        "frontier_mtbench64_layer18_v9_cpu", "frontier_mtbench64_layer18_v5_cpu"
    ),
    "frontier-math512-heldout-layer18-v5-cpu": _frontier("frontier_math512_heldout_layer18_v5_cpu"),
    "frontier-humaneval-heldout80-layer18-v5-cpu": _frontier("frontier_humaneval_heldout80_layer18_v5_cpu"),
    "frontier-humaneval-heldout80-layer18-v9-cpu": _frontier_beside(
        "frontier_humaneval_heldout80_layer18_v9_cpu", "frontier_humaneval_heldout80_layer18_v5_cpu"
    ),
    "humaneval-pooled-layer18-v5-cpu": _pooled(
        "humaneval",
        {
            ("v5 " if name.startswith("judge@") else "") + name: [
                (f, name)
                for f in ("frontier_humaneval_heldout_layer18_v5_cpu", "frontier_humaneval_heldout80_layer18_v5_cpu")
            ]
            for name in (
                "target",
                "sd",
                "judge@0.534/r0.1",
                "judge@0.4/r0.2",
                "top-k:2",
                "ratio:0.3",
                "entropy:0.3",
                "ensemble@0.5",
            )
        }
        | {
            "v9 judge@0.522/r0.1": [
                (f, "judge@0.522/r0.1")
                for f in ("frontier_humaneval_heldout_layer18_v9_cpu", "frontier_humaneval_heldout80_layer18_v9_cpu")
            ]
        },
    ),
    "math-pooled-layer18-v5-cpu": _pooled(
        "math-steps",
        {
            name: [(f, method) for f in ("frontier_math512_layer18_v5_cpu", "frontier_math512_heldout_layer18_v5_cpu")]
            for name, method in (
                ("target", "target"),
                ("sd", "sd"),
                ("ratio:0.3", "ratio:0.3"),
                ("v5 judge@0.534", "judge@0.534"),
                ("v5 judge@0.7", "judge@0.7"),
                ("v5 judge@0.534/r0.1", "judge@0.534/r0.1"),
            )
        }
        | {
            "v9 judge@0.522": [
                ("frontier_math512_layer18_v9_cpu", "judge@0.522"),
                ("frontier_math512_heldout_layer18_v9_cpu", "judge@0.522"),
            ]
        },
    ),
    "math-pooled-layer18-v9-cpu": _pooled(
        "math-steps",
        {
            name: [
                (f, name.split()[-1])
                for f in (f"frontier_math512_layer18_{v}_cpu", f"frontier_math512_heldout_layer18_{v}_cpu")
            ]
            for v, name in (
                ("v5", "target"),
                ("v5", "sd"),
                ("v5", "v5 judge@0.534/r0.1"),
                ("v9", "v9 judge@0.522"),
                ("v9", "v9 judge@0.522/r0.1"),
            )
        },
    ),
    "math-pooled-peers-v9-cpu": _pooled(
        "math-steps",
        {
            name: [(f, name.removeprefix("v9 ")) for f in _V9_MATH]
            for name in (
                "target",
                "sd",
                "top-k:2",
                "ratio:0.3",
                "entropy:0.3",
                "ensemble@0.5",
                "v9 judge@0.25",
                "v9 judge@0.522",
                "v9 judge@0.522/r0.1",
                "v9 judge@0.9/r0.1",
            )
        },
    ),
    "frontier-math512-heldout-layer18-v9-cpu": _frontier_beside(
        "frontier_math512_heldout_layer18_v9_cpu", "frontier_math512_heldout_layer18_v5_cpu"
    ),
    "lost-at-parting-math512-v5-cpu": (RESULTS / "lost_at_parting_math512_v5_cpu.json", lost_answers_text),
    "lost-at-parting-math512-v9-cpu": (RESULTS / "lost_at_parting_math512_v9_cpu.json", lost_answers_text),
    "lost-at-parting-math512-v5-points-cpu": (
        RESULTS / "lost_at_parting_math512_v5_points_cpu.json",
        lost_answers_text,
    ),
    "frontier-math512-layer18-v11-cpu": _frontier_beside(
        "frontier_math512_layer18_v11_cpu", "frontier_math512_layer18_v5_cpu"
    ),
    "frontier-humaneval-heldout-layer18-v11-cpu": _frontier_beside(
        "frontier_humaneval_heldout_layer18_v11_cpu", "frontier_humaneval_heldout_layer18_v5_cpu"
    ),
    "judge-training-cpu": (RESULTS / "judge_training_cpu" / "training_report.json", judge_training_text),
    "judge-heldout-cpu": (RESULTS / "judge_heldout_cpu" / "test_report.json", judge_heldout_text),
    "judge-layer-cpu": (RESULTS / "judge_training_layer18_cpu" / "training_report.json", judge_layer_text),
    "judge-data-cpu": (RESULTS / V2 / "training_report.json", judge_data_text),
    "judge-weight-cpu": (RESULTS / "judge_training_layer18_v3_cpu" / "training_report.json", judge_weight_text),
    "judge-recheck-cpu": (
        RESULTS / "judge_heldout_rechecked_math_layer18_v2_cpu" / "test_report.json",
        judge_recheck_text,
    ),
    "judge-features-cpu": (RESULTS / "judge_features_math_layer18_cpu.json", judge_features_text),
    "judge-grid-cpu": (RESULTS / GRIDS["v7's data (v5's and math seeds 1011, 1012)"], judge_grid_text),
    "judge-labels-cpu": (RESULTS / "judge_features_math_layer18_cpu.json", judge_labels_text),
    "label-cost-cpu": (RESULTS / "label_cost_cpu.json", label_cost_text),
    "label-batching-cpu": (RESULTS / "label_batching_cpu.json", label_batching_text),
    "judge-learning-curve-cpu": (LEARNING_CURVE, judge_learning_curve_text),
    "judge-more-data-cpu": (RESULTS / "judge_learning_curve_math_more_layer18_cpu.json", judge_more_data_text),
    "judge-more-shards-cpu": (RESULTS / CANDIDATES[-1] / "training_report.json", judge_more_shards_text),
    "judge-fresh-cpu": (
        RESULTS / "judge_training_layer18_v4_cpu" / "training_report.json",
        partial(
            judge_fresh_text,
            runs=["judge_training_layer18_v4_cpu"],
            held=["judge_heldout_math1009_layer18_v2_cpu", "judge_heldout_math1009_layer18_v4_cpu"],
        ),
    ),
    "judge-stubs-cpu": _heads_on("stubs103", "v5", "v6"),
    "judge-fresh1010-cpu": _heads_on("math1010", "v5", "v6"),
    "judge-heldout-pooled-cpu": _heads_on("with1010", "v5", "v6", "v7", "v8"),
    "judge-fresh1013-cpu": _heads_on("math1013", "v5", "v8", "v9"),
    "judge-heldout-every-cpu": _heads_on("every", "v5", "v8", "v9"),
    "judge-fresh-stubs105-cpu": _heads_on("stubs105", "v5", "v8", "v9"),
    "judge-fresh-stubs106-cpu": _heads_on("stubs106", "v5", "v9", "v10"),
    "judge-testsplit-every-cpu": (
        RESULTS / "judge_testsplit_every_layer18_v5_cpu" / "test_report.json",
        partial(judge_testsplit_text, versions=["v5", "v9", "v10"]),
    ),
    "judge-grid-average-cpu": (
        RESULTS / "judge_testsplit_every_layer18_v5_cpu" / "test_report.json",
        partial(
            grid_average_text, pairs=[("v5", "v5avg"), ("v9", "v9avg"), ("v10", "v11")], fresh=["stubs106", "math1014"]
        ),
    ),
    "lost-answers-cpu": (RESULTS / "lost_answers_cpu.json", lost_answers_text),
    "lost-answers-stubs-cpu": (RESULTS / "lost_answers_stubs_cpu.json", lost_answers_text),
    "lost-answers-heldout80-cpu": (RESULTS / "lost_answers_heldout80_cpu.json", lost_answers_text),
    "lost-at-parting-humaneval80-v5-cpu": (RESULTS / "lost_at_parting_humaneval80_v5_cpu.json", lost_answers_text),
    "vllm-bench-cpu": _frontier("vllm_bench_cpu"),
    "standing-v9-cpu": (RESULTS / V9_SETS[-1][0] / "results.json", partial(standing_text, points=V9_SETS)),
    "headroom-k16-v9-cpu": (RESULTS / V9_SETS[-1][0] / "results.json", partial(headroom_text, points=V9_SETS)),
    "mtbench-changed-answers-cpu": (
        RESULTS / "frontier_mtbench64_layer18_v9_cpu" / "results.json",
        partial(changed_answers_text, heads=MTBENCH64_HEADS),
    ),
    "mtbench-changed-by-parting-cpu": (
        RESULTS / "frontier_mtbench64_layer18_v9_cpu" / "results.json",
        partial(changed_by_parting_text, heads=MTBENCH64_HEADS),
    ),
    "mtbench-changed-by-category-cpu": (
        RESULTS / "frontier_mtbench64_layer18_v9_cpu" / "results.json",
        partial(changed_by_category_text, heads=MTBENCH64_HEADS),
    ),
    "self-preference-mtbench32-cpu": (RESULTS / "self_preference_mtbench32_cpu" / "report.json", self_preference_text),
    "rating-labels-cpu": (RESULTS / "rating_labels_cpu" / "report.json", rating_labels_text),
    "rating-probe-cpu": (RESULTS / "rating_probe_cpu" / "report.json", rating_probe_text),
    "standing-v9-plot-cpu": (
        RESULTS / V9_SETS[-1][0] / "results.json",
        partial(standing_figure_text, points=V9_SETS, figure="benchmarks/results/standing_v9_cpu.png"),
    ),
}
# figures drawn from committed result files beside the sections: README path -> what draws it there
FIGURES = {
    "benchmarks/results/standing_v9_cpu.png": partial(standing_figure, points=V9_SETS, head='v9 (judge="default")'),
}


def generated(readme: str) -> str:
    for marker, (path, fn) in SECTIONS.items():
        begin, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
        if begin not in readme:
            continue
        head, rest = readme.split(begin, 1)
        table = fn(json.loads(path.read_text()))
        readme = f"{head}{begin}\n{table}\n{end}{rest.split(end, 1)[1]}"
    return readme


if __name__ == "__main__":
    path = ROOT / "README.md"
    text = path.read_text()
    new = generated(text)
    if "--check" in sys.argv:  # figures are checked for being there; their pixels depend on matplotlib's version
        sys.exit(0 if new == text and all((ROOT / f).exists() for f in FIGURES) else 1)
    path.write_text(new)
    for figure, draw in FIGURES.items():
        draw(ROOT / figure)
