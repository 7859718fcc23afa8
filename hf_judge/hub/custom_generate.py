"""The ``custom_generate`` folder: judge decoding for stock transformers, with no hf_judge installed.

transformers runs ``model.generate(..., custom_generate="org/repo", trust_remote_code=True)`` from a
repository's ``custom_generate/generate.py``. That file is *built* from hf_judge's own core modules
(the accept rule, the transformers compatibility layer, the decoding loop) by concatenating their
source, so the Hub recipe is the library's loop, not a copy that could drift: ``tests/test_hub.py``
checks that the committed folder equals a fresh build.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from ..core.errors import InputError

__all__ = ["SOURCES", "build_generate_py", "write_folder"]

CORE = Path(__file__).resolve().parents[1] / "core"
SOURCES = ("errors.py", "verify.py", "scorers.py", "_compat.py", "decoding.py")  # in dependency order

HEADER = '''"""Judge decoding (Bachmann et al., ICLR 2025) as a transformers ``custom_generate`` recipe.

Built by ``hf-judge export-generate`` from hf_judge's core modules
({sources}); do not edit.
Usage: ``model.generate(ids, custom_generate=REPO, trust_remote_code=True, assistant_model=draft,
judge=HEAD_REPO_OR_FOLDER_OR_MODULE, judge_threshold=None, num_assistant_tokens=None)``.
"""
'''

ENTRY = '''
_core_generate = generate


def generate(model, *args, judge=None, **kwargs):
    """What transformers calls for ``custom_generate=<this repo>``: every ``generate`` argument, plus
    ``judge`` (a loaded head, a local folder or a Hub repo id of a judge head, or a training-free rule such as
    ``"top-k:2"``), ``judge_threshold``, ``judge_min_ratio``,
    ``num_assistant_tokens`` and ``num_assistant_tokens_schedule``."""
    if judge is None:
        raise InputError("judge decoding needs a judge head: pass judge=<head repo id, folder or module>")
    if isinstance(judge, str) and judge.partition(":")[0] in SCORERS:
        judge = scorer_from_spec(judge)  # a training-free rule: "top-k:2", "ratio:0.3", "entropy:0.4"
    if isinstance(judge, str | os.PathLike):
        if str(judge) == "default":
            raise InputError("judge='default' needs hf_judge installed; pass the head's repo id or folder")
        from transformers import AutoModel

        judge = AutoModel.from_pretrained(str(judge), trust_remote_code=True).to(model.device).eval()
    return _core_generate(model, *args, judge=judge, **kwargs)
'''

README = """---
library_name: transformers
tags:
- custom_generate
- judge-decoding
- speculative-decoding
---

# Judge decoding (custom_generate)

Speculative decoding that keeps a draft token if the target's own verification keeps it **or** a
small learned judge head, reading one of the target's hidden states at that position, scores it
correct (Bachmann et al., *Judge Decoding*, ICLR 2025). Runs with stock transformers
({transformers_range}); hf_judge need not be installed.

```python
from transformers import AutoModelForCausalLM

target = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2.5-Coder-1.5B-Instruct")
draft = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2.5-Coder-0.5B-Instruct")
out = target.generate(
    input_ids,
    custom_generate="REPO_OF_THIS_FOLDER",  # or a local path to the folder holding custom_generate/
    trust_remote_code=True,
    assistant_model=draft,
    judge="REPO_OR_FOLDER_OF_A_JUDGE_HEAD",  # loaded with AutoModel(..., trust_remote_code=True)
    judge_threshold=None,  # default: the head's calibrated threshold; 1.0 = standard verification
    judge_min_ratio=None,  # the judge keeps no token whose p(d) / max p <= this (default: the head's own floor)
    num_assistant_tokens=8,  # draft tokens per step (default: the draft's generation config)
    max_new_tokens=256,
    return_dict_in_generate=True,
)
print(out.acceptance.report())  # steps, proposed, accepted (target / judge-only), histogram
```

Greedy and sampling (`do_sample=True`: the speculative-sampling test p/q OR the judge), logits
processors, stopping criteria, streamers and `output_scores` work as in `generate`. Batch size 1.
The judge never accepts a stop token: only the target ends the answer.

Additional arguments: `judge` (required), `judge_threshold`, `judge_min_ratio` (default: the head's own floor,
`min_ratio` in its config; 0, no floor, if it has none),
`num_assistant_tokens`, `num_assistant_tokens_schedule` (`constant` or `heuristic`). Output:
`sequences`, plus `acceptance` when `return_dict_in_generate=True`.
"""


def _strip(path: Path) -> tuple[list[str], str]:
    """(import lines, body) of one core module: its docstring, ``__all__`` and every import removed."""
    source = path.read_text()
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    drop, imports = set(), []
    for i, node in enumerate(tree.body):
        span = set(range(node.lineno - 1, node.end_lineno))
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            drop |= span  # module docstring
        elif isinstance(node, ast.Import | ast.ImportFrom):
            drop |= span
            if not (isinstance(node, ast.ImportFrom) and (node.level or node.module == "__future__")):
                imports.append(ast.unparse(node))
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            drop |= span
    body = "".join(line for n, line in enumerate(lines) if n not in drop).strip("\n")
    return imports, body


def _import_block(imports: list[str]) -> str:
    """Imports merged per module and sorted, standard library first (isort style)."""
    plain, froms = set(), {}
    for stmt in imports:
        node = ast.parse(stmt).body[0]
        if isinstance(node, ast.Import):
            plain |= {a.name for a in node.names}
        else:
            froms.setdefault(node.module, set()).update(a.name for a in node.names)
    groups = {True: [], False: []}  # standard library?
    for name in sorted(plain):
        groups[name.split(".")[0] in sys.stdlib_module_names].append((name, f"import {name}"))
    for mod, names in sorted(froms.items()):
        names = sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n.lower()))  # ruff's isort order
        line = f"from {mod} import {', '.join(names)}"
        if len(line) > 120:  # ruff's line length: one name per line
            line = f"from {mod} import (\n" + "".join(f"    {n},\n" for n in names) + ")"
        groups[mod.split(".")[0] in sys.stdlib_module_names].append((mod, line))
    return "\n\n".join(
        "\n".join(line for _, line in sorted(g, key=lambda x: (x[1].startswith("from"), x[0])))
        for g in (groups[True], groups[False])
        if g
    )


def build_generate_py() -> str:
    """The text of ``custom_generate/generate.py``."""
    imports, bodies = ["import os", "import sys"], []
    for name in SOURCES:
        found, body = _strip(CORE / name)
        imports += found
        bodies.append(f"# ---- hf_judge/core/{name} ----\n\n\n{body}\n")
    header = HEADER.format(sources=", ".join(SOURCES))
    namespace = "_compat = sys.modules[__name__]  # the compatibility functions below, under the name the loop uses"
    top = "\n\n".join([header.strip("\n"), "from __future__ import annotations", _import_block(imports), namespace])
    return "\n\n\n".join(p.strip("\n") for p in [top, *bodies, ENTRY]) + "\n"


def write_folder(out: str | Path) -> Path:
    """Write a Hub-ready repository folder: ``custom_generate/generate.py``, its requirements, a README."""
    from ..core._compat import TESTED_RANGE

    out = Path(out)
    folder = out / "custom_generate"
    files = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if (out.exists() and not out.is_dir()) or (files and not (folder / "generate.py").is_file()):
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        raise InputError(
            f"{out} holds files that are no export of the recipe ({shown or 'it is a file'}): its README.md would be "
            "overwritten; pass a new folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "generate.py").write_text(build_generate_py())
    lo, hi = TESTED_RANGE
    (folder / "requirements.txt").write_text(f"transformers>={lo},<{hi}\ntorch>=2.4\n")
    (out / "README.md").write_text(README.format(transformers_range=f"transformers>={lo},<{hi}"))
    return out
