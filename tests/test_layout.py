"""The package's folders are its layers: each imports only from the layers below it, and nothing imports the CLI."""

import ast
from pathlib import Path

PKG = Path(__file__).parents[1] / "hf_judge"
# layer -> the layers it may import from (itself included)
ALLOWED = {
    "core": {"core"},
    "registry": {"core", "registry"},
    "api": {"core", "registry"},
    "hub": {"core", "hub"},
    "training": {"core", "registry", "training"},
    "bench": {"core", "registry", "training", "bench"},
    "cli": {"core", "registry", "training", "bench", "hub", "api", "cli", "__init__"},
    "__init__": {"api", "core", "registry"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imported_layers(path: Path) -> set[tuple[str, int]]:
    """(layer, line) for every hf_judge module ``path`` imports, relative or absolute."""
    tree = ast.parse(path.read_text())
    parts = path.relative_to(PKG).with_suffix("").parts
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(parts[: len(parts) - node.level])  # the package the dots lead to
                target = base + (node.module.split(".") if node.module else [])
                if not target:  # `from .. import x` at the top: x is the layer
                    target = [node.names[0].name]
            elif node.module and node.module.split(".")[0] == "hf_judge":
                target = node.module.split(".")[1:] or [node.names[0].name]
            else:
                continue
            first = target[0]
            is_module = (PKG / first).is_dir() or (PKG / f"{first}.py").exists()
            out.add((first if is_module else "__init__", node.lineno))  # else a name from hf_judge/__init__
    return out


def test_layers_import_only_downwards():
    bad = []
    for path in PKG.rglob("*.py"):
        if "registry/heads" in path.as_posix() or "metrics" in path.parts:
            continue  # shipped head folders and evaluate metric scripts stand alone
        layer = _layer(path)
        for target, line in _imported_layers(path):
            if target not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(PKG)}:{line} ({layer}) imports {target}")
    assert not bad, "\n".join(bad)


def test_no_flat_modules_left_beside_the_layers():
    flat = sorted(p.name for p in PKG.glob("*.py"))
    assert flat == ["__init__.py", "api.py"]
    assert {p.name for p in PKG.iterdir() if p.is_dir() and p.name != "__pycache__"} == {
        "core",
        "registry",
        "training",
        "bench",
        "cli",
        "hub",
    }
