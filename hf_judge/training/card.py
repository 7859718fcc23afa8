"""Hub export: model card from ``hub_cards/`` and ``save_pretrained`` / ``push_to_hub`` of a head."""

from __future__ import annotations

import json
import math
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from huggingface_hub import HfApi, ModelCard, ModelCardData

from ..core.configuration_judge import JudgeHeadConfig
from ..core.errors import InputError
from ..core.modeling_judge import JudgeHead

__all__ = [
    "add_eval_results",
    "calibration_text",
    "check_exported",
    "check_head_out",
    "domain_table",
    "eval_rows",
    "export_head",
    "make_card",
    "optimiser_text",
    "push_head",
    "save_calibrated",
    "template_path",
    "write_card",
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


def calibration_text(threshold: float, report: dict, recalibrated: dict | None = None, evaluated: bool = False) -> str:
    """The card's line on how the threshold was set: on the training run's validation split, or (``recalibrated``,
    what ``hf-judge calibrate`` wrote to ``calibration.json``) on the data it names, afterwards (``evaluated``:
    the card has eval tables, measured at the thresholds their rows name)."""
    if recalibrated:
        data = ", ".join(recalibrated.get("data") or []) or "other data"
        by = f" by `{recalibrated['command']}`" if recalibrated.get("command") else ""
        return (
            f"threshold {_f(threshold)}, set after training{by}, rejects {_f(recalibrated.get('error_recall'))} of "
            f"the errors in {data} and accepts {_f(recalibrated.get('recall'))} of the acceptable tokens there"
            + (" (the evaluation below ran at the thresholds its rows name)" if evaluated else "")
        )
    cal = report.get("calibration") or {}
    return (
        f"threshold {_f(threshold)} rejects {_f(cal.get('error_recall'))} of the validation errors and accepts "
        f"{_f(cal.get('good_acceptance'))} of the acceptable tokens"
    )


def make_card(
    head: JudgeHead,
    report: dict | None = None,
    *,
    repo_id: str = "your-name/judge-head",
    dataset: str = "hf_judge auto-labelled math",
    evals: Sequence[tuple[dict, str]] = (),
    recalibrated: dict | None = None,
) -> ModelCard:
    """Fill ``hub_cards/judge_head.md`` from the head's config, its training report and eval results:
    ``evals``, one ``(rows, note)`` per table (``rows``: method -> figures; ``note``: how they were
    measured, printed under the table); ``recalibrated``: what ``hf-judge calibrate`` measured at the
    threshold it set, where it set one after training."""
    cfg, report = head.config, report or {}
    train, val = report.get("train", {}), report.get("val", {})
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
        calibration=calibration_text(cfg.threshold, report, recalibrated, evaluated=bool(tables)),
        split_table=_split_table(report),
        eval_table=eval_table,
    )


# files beside the weights that describe the head: a card's sources and what calibrate and train draw
CARD_FILES = (
    "card_info.json",
    "training_report.json",
    "eval_results.json",
    "calibration.json",
    "calibration.png",
    "learning_curve.png",
)


def _read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def check_exported(head_dir: str | Path) -> Path:
    """``head_dir`` as a Path, or a FileNotFoundError unless ``export_head`` wrote it (it has ``card_info.json``)."""
    head_dir = Path(head_dir)
    if not (head_dir / "card_info.json").is_file():
        raise FileNotFoundError(f"{head_dir} was not written by export_head (no card_info.json)")
    return head_dir


def write_card(head_dir: str | Path, head: JudgeHead | None = None) -> Path:
    """(Re)write an exported head's ``README.md`` from what its folder holds: the head's config (threshold,
    floor), ``card_info.json``, ``training_report.json``, ``eval_results.json`` and ``calibration.json`` (where
    ``hf-judge calibrate`` set the threshold after training). ``head``: the folder's head, if already loaded."""
    head_dir = check_exported(head_dir)
    info = _read(head_dir / "card_info.json")
    card = make_card(
        head or JudgeHead.from_pretrained(head_dir),
        _read(head_dir / "training_report.json"),
        evals=[(e["results"], e.get("note") or _note(e)) for e in _saved_evals(head_dir)],
        recalibrated=_read(head_dir / "calibration.json"),
        **info,
    )
    card.save(head_dir / "README.md")
    return head_dir / "README.md"


def check_head_out(out: str | Path) -> Path:
    """``out`` as a Path, or an InputError unless a head can be written there: absent, an empty folder, or a judge
    head's folder (whose files a new head replaces); a head written among other files would overwrite a
    ``README.md`` and ``config.json`` of theirs."""
    out = Path(out)
    if not out.exists():
        return out
    if not out.is_dir():
        raise InputError(f"{out} is a file: pass a folder for the judge head")
    files = [p.name for p in sorted(out.iterdir())]
    try:
        a_head = json.loads((out / "config.json").read_text()).get("model_type") == JudgeHeadConfig.model_type
    except (OSError, ValueError, AttributeError):  # no config.json, or one that is not a JSON object
        a_head = False
    if files and not a_head:
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        raise InputError(
            f"{out} holds files that are no judge head's ({shown}): a head written there would overwrite its "
            "README.md and config.json; pass a new folder"
        )
    return out


def export_head(
    head: JudgeHead,
    out_dir: str | Path,
    report: dict | None = None,
    *,
    repo_id: str = "your-name/judge-head",
    dataset: str = "hf_judge auto-labelled math",
    eval_results: dict | None = None,
) -> Path:
    """Write the head in Hub format: safetensors, config with auto_map, code files, README.md, training report.

    Files a former head left in ``out_dir`` that would describe this one (its evaluations, calibration, plots)
    are removed. A folder of other files is refused (:func:`check_head_out`)."""
    out = check_head_out(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    head.save_pretrained(out)
    for name in CARD_FILES:
        (out / name).unlink(missing_ok=True)
    (out / "card_info.json").write_text(json.dumps({"repo_id": repo_id, "dataset": dataset}))
    if report is not None:
        slim = {k: v for k, v in report.items() if k != "history"}
        (out / "training_report.json").write_text(json.dumps(slim, indent=2, default=float))
    if eval_results is not None:
        evals = [{"results": eval_results, "note": ""}]
        (out / "eval_results.json").write_text(json.dumps({"evals": evals}, indent=2, default=float))
    write_card(out, head)
    return out


def save_calibrated(head: JudgeHead, src: str | Path, out: str | Path, calibration: dict) -> Path:
    """Save a head whose threshold ``hf-judge calibrate`` set, to ``out`` (``src``, the folder it was loaded
    from, or another): its weights and config, ``calibration.json`` (``calibration``: what was measured at
    the threshold, on which ``data``, by which ``command``) and, for a head exported with a card, the card's
    files copied from ``src`` and its card written anew (it states the head's threshold)."""
    src, out = Path(src), check_head_out(out)
    out.mkdir(parents=True, exist_ok=True)
    head.save_pretrained(out)
    if src.is_dir() and src.resolve() != out.resolve():
        for name in CARD_FILES:
            if (src / name).exists():
                shutil.copy2(src / name, out / name)
    (out / "calibration.json").write_text(json.dumps(calibration))
    if (out / "card_info.json").exists():
        write_card(out, head)
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


def _saved_evals(head_dir: Path) -> list[dict]:
    """The eval tables an exported head's ``eval_results.json`` holds (one per bench run; an ``export_head``
    of before the file listed them holds one table of rows)."""
    saved = _read(head_dir / "eval_results.json")
    if saved is None:
        return []
    return saved["evals"] if "evals" in saved else [{"results": saved, "note": ""}]


def _note(res: dict) -> str:
    """How a bench run's figures were measured, printed under its table: command, device and versions, and
    what its grader said and the fastest judge point at matched quality where it has them."""
    env, runs = res.get("environment", {}), len(res.get("runs", {}))
    command = res.get("command") or "hf-judge bench"
    resumed = f", over {runs} resumed runs: tokens/s compares only within a run, so it is left out"
    note = (
        f"Measured with `{command}` on {env.get('device', '?')} "
        f"({env.get('dtype', '?')}, torch {env.get('torch', '?')}, transformers {env.get('transformers', '?')})"
        f"{resumed if runs > 1 else ''}."
    )
    if "grader" in res:  # what the grader said, and whether it carries a signal
        note += f" {grader_note(res['grader'])}"
    for task, by_quality in res.get("matched", {}).items():  # per task and quality: the point to pick
        for q, line in by_quality.items():
            note += f" The fastest judge point at matched quality on {task}, by {q.removeprefix('quality:')}: {line}."
    return note


def add_eval_results(head_dir: str | Path, *results: dict, replace: bool = False) -> Path:
    """Add to the eval section of an exported head's model card a table for each ``run_bench`` results given
    (for instance one per output folder), with the command that measured it. The card keeps the tables of
    earlier calls, but for a run of the same command, whose new table takes the old one's place;
    ``replace=True`` drops every earlier table."""
    head_dir = check_exported(head_dir)
    if not results:
        raise ValueError("add_eval_results needs at least one run_bench results dict")
    evals = [] if replace else _saved_evals(head_dir)
    for res in results:
        entry = {
            "command": res.get("command") or "hf-judge bench",
            "environment": res.get("environment", {}),
            "results": eval_rows(res),
            "matched": res.get("matched", {}),  # per task and quality: the point to pick, as measured
            "note": _note(res),
        }
        same = [i for i, e in enumerate(evals) if res.get("command") and e.get("command") == res["command"]]
        if same:
            evals[same[0]] = entry
        else:
            evals.append(entry)
    (head_dir / "eval_results.json").write_text(json.dumps({"evals": evals}, indent=2))
    return write_card(head_dir)


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
