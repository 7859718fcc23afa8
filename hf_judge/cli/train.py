"""``hf-judge build-data``, ``hf-judge train``, ``hf-judge calibrate`` and ``hf-judge test-head``."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.errors import InputError
from ..training.data import AUTO_ITEMS, build_dataset
from ..training.trainer import COMBINE, SELECT_ON
from .common import add_model_args, command_line

__all__ = ["add_train_commands"]


def _models(args, need_draft: bool):
    """Tokenizer, target and (for auto-labelling) the draft, loaded as every command loads them."""
    from .common import load_models

    tok, target, draft, _ = load_models(args, need_judge=False, need_draft=need_draft)
    if draft is not None:  # the draft also speeds up the labeller's reference answers (lossless SD)
        draft.generation_config.num_assistant_tokens = args.num_assistant_tokens
        draft.generation_config.num_assistant_tokens_schedule = "constant"
        draft.generation_config.assistant_confidence_threshold = args.assistant_confidence_threshold
    return tok, target, draft


def _data_and_models(args):
    """``(data, tokenizer, target)``: the data sets of ``--data`` (a wrong folder is named before the models load),
    each checked to hold the token ids of ``--target``'s tokenizer."""
    from ..training.data import load_dataset_dir

    load_dataset_dir(args.data)
    tok, target, _ = _models(args, need_draft=False)
    return load_dataset_dir(args.data, tok), tok, target


def _check_source(args) -> None:
    """A --pairs file is read only to build from pairs: with --source auto or --data it would be ignored."""
    if args.pairs is None:
        return
    if getattr(args, "data", None):
        raise InputError(f"--pairs {args.pairs} builds a data set, and --data gives one: pass one of them")
    if args.source != "pairs":
        raise InputError(f"--pairs {args.pairs} is read with --source pairs (the source is {args.source!r})")


def _source_kwargs(args) -> dict:
    return {
        "pairs": args.pairs,
        "items": args.items,
        "n_items": args.n_items,
        "allow_code_exec": args.allow_code_exec,
        "seed": args.seed,
        "max_mismatches": args.max_mismatches,
        "max_positives": args.max_positives,
        "max_new_tokens": args.label_max_new_tokens,
        "batch_size": args.label_batch_size,
        "hard_share": args.hard_share,
    }


def _save_whole(ds, out: Path, progress: Path, files: dict[str, str] | None = None) -> None:
    """Save ``ds`` (and ``files``: name -> text, beside it) to ``out`` whole: written to a temporary folder and
    renamed, so ``out`` never holds half a data set; then the run's checkpoint ``progress`` is removed."""
    import shutil

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    ds.save_to_disk(str(tmp))
    for name, text in (files or {}).items():
        (tmp / name).write_text(text)
    tmp.rename(out)
    progress.unlink(missing_ok=True)


def _free_out(out: Path) -> None:
    """Raise unless ``out`` can receive a data set whole: absent or an empty folder (the finished data set is
    renamed onto it, which a folder with files in it refuses, after all the labelling); makes its parent."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"--out {out} holds files but no data set: pass a new folder (say {out / 'seed-1'})")
    out.parent.mkdir(parents=True, exist_ok=True)


def cmd_build_data(args) -> int:
    _check_source(args)
    out = Path(args.out)
    if (out / "dataset_info.json").exists():
        print(f"{out} is already built; delete it to build again")
        return 0
    _free_out(out)
    progress = out.with_name(out.name + ".progress.jsonl")  # an interrupted run resumes from here
    if args.source == "pairs":  # tokenizing only: no model to load
        from ..registry.packaged import load_tokenizer, validate_name

        validate_name(args.target)
        tok, target, draft = load_tokenizer(args.target), None, None
    else:
        tok, target, draft = _models(args, need_draft=True)
    extra = {"checkpoint": progress} if args.source == "auto" else {}
    ds = build_dataset(args.source, tok, target, draft, **_source_kwargs(args), **extra)
    _save_whole(ds, out, progress)
    n = sum(len(x) for x in ds["labels"])
    errors = sum(x.count(0) for x in ds["labels"])
    print(f"saved {len(ds)} rows, {n} labelled positions ({errors} errors) to {out}")
    return 0


def cmd_recheck(args) -> int:
    """``recheck_errors`` on a saved data set; the result and ``recheck.json`` (its report, the command and the
    environment) go to ``--out``, written whole; an interrupted run resumes from ``OUT.progress.jsonl``."""
    from ..bench.suite import environment
    from ..training.data import auto_items
    from ..training.recheck import recheck_errors

    out = Path(args.out)
    if (out / "dataset_info.json").exists():
        print(f"{out} is already rechecked; delete it to recheck again")
        return 0
    _free_out(out)
    items, kw = auto_items(args.items, args.n_items, args.seed, args.allow_code_exec)
    data, tok, target = _data_and_models(args)
    progress = out.with_name(out.name + ".progress.jsonl")
    ds, report = recheck_errors(
        target,
        tok,
        data,
        items,
        **kw,
        max_new_tokens=args.label_max_new_tokens,
        samples=args.samples,
        temperature=args.temperature,
        batch_size=args.batch_size,
        checkpoint=progress,
    )
    report = {**report, "data": args.data, "command": command_line(), "environment": environment(target)}
    _save_whole(ds, out, progress, {"recheck.json": json.dumps(report, indent=2)})
    print(f"rechecked {report['rechecked']} errors, {report['kept']} kept; saved to {out}")
    return 0


def _domains(paths, rows):
    """:func:`~hf_judge.training.data.domain_masks`, or None with one domain only (nothing to break down)."""
    from ..training.data import domain_masks

    masks = domain_masks(paths, rows)
    return masks if len(masks) > 1 else None


def cmd_train(args) -> int:
    import itertools

    import torch

    from ..bench.suite import environment
    from ..registry.packaged import cache_dir, hub_name
    from ..training.card import check_head_out, export_head, push_head
    from ..training.features import extract
    from ..training.split import disagreements, position_split, question_groups, split_by_question
    from ..training.trainer import TrainConfig, learning_curve, select_on_for, train_best

    check_head_out(args.out)  # before the models and the training: a folder of other files is named at once
    _check_source(args)

    configs = [
        TrainConfig(
            head_type=args.head_type,
            logit_features=args.logit_features,
            epochs=args.epochs,
            lr=lr,
            weight_decay=wd,
            disagreement_weight=dw,
            error_recall=args.error_recall,
            seed=args.seed,
        )
        for lr, wd, dw in itertools.product(args.lr, args.weight_decay, args.disagreement_weight)
    ]
    if args.learning_curve and args.split != "question":
        raise InputError(f"--learning-curve needs the split by question (--split question), got --split {args.split}")
    if args.data:
        ds, tok, target = _data_and_models(args)
    else:
        tok, target, draft = _models(args, need_draft=args.source == "auto")
        ds = build_dataset(args.source, tok, target, draft, **_source_kwargs(args))
    feats = extract(target, ds, cache=cache_dir() / "features", layer=args.hidden_layer)
    X, y, rows = feats.X, feats.y, feats.rows
    split = groups = None
    if args.split == "question":
        split = position_split(split_by_question(ds), rows)  # (N,)
        groups = torch.tensor(question_groups(ds))[rows]  # (N,)
    disagreement = disagreements(ds, rows)  # (N,)
    domains = _domains(args.data, rows) if args.data else None
    select_on = select_on_for(args.select_on, y, split, disagreement)
    head, report, grid = train_best(
        X,
        y,
        rows,
        configs,
        target_model=hub_name(args.target),
        draft_model=hub_name(args.draft),
        hidden_layer=args.hidden_layer,
        select_on=select_on,
        combine=args.combine,
        split=split,
        disagreement=disagreement,
        rules=feats.rules,
        domains=domains,
        features=feats.F,
    )
    rep = report.as_dict()
    if len(grid) > 1:
        rep["grid"] = grid  # the learning rates, weight decays and disagreement weights tried
        rep["combine"] = args.combine  # the best of them, or their average
        if args.combine == "best":
            rep["select_on"] = select_on  # the validation positions whose ROC-AUC picked one
    rep["hidden_layer"] = args.hidden_layer  # the target's hidden state the head reads (-1: the last)
    rep["command"] = command_line()
    rep["environment"] = environment(target)
    if args.learning_curve:
        kept = configs if args.combine == "average" else [TrainConfig(**report.config)]  # the head's own recipe
        rep["learning_curve"] = learning_curve(
            X, y, rows, split, groups, disagreement, kept, rules=feats.rules, features=feats.F, combine=args.combine
        )
    out = export_head(
        head,
        args.out,
        rep,
        repo_id=args.repo_id or f"your-name/{Path(args.out).name}",
        dataset=args.dataset_name or (", ".join(map(str, args.data)) if args.data else args.source),
    )
    if report.calibration is not None:
        from ..bench.plots import plot_calibration

        plot_calibration(report.calibration.curve, report.calibration.threshold, out / "calibration.png")
    if args.learning_curve:
        from ..bench.plots import plot_learning_curve

        plot_learning_curve(rep["learning_curve"], out / "learning_curve.png")
    shown = {s: rep[s] for s in ("val", "test", "test_disagreements", "free_rules") if rep.get(s)}
    print(json.dumps({**shown, "threshold": head.config.threshold, "epochs": rep["epochs_run"]}, indent=2))
    print(f"saved judge head to {out}")
    if args.push:
        print(push_head(out, args.push))
    return 0


def _head_on_data(args):
    """The head of ``--head``, the target, the data set of ``--data``, its features (from the feature cache
    where extracted before) and the head's probabilities (N,) there."""
    from ..registry.judges import load_judge
    from ..registry.packaged import cache_dir
    from ..training.features import extract
    from ..training.trainer import head_proba

    head = load_judge(args.head, target=args.target)  # 'default': the head shipped for --target
    ds, tok, target = _data_and_models(args)
    f = extract(target, ds, cache=cache_dir() / "features", layer=head.config.hidden_layer)
    return head, target, ds, f, head_proba(head, f.X, f.F)  # probs (N,)


def cmd_calibrate(args) -> int:
    from ..bench.plots import plot_calibration
    from ..registry.judges import shipped_head_dir
    from ..training.card import check_head_out, save_calibrated
    from ..training.trainer import calibrate, metrics

    if args.out is None and not Path(args.head).is_dir():
        raise InputError(f"--head {args.head} is not a local head folder to overwrite: pass --out")
    check_head_out(args.out or args.head)  # before the models: a folder of other files is named at once
    head, _, _, f, probs = _head_on_data(args)
    y = f.y
    cal = calibrate(probs, y, args.error_recall)
    head.config.threshold = cal.threshold
    src = shipped_head_dir(args.target) if args.head == "default" else Path(args.head)
    out = Path(args.out or args.head)
    measured = {**metrics(probs, y, cal.threshold), "curve": cal.curve}
    save_calibrated(head, src, out, {**measured, "data": [str(d) for d in args.data], "command": command_line()})
    plot_calibration(cal.curve, cal.threshold, out / "calibration.png")
    print(
        f"threshold {cal.threshold:.4f}: rejects {cal.error_recall:.3f} of errors, "
        f"accepts {cal.good_acceptance:.3f} of acceptable tokens; saved to {out}"
    )
    return 0


def cmd_test_head(args) -> int:
    """A head on data it never saw: its ROC-AUC and what it keeps at its threshold, on every labelled
    position, on the draft/target disagreements and on those with the hard picks, beside the free rules'
    ROC-AUC on the same positions; with data folders of several domains (``data/judge/DOMAIN/...``), the
    same for each in ``by_domain``. With ``--split test``, only the positions of the test questions (the split by
    question of the data given, as `hf-judge train` makes it)."""
    from ..bench.suite import environment
    from ..training.split import TRAIN_SPLITS, disagreements, position_split, split_by_question
    from ..training.trainer import held_out

    head, target, ds, f, probs = _head_on_data(args)
    y, rows, rules = f.y, f.rows, f.rules
    if args.split == "test":  # only the questions `hf-judge train` holds out from training and tuning
        keep = position_split(split_by_question(ds), rows) == TRAIN_SPLITS.index("test")  # (N,)
        if not keep.any():
            raise InputError(f"--split test: none of the {len(ds)} rows of {args.data} falls in the test split")
        probs, y, rows = probs[keep], y[keep], rows[keep]
        rules = {r: s[keep] for r, s in rules.items()} if rules else rules
    dis, hard, thr = disagreements(ds, rows), disagreements(ds, rows, hard=True), head.config.threshold
    rep = held_out(probs, y, thr, dis, rules, hard)
    domains = _domains(args.data, rows)  # {domain: (N,) bool}, or None with one domain
    domains = {name: m for name, m in (domains or {}).items() if m.any()}  # --split test may leave one empty
    if domains:  # the same report on each domain's positions: a head may win on one and lose on another
        rep["by_domain"] = {
            name: held_out(probs[m], y[m], thr, dis[m], {r: s[m] for r, s in rules.items()} if rules else None, hard[m])
            for name, m in domains.items()
        }
    rep = {**rep, "head": str(args.head), "data": [str(d) for d in args.data], "split": args.split}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        rep = {**rep, "command": command_line(), "environment": environment(target)}
        (out / "test_report.json").write_text(json.dumps(rep, indent=2))
    print(json.dumps({k: rep[k] for k in ("test", "test_disagreements", "free_rules") if k in rep}, indent=2))
    return 0


def add_train_commands(sub) -> None:
    def models(p, draft=True):  # one set of model options for every command
        add_model_args(p, judge=False)
        if not draft:
            p.set_defaults(draft=None)

    def source(p):
        p.add_argument(
            "--source",
            default="auto",
            choices=["auto", "pairs"],
            help="auto: auto-label math items with the target/draft pair; pairs: correct/wrong pairs",
        )
        p.add_argument("--pairs", help="JSONL of {prompt, correct, wrong} (default: the shipped seed pairs)")
        p.add_argument(
            "--items",
            default="gsm-style",
            choices=AUTO_ITEMS,
            help="auto: gsm-style (one-step, short answers), math-steps (multi-step, step by step, boxed answer) or "
            "programs (programming tasks labelled by their unit tests: needs --allow-code-exec), program-stubs (the "
            "same tasks as functions to complete from a signature and docstring) or open-ended "
            "(experimental: labelled by whether the draft token keeps the target's own answer)",
        )
        p.add_argument("--n-items", type=int, default=100, help="items to auto-label (default: %(default)s)")
        p.add_argument(
            "--allow-code-exec",
            action="store_true",
            help="opt in to running model-written code (--items programs, program-stubs)",
        )
        p.add_argument("--seed", type=int, default=1)
        p.add_argument(
            "--max-mismatches", type=int, default=4, help="auto: draft/target disagreements labelled per item"
        )
        p.add_argument("--max-positives", type=int, default=8, help="auto: target tokens added as acceptable per item")
        p.add_argument("--label-max-new-tokens", type=int, default=96, help="auto: answer length cap")
        p.add_argument(
            "--label-batch-size",
            type=int,
            default=8,
            help="auto: target continuations run together in one batch; consecutive items share one (a CPU step "
            "costs little more for more rows)",
        )
        p.add_argument(
            "--hard-share",
            type=float,
            default=0.0,
            help="auto: share of the disagreements picked where the target gives the draft's token the least "
            "probability (more errors to learn from; source auto:mismatch:hard) (default: %(default)s)",
        )

    p = sub.add_parser("build-data", help="build a judge data set and save it (datasets format)")
    models(p)
    source(p)
    p.add_argument("--out", required=True, help="folder to save the data set to")
    p.set_defaults(func=cmd_build_data)

    p = sub.add_parser("train", help="extract features, train, calibrate and export a judge head")
    models(p)
    source(p)
    p.add_argument("--data", nargs="+", help="saved data set folder(s) (default: build from --source)")
    p.add_argument("--out", required=True, help="folder to write the head to (Hub format, with model card)")
    p.add_argument("--head-type", default="linear", choices=["linear", "mlp"])
    p.add_argument(
        "--logit-features",
        action="store_true",
        help="the head also reads the target's log probability ratio, log rank and entropy at the draft token",
    )
    p.add_argument(
        "--hidden-layer",
        type=int,
        default=-1,
        help="the target's hidden state the head reads, as transformers indexes hidden_states: -1 the last, "
        "post-norm (the paper's); i the output of decoder layer i (default: %(default)s)",
    )
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument(
        "--lr", type=float, nargs="+", default=[1e-2], help="AdamW learning rate(s); several: the best on validation"
    )
    p.add_argument(
        "--weight-decay",
        type=float,
        nargs="+",
        default=[1e-2],
        help="AdamW weight decay(s); with several values of this, --lr or --disagreement-weight, one head per "
        "combination is trained and the one with the best validation ROC-AUC kept (the test split plays no part) "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--disagreement-weight",
        type=float,
        nargs="+",
        default=[1.0],
        help="weight(s) of an evenly spread draft/target disagreement in the loss, any other position's being 1: "
        "the judge decides only at disagreements (default: %(default)s)",
    )
    p.add_argument(
        "--select-on",
        choices=SELECT_ON,
        default="auto",
        help="with a grid: pick the head by validation ROC-AUC on every position, or on the draft/target "
        "disagreements only; auto: on the disagreements where the validation split holds both labels among "
        "them, else on every position (default: %(default)s)",
    )
    p.add_argument(
        "--combine",
        choices=COMBINE,
        default="best",
        help="with a grid: keep the head with the best validation ROC-AUC (--select-on), or average every grid "
        "head's logit into one linear head (no pick by a small validation margin) (default: %(default)s)",
    )
    p.add_argument("--error-recall", type=float, default=0.9, help="share of errors the threshold must reject")
    p.add_argument(
        "--split",
        default="question",
        choices=["question", "random"],
        help="question: train / validation / test by question, test reported only (default); "
        "random: rows at random into train / validation, no test",
    )
    p.add_argument(
        "--learning-curve", action="store_true", help="also train on shares of the training questions: test AUC by size"
    )
    p.add_argument("--repo-id", help="Hub repo id written into the model card")
    p.add_argument("--dataset-name", help="data set name for the model card")
    p.add_argument("--push", metavar="REPO_ID", help="push the exported head to this Hub repo")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "recheck",
        help="recheck an auto-labelled data set's errors with sampled continuations: an error most of them "
        "answer right becomes acceptable",
    )
    models(p, draft=False)
    p.add_argument("--data", required=True, help="the auto-labelled data set folder")
    p.add_argument(
        "--items", required=True, choices=[i for i in AUTO_ITEMS if i != "open-ended"], help="as it was built with"
    )
    p.add_argument("--n-items", type=int, required=True, help="as it was built with")
    p.add_argument("--seed", type=int, required=True, help="as it was built with")
    p.add_argument("--label-max-new-tokens", type=int, required=True, help="as it was built with")
    p.add_argument("--allow-code-exec", action="store_true", help="opt in to running model-written code (programs)")
    p.add_argument("--samples", type=int, default=4, help="sampled continuations per error (default: %(default)s)")
    p.add_argument("--temperature", type=float, default=0.7, help="their temperature (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=16, help="continuations run together (default: %(default)s)")
    p.add_argument("--out", required=True, help="folder to save the rechecked data set to (with recheck.json)")
    p.set_defaults(func=cmd_recheck)

    p = sub.add_parser("calibrate", help="re-pick a head's threshold on a data set for a target error recall")
    models(p, draft=False)
    p.add_argument("--head", required=True, help="judge head folder or Hub repo")
    p.add_argument("--data", nargs="+", required=True, help="saved data set folder(s)")
    p.add_argument("--error-recall", type=float, default=0.9)
    p.add_argument("--out", help="where to save the calibrated head (default: overwrite --head)")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser(
        "test-head", help="a head on held-out data: ROC-AUC on every position and on disagreements, and the free rules'"
    )
    models(p, draft=False)
    p.add_argument("--head", required=True, help="judge head folder or Hub repo")
    p.add_argument(
        "--data", nargs="+", required=True, help="saved data set folder(s) the head was not trained on (see --split)"
    )
    p.add_argument(
        "--split",
        choices=("all", "test"),
        default="all",
        help="all: every position of --data; test: only the questions of the test split by question, which "
        "`hf-judge train` (--split question) never trains or tunes on, so heads trained on different shards "
        "can be compared on data none of them saw (default: %(default)s)",
    )
    p.add_argument("--out", help="folder for test_report.json (with the command and environment)")
    p.set_defaults(func=cmd_test_head)
