"""The README's table of bad-input cases, generated from the tests marked ``bad_input``.

``python -m tests.bad_inputs`` prints it; ``--write`` puts it into README.md between its markers.
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- bad-input-table -->", "<!-- /bad-input-table -->"


def _marked(tree: ast.Module) -> bool:
    return any(
        isinstance(n, ast.Assign)
        and any(getattr(t, "id", "") == "pytestmark" for t in n.targets)
        and "bad_input" in ast.unparse(n.value)
        for n in tree.body
    )


def cases() -> list[tuple[str, str, str]]:
    """(case, what happens, test) for every bad_input test, in file order."""
    rows = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        tree = ast.parse(path.read_text())
        whole_file = _marked(tree)
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            marked = whole_file or any("bad_input" in ast.unparse(d) for d in node.decorator_list)
            doc = ast.get_docstring(node)
            if marked and doc and "|" in doc.splitlines()[0]:
                case, outcome = (x.strip() for x in doc.splitlines()[0].split("|", 1))
                rows.append((case, outcome, f"`{path.name}::{node.name}`"))
    return rows


def table() -> str:
    lines = ["| bad input | what happens | test |", "|---|---|---|"]
    lines += [f"| {c} | {o} | {t} |" for c, o, t in cases()]
    return "\n".join(lines)


def readme_table(readme: str) -> str:
    return readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def write() -> None:
    path = ROOT / "README.md"
    text = path.read_text()
    head, rest = text.split(BEGIN, 1)
    path.write_text(f"{head}{BEGIN}\n{table()}\n{END}{rest.split(END, 1)[1]}")


if __name__ == "__main__":
    write() if "--write" in sys.argv else print(table())
