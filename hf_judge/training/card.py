"""Hub export: model card from ``hub_cards/`` and ``save_pretrained`` / ``push_to_hub`` of a head."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from huggingface_hub import HfApi, ModelCard, ModelCardData

from ..core.modeling_judge import JudgeHead

__all__ = [
    "add_eval_results",
    "domain_table",
    "eval_rows",
    "export_head",
    "make_card",
    "optimiser_text",
    "push_head",
    "template_path",
]

TEMPLATE = "judge_head.md"


def _inputs(cfg) -> str:
    """What the head reads, in words, for its card."""
    layer = getattr(cfg, "hidden_layer", -1)
    state = (
        "the last (post-norm) hidden state"
        if layer == -1
        else f"the hidden state after layer {layer} (`hidden_states[{layer}]`)"
    )
    if getattr(cfg, "logit_features", False):
        state += (
            " and three features of the logits (log probability ratio of the draft token to the target's own "
            "choice, log rank, normalised entropy)"
        )
    return state


def template_path(name: str = TEMPLATE) -> Path:
    """The card template: the repository's ``hub_cards/`` or the installed copy under ``sys.prefix``."""
    for base in (Path(__file__).resolve().parents[2] / "hub_cards", Path(sys.prefix) / "hub_cards"):
        if (base / name).exists():
            return base / name
    raise FileNotFoundError(f"card template {name} not found in hub_cards/")


def _f(x) -> str:
    return "n/a" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


def auc_text(m: dict) -> str:
    """A metrics report's ROC-AUC, with its 95% interval in parentheses where the report has one (reports
    made before ``roc_auc_95`` existed have none; fewer than two of a class give nan)."""
    lo, hi = m.get("roc_auc_95") or (float("nan"), float("nan"))
    if math.isnan(lo) or math.isnan(hi):  # none, or nan (fewer than two of a class)
        return _f(m.get("roc_auc"))
    return f"{_f(m.get('roc_auc'))} ({lo:.2f}–{hi:.2f})"


SPLIT_NAMES = {
    "train": "train",
    "val": "validation",
    "test": "test (held-out questions)",
    "test_disagreements": "test, draft/target disagreements only",
}


def _split_table(report: dict) -> str:
    """Precision, recall, errors rejected and ROC-AUC on each split the training report has."""
    spans = any("roc_auc_95" in (report.get(key) or {}) for key in SPLIT_NAMES)
    lines = [
        "| split | positions | errors | precision | recall | errors rejected | ROC-AUC"
        + (" (95% interval, DeLong) |" if spans else " |"),
        "|---|---|---|---|---|---|---|",
    ]
    for key, name in SPLIT_NAMES.items():
        m = report.get(key)
        if m:
            figures = [_f(m.get(x)) for x in ("precision", "recall", "error_recall")] + [auc_text(m)]
            lines.append(f"| {name} | {m.get('n', 'n/a')} | {m.get('n_errors', 'n/a')} | " + " | ".join(figures) + " |")
    rules = report.get("free_rules")
    if rules:  # the training-free rules on the same held-out positions: what the head has to beat
        lines += [
            "",
            "Training-free rules on the same test positions (ROC-AUC; the head has to beat them):",
            "",
            "| rule | test | test, disagreements only |",
            "|---|---|---|",
        ]
        lines += [f"| {r} | {_f(m.get('test'))} | {_f(m.get('test_disagreements'))} |" for r, m in rules.items()]
    lines += domain_table(report.get("test_by_domain"))
    return "\n".join(lines)


def optimiser_text(report: dict) -> str:
    """Learning rate, weight decay (and disagreement weight where one was set), and the grid they were picked
    from on validation when there was one."""
    cfg = report.get("config") or {}
    grid = report.get("grid") or []
    weighted = any(g.get("disagreement_weight", 1.0) != 1.0 for g in grid or [cfg])  # a grid holds its heads' own
    names = "learning rate/weight decay" + ("/disagreement weight" if weighted else "")

    def knobs(g):
        dw = f"/{g.get('disagreement_weight', 1.0):g}" if weighted else ""
        return f"{g['lr']:g}/{g['weight_decay']:g}{dw}"

    if report.get("combine") == "average":
        each = ", ".join(f"{knobs(g)}: {_f(g['val_roc_auc'])}" for g in grid)
        return f"the average of {len(grid)} heads' logits, one per {names} (validation ROC-AUC of each: {each})"
    text = f"learning rate {_f(cfg.get('lr'))}, weight decay {_f(cfg.get('weight_decay'))}"
    if weighted:
        text += f", disagreement weight {_f(cfg.get('disagreement_weight', 1.0))}"
    if grid:
        on_dis = report.get("select_on") == "disagreements"
        key = "val_disagreements_roc_auc" if on_dis else "val_roc_auc"
        tried = ", ".join(f"{knobs(g)}: {_f(g[key])}" for g in grid)
        where = " on the draft/target disagreements" if on_dis else ""
        text += f" (the best validation ROC-AUC{where} of {len(grid)} tried, {names}: AUC: {tried})"
    return text


def _best_epoch(report: dict) -> str:
    """The epoch early stopping kept, or for an average of heads each one's."""
    if report.get("combine") == "average":
        return "of each averaged head: " + ", ".join(str(g["best_epoch"]) for g in report.get("grid") or [])
    return str(report.get("best_epoch", "n/a"))


def domain_table(by_domain: dict | None) -> list[str]:
    """The head's and the free rules' test ROC-AUC on each domain's held-out positions."""
    if not by_domain:
        return []
    rules = sorted({r for m in by_domain.values() for r in m.get("free_rules", {})})

    def row(cells) -> str:
        return "| " + " | ".join(cells)

    lines = ["", "By domain, on the test positions of each (ROC-AUC):", ""]
    lines += [row(["domain", "positions", "errors", "head", *rules]) + " |", row(["---"] * (4 + len(rules))) + " |"]
    for name, m in by_domain.items():
        cells = [name, m.get("n", "n/a"), m.get("n_errors", "n/a"), m.get("roc_auc")]
        cells += [m.get("free_rules", {}).get(r) for r in rules]
        lines.append(row(map(_f, cells)) + " |")
    return lines


def _eval_table(rows: dict[str, dict], note: str) -> str:
    """One markdown table, a row per method, its columns the union of the rows' figures, and its note."""
    cols = list(dict.fromkeys(c for r in rows.values() for c in r))
    table = "| method | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols) + "\n"
    table += "\n".join(f"| {m} | " + " | ".join(_f(r.get(c)) for c in cols) + " |" for m, r in rows.items())
    return f"{table}\n\n{note}" if note else table


def _floor_text(min_ratio: float) -> str:
    """The card's sentence on the head's plausibility floor; none for a head without one."""
    if not min_ratio:
        return ""
    return (
        f" The judge itself keeps no draft token the target finds implausible: none whose probability ratio"
        f" p(d) / max p is at most **{min_ratio:g}** (the head's plausibility floor; `judge_min_ratio=` overrides"
        f" it, 0 turns it off)."
    )


def make_card(
    head: JudgeHead,
    report: dict | None = None,
    *,
    repo_id: str = "your-name/judge-head",
    dataset: str = "hf_judge auto-labelled math",
    evals: Sequence[tuple[dict, str]] = (),
) -> ModelCard:
    """Fill ``hub_cards/judge_head.md`` from the head's config, its training report and eval results:
    ``evals``, one ``(rows, note)`` per table (``rows``: method -> figures; ``note``: how they were
    measured, printed under the table)."""
    cfg, report = head.config, report or {}
    train, val, cal = report.get("train", {}), report.get("val", {}), report.get("calibration") or {}
    data = ModelCardData(
        library_name="transformers",
        license="apache-2.0",
        base_model=[m for m in (cfg.target_model, cfg.draft_model) if m],
        tags=["judge-decoding", "speculative-decoding", "hf_judge"],
        datasets=[dataset] if "/" in dataset else None,
        model_name=repo_id.split("/")[-1],
    )
    tables = [_eval_table(rows, note) for rows, note in evals if rows]
    eval_table = "\n\n".join(tables) or "No evaluation results recorded."
    return ModelCard.from_template(
        data,
        template_path=str(template_path()),
        model_name=repo_id.split("/")[-1],
        repo_id=repo_id,
        head_type=cfg.head_type,
        inputs=_inputs(cfg),
        target_model=cfg.target_model or "the target model",
        draft_model=cfg.draft_model or "the draft model",
        threshold=_f(cfg.threshold),
        floor=_floor_text(head.min_ratio),
        dataset=dataset,
        n_train=train.get("n", "n/a"),
        n_val=val.get("n", "n/a"),
        best_epoch=_best_epoch(report),
        optimiser=optimiser_text(report),
        error_recall=_f(cal.get("error_recall")),
        good_acceptance=_f(cal.get("good_acceptance")),
        split_table=_split_table(report),
        eval_table=eval_table,
    )


def export_head(
    head: JudgeHead,
    out_dir: str | Path,
    report: dict | None = None,
    *,
    repo_id: str = "your-name/judge-head",
    dataset: str = "hf_judge auto-labelled math",
    eval_results: dict | None = None,
) -> Path:
    """Write the head in Hub format: safetensors, config with auto_map, code files, README.md, training report."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    head.save_pretrained(out)
    (out / "card_info.json").write_text(json.dumps({"repo_id": repo_id, "dataset": dataset}))
    evals = [(eval_results, "")] if eval_results else []
    make_card(head, report, repo_id=repo_id, dataset=dataset, evals=evals).save(out / "README.md")
    if report is not None:
        slim = {k: v for k, v in report.items() if k != "history"}
        (out / "training_report.json").write_text(json.dumps(slim, indent=2, default=float))
    if eval_results is not None:
        (out / "eval_results.json").write_text(json.dumps(eval_results, indent=2, default=float))
    return out


def grader_note(report: dict) -> str:
    """One sentence on what a grader said in a run (its ``report()`` as stored in ``results.json``)."""
    if report.get("kind", "pairwise") == "pairwise":
        v = report["verdicts"]
        note = (
            f"The pairwise grader's verdicts: A (the answer shown first) {v['A']}, B {v['B']}, tie {v['C']}. A grader "
            "that mostly names the first answer carries no signal; asking both orders turns it into ties (0.5) "
            "instead of a false win, and the NLL column is then the open-ended figure to read."
        )
    else:
        t = report["shuffle_test"]
        note = (
            "The rating grader scores each answer alone (1-10, the expectation under its next-token probabilities); "
            f"as a check, it rated the target's own answer above the same words shuffled in {t['above']} of "
            f"{t['of']} prompts (a grader that cannot tell them apart carries no signal)."
        )
    if "no_signal" in report:
        note += f" In this run {report['no_signal']}."
    return note


def eval_rows(results: dict) -> dict[str, dict]:
    """Flatten ``run_bench`` results into card rows: method -> speed figures, and per task (tokens per step where
    there are several tasks) quality.

    Tokens/s (and the speedups made of it) only compare methods timed in one run: for results gathered
    over several resumed runs (``results["runs"]``) the rows keep tokens per step and quality only.
    """
    timed = len(results.get("runs", {})) <= 1
    several = len(results["tasks"]) > 1  # with one task the overall tokens per step are the task's
    rows: dict[str, dict] = {}
    for method, r in results["overall"].items():
        row = {"tokens/step": r["tokens_per_step"]}
        if timed:
            row = {
                "tokens/s": r["tokens_per_s"],
                **row,
                "x target": r["speedup_vs_target"],
                "x SD": r["speedup_vs_sd"],
            }
        for task, per in results["tasks"].items():
            if several:
                row[f"{task} tokens/step"] = per[method]["tokens_per_step"]
            for key, val in per[method].items():
                if key.startswith("quality:"):
                    row[f"{task} {key[8:]}"] = val
        rows[method] = row
    return rows


def add_eval_results(head_dir: str | Path, *results: dict) -> Path:
    """Fill the eval section of an exported head's model card from ``run_bench`` results: a table for each
    bench run given (for instance one per output folder), with the command that measured it."""
    head_dir = Path(head_dir)
    info_path = head_dir / "card_info.json"
    if not info_path.exists():
        raise FileNotFoundError(f"{head_dir} was not written by export_head (no card_info.json)")
    if not results:
        raise ValueError("add_eval_results needs at least one run_bench results dict")
    info = json.loads(info_path.read_text())
    report_path = head_dir / "training_report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    evals, saved = [], []
    for res in results:
        env, rows, runs = res.get("environment", {}), eval_rows(res), len(res.get("runs", {}))
        command = res.get("command") or "hf-judge bench"
        resumed = f", over {runs} resumed runs: tokens/s compares only within a run, so it is left out"
        note = (
            f"Measured with `{command}` on {env.get('device', '?')} "
            f"({env.get('dtype', '?')}, torch {env.get('torch', '?')}, transformers {env.get('transformers', '?')})"
            f"{resumed if runs > 1 else ''}."
        )
        if "grader" in res:  # what the grader said, and whether it carries a signal
            note += f" {grader_note(res['grader'])}"
        matched = res.get("matched", {})  # per task and quality: the point to pick, as measured
        for task, by_quality in matched.items():
            for q, line in by_quality.items():
                q = q.removeprefix("quality:")
                note += f" The fastest judge point at matched quality on {task}, by {q}: {line}."
        evals.append((rows, note))
        saved.append({"command": command, "environment": env, "results": rows, "matched": matched})
    card = make_card(JudgeHead.from_pretrained(head_dir), report, evals=evals, **info)
    card.save(head_dir / "README.md")
    (head_dir / "eval_results.json").write_text(json.dumps({"evals": saved}, indent=2))
    return head_dir / "README.md"


def push_head(folder: str | Path, repo_id: str, *, private: bool = False, api: HfApi | None = None) -> str:
    """Upload an exported head folder to the Hub (``api`` may be any object with HfApi's two methods)."""
    folder = Path(folder)
    missing = [f for f in ("config.json", "model.safetensors", "README.md") if not (folder / f).exists()]
    if missing:
        raise FileNotFoundError(f"{folder} is not an exported head: missing {missing}; run export_head first")
    api = api or HfApi()
    api.create_repo(repo_id, private=private, exist_ok=True)
    info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message="Upload judge head (hf_judge)")
    return str(getattr(info, "commit_url", info))
