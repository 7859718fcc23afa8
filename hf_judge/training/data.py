"""The judge data set: token-level labels of whether a draft token is acceptable.

A row is one token sequence (prompt + response) and the positions in it the judge is trained
on, each with a label: 1 = acceptable, 0 = an error. The judge reads the target's last hidden
state at that position (the position of the labelled token itself).

Two builders:

- :func:`pairs_dataset` — the paper's construction: for each question a correct response and a
  response with an error; tokens before the first error are acceptable, the first error token
  is not (tokens after it are not labelled); every token of the correct response is acceptable.
- :func:`auto_label` — no manual annotation (in the spirit of AutoJudge): run the target, find
  where the draft would have chosen another token, substitute the draft's token, let the target
  continue, and label the substitution by whether the final answer is still correct.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow.compute as pc
import torch
from datasets import Dataset, DatasetInfo, Features, Sequence, Value, concatenate_datasets, load_from_disk
from tqdm.auto import tqdm
from transformers import StoppingCriteria, StoppingCriteriaList

from ..core.errors import InputError
from .checkable import is_correct_number
from .records import append_record, read_records

__all__ = [
    "AUTO_ITEMS",
    "CODE_INSTRUCTION",
    "FEATURES",
    "MATH_INSTRUCTION",
    "STEPS_INSTRUCTION",
    "auto_items",
    "auto_label",
    "build_dataset",
    "check_token_ids",
    "domain_masks",
    "load_dataset_dir",
    "load_seed_pairs",
    "pairs_dataset",
    "preservation",
    "prompt_ids",
    "tokenizer_record",
]

FEATURES = Features(
    {
        "input_ids": Sequence(Value("int32")),
        "positions": Sequence(Value("int32")),
        "labels": Sequence(Value("int8")),
        "source": Value("string"),
    }
)
AUTO_ITEMS = ("gsm-style", "math-steps", "programs", "program-stubs", "open-ended")
SEED_PAIRS = Path(__file__).parent / "seed_pairs.jsonl"
MATH_INSTRUCTION = "Reply in one or two short sentences with the final number."
STEPS_INSTRUCTION = "Solve it step by step, then give the final answer as \\boxed{N}."
CODE_INSTRUCTION = "Reply with the whole function in one Python code block."


# a text whose token ids tell tokenizers apart: words, numbers, code, whitespace runs, accents, CJK, an emoji
TOKENIZER_PROBE = "Judge decoding kept 12 + 30 = 42 tokens.\ndef f(x):\n    return x ** 2  # ok\nNaïve café, 東京 🙂"


def tokenizer_record(tokenizer) -> dict:
    """What a data set records of the tokenizer that wrote its token ids: its name (for messages) and the ids of
    :data:`TOKENIZER_PROBE` (two tokenizers that give the probe the same ids read ids alike; a vocabulary hash
    would also tell apart a converted copy padded with unused tokens)."""
    name = str(tokenizer.name_or_path)
    if Path(name).exists():  # a local folder: its name, not this machine's path
        name = Path(name).name
    return {"name": name, "probe_ids": tokenizer(TOKENIZER_PROBE, add_special_tokens=False)["input_ids"]}


def _to_dataset(rows: list[dict], tokenizer) -> Dataset:
    info = DatasetInfo(description=json.dumps({"tokenizer": tokenizer_record(tokenizer)}), features=FEATURES)
    return Dataset.from_dict({k: [r[k] for r in rows] for k in FEATURES}, info=info)  # also when empty


def check_token_ids(ds: Dataset, tokenizer, where: str) -> None:
    """Raise unless ``ds``'s token ids are ``tokenizer``'s: its record (data saved before records have none) gives
    the probe the same ids, and no id lies beyond the vocabulary. ``where`` names the data set in the message."""
    try:
        recorded = json.loads(ds.info.description or "{}")
    except json.JSONDecodeError:
        recorded = None  # a description that is no record: a data set from elsewhere
    recorded = recorded.get("tokenizer") if isinstance(recorded, dict) else None
    ours = tokenizer_record(tokenizer)
    if isinstance(recorded, dict) and recorded.get("probe_ids") != ours["probe_ids"]:
        raise InputError(
            f"{where} holds token ids of the tokenizer of {recorded.get('name')!r}, which writes text with other "
            f"ids than this target's ({ours['name']!r}): to this target they are other words. Build data with "
            "this target (hf-judge build-data --target ...)"
        )
    n = len(tokenizer)
    top = pc.max(pc.list_flatten(ds.data.column("input_ids"))).as_py()  # None for no ids at all
    if top is not None and top >= n:
        raise InputError(
            f"{where} holds token id {top}, beyond this target's tokenizer ({ours['name']!r}, {n} tokens): it "
            "was built with another tokenizer. Build data with this target (hf-judge build-data --target ...)"
        )


def prompt_ids(tokenizer, question: str, system: str | None = None) -> list[int]:
    """Token ids of ``question`` as a chat prompt (plain text when the tokenizer has no chat template)."""
    if tokenizer.chat_template:
        msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": question}]
        out = tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True)
        return list(out["input_ids"])
    return tokenizer(question)["input_ids"]


def load_seed_pairs(path: str | Path = SEED_PAIRS) -> list[dict]:
    """The shipped ``{"prompt", "correct", "wrong"}`` items (or another JSONL file of that form)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no pairs file at {path}")
    items = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise InputError(f"{path}, line {n}, is not a JSON object ({e}): {line[:80]!r}") from None
    return items


def _pair_rows(tokenizer, item: dict) -> list[dict]:
    for key in ("prompt", "correct", "wrong"):
        if key not in item:
            raise InputError(f"pair item lacks {key!r}: {item}")
    p = prompt_ids(tokenizer, item["prompt"])
    good = tokenizer(item["correct"], add_special_tokens=False)["input_ids"]
    bad = tokenizer(item["wrong"], add_special_tokens=False)["input_ids"]
    err = next((i for i, (a, b) in enumerate(zip(good, bad, strict=False)) if a != b), None)
    if err is None:
        raise InputError(f"the wrong response has no token that differs from the correct one: {item['prompt']!r}")
    n = len(p)
    return [
        {
            "input_ids": p + good,
            "positions": list(range(n, n + len(good))),
            "labels": [1] * len(good),
            "source": "pairs:correct",
        },
        {
            "input_ids": p + bad[: err + 1],
            "positions": list(range(n, n + err + 1)),
            "labels": [1] * err + [0],
            "source": "pairs:wrong",
        },
    ]


def pairs_dataset(tokenizer, items: Iterable[dict] | None = None) -> Dataset:
    """The paper's construction from correct/erroneous response pairs (default: the shipped seed set)."""
    items = load_seed_pairs() if items is None else list(items)
    rows = [r for item in items for r in _pair_rows(tokenizer, item)]
    return _to_dataset(rows, tokenizer)


@torch.no_grad()
def _greedy(target, draft, ids: list[int], max_new_tokens: int, eos) -> list[int]:
    from ..core.decoding import generate

    x = torch.tensor([ids], device=target.device)
    kw = {"assistant_model": draft} if draft is not None else {}
    out = generate(target, x, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=eos, **kw)
    return out[0, len(ids) :].tolist()


def _settled(tokens: list[int], budget: int, eos: int | None, tokenizer, decided) -> bool:
    """Whether a continuation ``tokens`` is done: its budget used, at eos, or ``decided(text)`` (its answer written)."""
    return (
        len(tokens) >= budget
        or (bool(tokens) and tokens[-1] == eos)
        or (decided is not None and decided(tokenizer.decode(tokens)))
    )


class _RowStop(StoppingCriteria):
    """Stops each row of a batch on its own: at eos, after its budget, or once ``decided(text)`` holds."""

    def __init__(self, start: int, budgets: list[int], eos: int | None, tokenizer, decided):
        self.start, self.budgets, self.eos, self.tok, self.decided = start, budgets, eos, tokenizer, decided
        self.length: list[int | None] = [None] * len(budgets)  # generated tokens kept per row

    def __call__(self, input_ids, scores, **kwargs):
        n = input_ids.shape[1] - self.start
        for r, budget in enumerate(self.budgets):
            if self.length[r] is None and _settled(
                input_ids[r, self.start :].tolist(), budget, self.eos, self.tok, self.decided
            ):
                self.length[r] = min(n, budget)
        return torch.tensor([x is not None for x in self.length], device=input_ids.device)


# generation-config fields that leave generate()'s greedy choice the argmax of the logits (do_sample=False is passed)
_GREEDY_NEUTRAL = {
    *("_from_model_config", "transformers_version", "use_cache", "pad_token_id", "bos_token_id", "eos_token_id"),
    *("output_attentions", "output_hidden_states", "output_scores", "output_logits", "return_dict_in_generate"),
    *("do_sample", "temperature", "top_k", "top_p", "min_p", "typical_p", "max_length", "max_new_tokens"),
}


def _argmax_is_greedy(model) -> bool:
    """Whether ``generate``'s greedy choice on ``model`` is the argmax of its logits: its generation config sets
    nothing else (a repetition penalty, say, or banned tokens, which ``generate`` would apply)."""
    return set(model.generation_config.to_diff_dict()) <= _GREEDY_NEUTRAL


def _shared_prefill(target, prefixes: list[list[int]], width: int):
    """``(keyword, cache)`` of the left-padded batch of ``prefixes`` holding all but its last column, where rows
    share their beginnings: each longest prefix (less its last token) runs once and each row gets its share; None
    where no two rows share one (or the cache is not a plain one): the caller prefills the batch itself."""
    from ..core import _compat

    bases: list[list[int]] = []  # the longest prefixes (less their last token): every row's begins one of them
    for p in sorted(prefixes, key=len, reverse=True):
        if not any(b[: len(p) - 1] == p[:-1] for b in bases):
            bases.append(p[:-1])
    if len(bases) == len(prefixes) or width < 2:
        return None
    which = [next(i for i, b in enumerate(bases) if b[: len(p) - 1] == p[:-1]) for p in prefixes]
    caches = [
        _compat.cached_forward(target, torch.tensor([b], device=target.device), logits_to_keep=1)[1] for b in bases
    ]
    return _compat.left_padded_cache(target, caches, which, [len(p) - 1 for p in prefixes], width - 1)


@torch.no_grad()
def _greedy_rows(target, last: torch.Tensor, mask: torch.Tensor, cache, done) -> list[list[int]]:
    """Greedy continuations of a left-padded batch whose ``cache`` holds all but its ``last`` tokens (B, 1)
    (``mask`` (B, n) covers both). Row r stops once ``done(r, tokens)``, and leaves the batch then: later steps
    run only the rows still writing."""
    from ..core import _compat

    rows = torch.arange(last.shape[0], device=last.device)  # (R,) the batch rows still writing
    outs: list[list[int]] = [[] for _ in range(last.shape[0])]
    while True:
        logits, cache = _compat.masked_forward(target, last, mask, cache)  # (R, V)
        nxt = logits.argmax(-1)  # (R,)
        going = []
        for a, (r, t) in enumerate(zip(rows.tolist(), nxt.tolist(), strict=True)):
            outs[r].append(t)
            if not done(r, outs[r]):
                going.append(a)
        if not going:
            return outs
        if len(going) < len(rows):
            keep = torch.tensor(going, device=rows.device)  # (R',)
            _compat.keep_rows(cache, keep)
            rows, mask, nxt = rows[keep], mask[keep], nxt[keep]
        mask = torch.cat([mask, mask.new_ones(len(rows), 1)], -1)  # (R, n + 1)
        last = nxt[:, None]  # (R, 1)


@torch.no_grad()
def _continue_batch(
    target,
    tokenizer,
    prefixes: list[list[int]],
    budgets: list[int],
    decided=None,
    temperature: float | None = None,
    share_prefix: bool = True,
    drop_settled: bool = True,
) -> list[list[int]]:
    """The target's greedy continuation of each prefix, all in one left-padded batch; with ``temperature``,
    sampled from the target's full distribution at that temperature instead (no top-k or top-p cut).

    Row r keeps at most ``budgets[r]`` tokens and stops at eos or as soon as ``decided(text)``
    says its answer is settled: on a CPU a batch of B continuations costs about what two or three
    single ones do, because each step is bound by reading the weights, not by the B tokens.

    Rows that share their beginnings share its prefill: each longest prefix (less its last token) runs once,
    and each row starts from its share of that cache, rather than the batch prefilling B padded copies (a
    labeller's substitutions into one answer: one forward over the answer instead of 16);
    ``share_prefix=False`` prefills the batch as it stands. A greedy row that is done leaves the batch
    (``drop_settled``), so that later steps run only the rows still writing; ``drop_settled=False``, sampling,
    and a target whose generation config changes greedy choices (a repetition penalty, say) run transformers'
    ``generate`` (whose seeded sampler a recheck reproduces), which steps every row until the last is done
    (``benchmarks/label_cost.py`` and ``benchmarks/label_batching.py`` compare the ways).
    """
    from ..core import _compat

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos = tokenizer.eos_token_id
    n = max(map(len, prefixes))
    ids = torch.tensor([[pad] * (n - len(p)) + p for p in prefixes], device=target.device)  # (B, n)
    mask = torch.tensor([[0] * (n - len(p)) + [1] * len(p) for p in prefixes], device=target.device)  # (B, n)
    made = _shared_prefill(target, prefixes, n) if share_prefix else None
    if drop_settled and temperature is None and _argmax_is_greedy(target):
        cache = made[1] if made is not None else None
        if cache is None and n > 1:
            _, cache = _compat.masked_forward(target, ids[:, :-1], mask[:, :-1])
        return _greedy_rows(
            target, ids[:, -1:], mask, cache, lambda r, toks: _settled(toks, budgets[r], eos, tokenizer, decided)
        )
    how = {"do_sample": False}
    if temperature is not None:  # (top_k=None would be transformers' default of 50)
        how = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
    stop = _RowStop(n, budgets, eos, tokenizer, decided)
    out = target.generate(
        input_ids=ids,
        attention_mask=mask,
        max_new_tokens=max(budgets),
        **how,
        eos_token_id=eos,
        pad_token_id=pad,
        stopping_criteria=StoppingCriteriaList([stop]),
        **(dict([made]) if made is not None else {}),
    )  # (B, n + T)
    return [out[r, n : n + (stop.length[r] or budgets[r])].tolist() for r in range(len(prefixes))]


def _spread(xs: list[int], n: int) -> list[int]:
    if len(xs) <= n:
        return xs
    step = len(xs) / n
    return [xs[int(i * step)] for i in range(n)]


@torch.no_grad()
def auto_label(
    target,
    draft,
    tokenizer,
    items: Iterable[dict],
    *,
    checker: Callable[[str, str], bool] = is_correct_number,
    max_new_tokens: int = 96,
    max_mismatches: int = 4,
    max_positives: int = 8,
    instruction: str = MATH_INSTRUCTION,
    use_draft_for_speed: bool = True,
    batch_size: int = 8,
    decided: Callable[[str], bool] | None = None,
    window: int = 16,
    tolerance: float = 0.5,
    hard_share: float = 0.0,
    progress: bool = True,
    checkpoint: str | Path | None = None,
) -> Dataset:
    """Label draft/target disagreements automatically on ``items`` (``{"question", "answer"}``).

    Each question is asked with ``instruction`` appended. The target answers greedily; items it
    gets wrong are skipped (nothing to compare with). One draft forward over the target's answer
    gives the draft's choice at every position; at up to ``max_mismatches`` positions where it
    differs, the draft's token is substituted, the target continues greedily, and the
    substitution is labelled by ``checker(response, answer)``. Up to ``max_positives`` of the
    target's own tokens are added as acceptable examples.

    Cost: the reference answer is decoded with lossless speculative decoding (``use_draft_for_speed``);
    the continuations of consecutive items share batches of up to ``batch_size`` rows (an item's substitutions
    are not split between batches unless one item has more than ``batch_size``), and each stops as soon as
    ``decided(text)`` says its answer is written (for instance a closed ``\\boxed{}``), since the
    label cannot change after that. Items are recorded as their batch finishes.

    Where no answer can be checked (``checker=None``: open-ended prompts, items ``{"question"}``),
    a substitution is labelled by whether it keeps the target's own answer: see
    :func:`preservation`; it is acceptable when the target's mean log-likelihood of its next
    ``window`` tokens drops by at most ``tolerance`` nats per token (no continuation is generated).

    ``hard_share``: the share of the ``max_mismatches`` picked where the target gives the draft's token the
    least probability (where errors are likeliest: more of them to learn from) rather than evenly spread;
    their rows have source ``auto:mismatch:hard``, and the evenly spread ones ``auto:mismatch``, the
    natural mix of disagreements that reports on disagreements use.

    With ``checkpoint`` (a JSONL file) every finished item is recorded as its batch completes; a rerun
    after an interruption skips the recorded items, so nothing is labelled twice (the items of the batch under
    way are labelled again).
    """
    items = list(items)
    if window < 1 or tolerance < 0:
        raise InputError(f"window={window} must be at least 1 and tolerance={tolerance} at least 0")
    if max_new_tokens < 1 or max_mismatches < 0 or max_positives < 0:
        raise InputError(
            f"max_new_tokens={max_new_tokens} must be at least 1, max_mismatches={max_mismatches} and "
            f"max_positives={max_positives} at least 0"
        )
    settings = dict(
        checker=checker,
        max_new_tokens=max_new_tokens,
        max_mismatches=max_mismatches,
        max_positives=max_positives,
        instruction=instruction,
        use_draft=use_draft_for_speed,
        batch_size=batch_size,
        decided=decided,
    )
    if checker is None:  # only then: checkpoints of checked items keep their fingerprint
        settings.update(window=window, tolerance=tolerance)
    if not 0.0 <= hard_share <= 1.0:
        raise InputError(f"hard_share={hard_share} must lie in [0, 1]")
    if hard_share:  # likewise: checkpoints made before it keep their fingerprint
        settings.update(hard_share=hard_share)
    if batch_size < 1:
        raise InputError(f"batch_size={batch_size} must be at least 1")
    made_with = {**settings, "models": _models_key(target, draft)}  # what labels depend on beyond the settings
    done = _resume(checkpoint, items, made_with)
    with open(checkpoint, "a") if checkpoint else contextlib.nullcontext() as log:
        if log is not None and not done:
            append_record(log, {"fingerprint": _fingerprint(items, made_with)})
        bar = tqdm(desc="auto-label", disable=not progress, initial=len(done), total=len(items))
        pending: list[tuple[int, dict]] = []  # checked items whose continuations wait to share one batch

        def finish(i: int, rows: list[dict] | None) -> None:
            done[i] = {"item": i, "rows": rows}
            if log is not None:
                append_record(log, done[i])
            bar.update()

        def flush() -> None:
            jobs = [(items[i], plan) for i, plan in pending]
            labels = _checked_labels(target, tokenizer, jobs, checker, max_new_tokens, batch_size, decided)
            for (i, plan), got in zip(pending, labels, strict=True):
                finish(i, _item_rows(plan, got, max_positives))
            pending.clear()

        for i in [i for i in range(len(items)) if i not in done]:
            plan = _plan_item(
                target,
                draft,
                tokenizer,
                items[i],
                checker=checker,
                max_new_tokens=max_new_tokens,
                max_mismatches=max_mismatches,
                instruction=instruction,
                use_draft=use_draft_for_speed,
                hard_share=hard_share,
            )
            if plan is None:
                finish(i, None)
            elif checker is None:
                drops = preservation(target, plan["p"], plan["ref"], plan["subs_to"], window)
                labels = {j: int(j in drops and drops[j] <= tolerance) for j in plan["subs"]}  # an early stop: none
                finish(i, _item_rows(plan, labels, max_positives))
            else:
                pending.append((i, plan))
                if sum(len(q["subs"]) for _, q in pending) + max_mismatches > batch_size:  # the next may not fit
                    flush()
        if pending:
            flush()
        bar.close()
    skipped = sum(done[i]["rows"] is None for i in range(len(items)))
    if progress and skipped:
        print(f"auto-label: skipped {skipped}/{len(items)} items the target answered wrongly")
    return _to_dataset([row for i in range(len(items)) for row in done[i]["rows"] or []], tokenizer)


def _models_key(target, draft) -> list[str]:
    """Each model's folder name and dtype (not its path, which differs between machines)."""
    return [f"{Path(str(m.name_or_path)).name}|{next(m.parameters()).dtype}" for m in (target, draft) if m is not None]


def _fingerprint(items: list[dict], settings: dict) -> str:
    """What a checkpoint was made from: the items and every labelling setting."""
    named = {
        k: f"{v.__module__}.{getattr(v, '__qualname__', type(v).__qualname__)}" if callable(v) else v
        for k, v in settings.items()
    }
    return hashlib.sha256(json.dumps([items, named], sort_keys=True, default=str).encode()).hexdigest()


def _resume(checkpoint, items: list[dict], settings: dict) -> dict[int, dict]:
    """Items already labelled in ``checkpoint`` (an earlier, interrupted run with the same items and settings)."""
    if not checkpoint:
        return {}
    records = read_records(checkpoint)
    if not records:
        return {}
    if records[0].get("fingerprint") != _fingerprint(items, settings):
        raise InputError(
            f"{checkpoint} was written for other items or settings; delete it, or rerun with the same arguments"
        )
    return {r["item"]: r for r in records[1:]}


def _plan_item(
    target,
    draft,
    tokenizer,
    item: dict,
    *,
    checker,
    max_new_tokens: int,
    max_mismatches: int,
    instruction: str,
    use_draft: bool,
    hard_share: float = 0.0,
) -> dict | None:
    """The target's answer to ``item`` and the disagreements to label in it, or None when the answer is wrong:
    ``p`` (the prompt), ``ref`` (the answer), ``d_pred`` (the draft's token at each of its positions), ``subs``
    (the positions to label), ``hard`` (those picked as hard), ``subs_to`` (position -> the draft's token)."""
    eos = tokenizer.eos_token_id
    helper = draft if use_draft else None  # greedy SD gives the target's own greedy text faster
    p = prompt_ids(tokenizer, f"{item['question']} {instruction}".strip())
    ref = _greedy(target, helper, p, max_new_tokens, eos)
    if checker is not None and not checker(tokenizer.decode(ref, skip_special_tokens=True), item["answer"]):
        return None
    seq = torch.tensor([p + ref], device=draft.device)  # (1, T)
    d_pred = draft(input_ids=seq, use_cache=False).logits[0, len(p) - 1 : -1].argmax(-1).tolist()  # (len(ref),)
    mism = [i for i, (a, b) in enumerate(zip(ref, d_pred, strict=True)) if a != b]
    hard: set[int] = set()
    if hard_share and len(mism) > max_mismatches:
        logits = (
            target(input_ids=seq.to(target.device), use_cache=False).logits[0, len(p) - 1 : -1].float()
        )  # (len(ref), V)
        lp = logits.log_softmax(-1)[torch.arange(len(ref)), torch.tensor(d_pred)].tolist()  # (len(ref),)
        hard = set(sorted(mism, key=lambda i: lp[i])[: round(max_mismatches * hard_share)])
    subs = sorted([*hard, *_spread([i for i in mism if i not in hard], max_mismatches - len(hard))])
    subs_to = {i: d_pred[i] for i in subs if d_pred[i] != eos}  # a substituted eos ends the answer there
    return {"p": p, "ref": ref, "d_pred": d_pred, "subs": subs, "hard": hard, "mism": mism, "subs_to": subs_to}


def _continuation_budget(max_new_tokens: int, written: int) -> int:
    """The new tokens a continuation may add to an answer of ``written`` tokens (the substituted one included):
    what is left of the answer's ``max_new_tokens``, and at least one."""
    return max(1, max_new_tokens - written)


def _substituted(plan: dict, i: int) -> list[int]:
    """The prompt and the answer up to position ``i``, with the draft's token there in place of the target's."""
    return plan["p"] + plan["ref"][:i] + [plan["d_pred"][i]]


def _item_rows(plan: dict, labels: dict[int, int], max_positives: int) -> list[dict]:
    """The data set rows of one planned item: each substitution with its label, and up to ``max_positives`` of
    the target's own tokens as acceptable."""
    p, ref = plan["p"], plan["ref"]
    rows = []
    for i in plan["subs"]:
        sub = _substituted(plan, i)
        source = "auto:mismatch:hard" if i in plan["hard"] else "auto:mismatch"
        rows.append({"input_ids": sub, "positions": [len(sub) - 1], "labels": [labels[i]], "source": source})
    same = _spread([i for i in range(len(ref)) if i not in set(plan["mism"])], max_positives)
    if same:
        rows.append(
            {
                "input_ids": p + ref,
                "positions": [len(p) + i for i in same],
                "labels": [1] * len(same),
                "source": "auto:target",
            }
        )
    return rows


def _checked_labels(
    target, tokenizer, jobs: list[tuple[dict, dict]], checker, max_new_tokens, batch_size, decided
) -> list[dict[int, int]]:
    """For each ``(item, plan)``: position -> 1 where the target's continuation after the substituted draft token
    still gets the answer right. The continuations of all the items run together, ``batch_size`` rows at a time:
    a step costs little more for more rows (``benchmarks/label_batching.py``)."""
    conts = {(k, i): [] for k, (_, plan) in enumerate(jobs) for i in plan["subs"]}  # a substituted eos: no more
    todo = [(k, i) for k, (_, plan) in enumerate(jobs) for i in plan["subs_to"]]
    for b in range(0, len(todo), batch_size):
        chunk = todo[b : b + batch_size]
        outs = _continue_batch(
            target,
            tokenizer,
            [_substituted(jobs[k][1], i) for k, i in chunk],
            [_continuation_budget(max_new_tokens, i + 1) for _, i in chunk],
            decided,
        )
        conts.update(zip(chunk, outs, strict=True))
    labels: list[dict[int, int]] = [{} for _ in jobs]
    for (k, i), cont in conts.items():
        item, plan = jobs[k]
        text = tokenizer.decode(plan["ref"][:i] + [plan["d_pred"][i]] + cont, skip_special_tokens=True)
        labels[k][i] = int(checker(text, item["answer"]))
    return labels


@torch.no_grad()
def preservation(target, prompt: list[int], ref: list[int], subs: dict[int, int], window: int = 16) -> dict[int, float]:
    """How much substituting ``ref[i]`` by ``subs[i]`` costs the target's own answer ``ref``: the drop in the
    target's mean log-likelihood (nats per token) of its next ``window`` tokens ``ref[i+1 : i+1+window]``.

    Near 0 (or below): the target would go on as it did, the substitution keeps its answer (a
    rewording it is indifferent to); large: the answer it meant to give no longer follows. Teacher
    forced, no generation: one forward over ``prompt + ref`` keeps its cache, and each substitution
    costs a forward of its ``window + 1`` tokens on that cache cut back to the substituted position.
    A substitution at the answer's last token has nothing after it to measure and is left out.
    """
    from ..core import _compat

    full = torch.tensor([prompt + ref], device=target.device)  # (1, T)
    logits, kept = _compat.cached_forward(target, full)
    orig = logits[0, :-1].float().log_softmax(-1).gather(-1, full[0, 1:, None])[:, 0]  # (T - 1,)
    P, drops = len(prompt), {}
    for i, d in subs.items():
        n = min(window, len(ref) - i - 1)
        if n <= 0:
            continue
        cache = copy.deepcopy(kept)
        _compat.crop(cache, P + i)
        new = torch.tensor([[d] + ref[i + 1 : i + 1 + n]], device=target.device)  # (1, n + 1)
        logits, _ = _compat.cached_forward(target, new, cache)  # (1, n + 1, V)
        sub = logits[0, :-1].float().log_softmax(-1).gather(-1, new[0, 1:, None])[:, 0]  # (n,)
        drops[i] = float(orig[P + i : P + i + n].mean() - sub.mean())
    return drops


def load_dataset_dir(paths: str | Path | Iterable[str | Path], tokenizer=None) -> Dataset:
    """Load one or more data sets saved with ``Dataset.save_to_disk`` and concatenate them; with ``tokenizer``
    (the target's), each is checked to hold its token ids (:func:`check_token_ids`)."""
    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    parts = []
    for p in paths:
        if not Path(p).exists():
            raise FileNotFoundError(f"no judge data set at {p}")
        inside = sorted(info.parent.name for info in Path(p).glob("*/dataset_info.json"))
        if inside and not (Path(p) / "dataset_info.json").exists():  # a domain folder, not one of its data sets
            raise FileNotFoundError(
                f"{p} is no data set but holds {len(inside)}: pass them, as {p}/{{{','.join(inside)}}}"
            )
        parts.append(load_from_disk(str(p)))
        if tokenizer is not None:
            check_token_ids(parts[-1], tokenizer, str(p))
    return concatenate_datasets(parts) if len(parts) > 1 else parts[0]


def domain_masks(paths: Iterable[str | Path], rows: torch.Tensor) -> dict[str, torch.Tensor]:
    """{domain: (N,) bool} for the positions of ``rows`` (N,), rows of ``load_dataset_dir(paths)``: a row's
    domain is the folder that holds its data folder (``data/judge/math-steps/seed-1000``: ``math-steps``)."""
    paths = list(paths)
    names = [Path(p).resolve().parent.name for p in paths]
    of_row = [name for name, p in zip(names, paths, strict=True) for _ in range(len(load_dataset_dir(p)))]
    return {name: torch.tensor([r == name for r in of_row])[rows] for name in dict.fromkeys(names)}


def build_dataset(
    source: str,
    tok,
    target=None,
    draft=None,
    *,
    pairs: str | None = None,
    items: str = "gsm-style",
    n_items: int = 100,
    seed: int = 1,
    allow_code_exec: bool = False,
    progress: bool = True,
    **auto_kwargs,
):
    """A judge data set from ``source``: 'pairs' (correct/wrong pairs) or 'auto' (auto-labelled items).

    For 'auto', ``items`` picks the questions: 'gsm-style' (one-step problems, short answers),
    'math-steps' (multi-step problems of the train split, answered step by step with a boxed
    answer), 'programs' (programming tasks of the train split, labelled by running their unit tests:
    needs ``allow_code_exec``), 'program-stubs' (the same tasks as functions to complete from a stub, as
    HumanEval asks) or 'open-ended' (writing, role-play, explanation... prompts of the train
    split, labelled by :func:`preservation`). ``auto_kwargs`` go to :func:`auto_label` (``max_new_tokens``, ...).
    """
    if source == "pairs":
        return pairs_dataset(tok, load_seed_pairs(pairs) if pairs else None)
    if source != "auto":
        raise InputError(f"{source=} is not one of ('pairs', 'auto')")
    qs, kw = auto_items(items, n_items, seed, allow_code_exec)
    target.generation_config.eos_token_id = tok.eos_token_id
    return auto_label(target, draft, tok, qs, progress=progress, **kw, **auto_kwargs)


def auto_items(items: str, n_items: int, seed: int, allow_code_exec: bool = False) -> tuple[list[dict], dict]:
    """The questions of an auto-labelled data set (``build_dataset``'s ``items``, ``n_items``, ``seed``) and how
    their answers are asked for and checked: ``{"instruction", "checker", "decided"}``, those that differ from
    :func:`auto_label`'s defaults."""
    from .checkable import boxed_answer_written, gsm_style_items, word_problems
    from .open_prompts import open_prompts
    from .programs import code_block_closed, passes_stub_tests, passes_tests, programming_stubs, programming_tasks

    if items not in AUTO_ITEMS:
        raise InputError(f"items={items!r} is not one of {AUTO_ITEMS}")
    if n_items < 1:
        raise InputError(f"n_items={n_items} must be at least 1: there is nothing to label")
    if items in ("programs", "program-stubs") and not allow_code_exec:
        raise InputError(
            f"items={items!r} labels by running model-written code: opt in with allow_code_exec=True "
            "(CLI: --allow-code-exec)"
        )
    if items == "gsm-style":
        return gsm_style_items(n_items, seed=seed), {}
    if items == "programs":
        qs = programming_tasks(n_items, seed=seed, split="train")
        return qs, {"instruction": CODE_INSTRUCTION, "decided": code_block_closed, "checker": passes_tests}
    if items == "program-stubs":  # the same tasks, a function to complete from its stub (the prompt says how)
        qs = programming_stubs(n_items, seed=seed, split="train")
        return qs, {"instruction": "", "decided": code_block_closed, "checker": passes_stub_tests}
    if items == "open-ended":  # nothing to check: labelled by whether the target's own answer is kept
        warnings.warn(
            "items='open-ended' labels by preservation, which did not predict checked labels on math data "
            "(benchmarks/results/preservation_vs_checked.json): experimental, not yet a label to train on",
            stacklevel=3,
        )
        return open_prompts(n_items, seed=seed, split="train"), {"instruction": "", "checker": None}
    qs = word_problems(n_items, seed=seed, split="train")
    return qs, {"instruction": STEPS_INSTRUCTION, "decided": boxed_answer_written}
