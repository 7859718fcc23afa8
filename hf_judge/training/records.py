"""Append-only JSONL records: what resumable jobs (data building, benchmarks) write as they go."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["append_record", "read_records"]


def read_records(path: str | Path) -> list[dict]:
    """Every complete record in ``path`` ([] if it does not exist).

    A last line cut short by an interruption is dropped and trimmed from the file, so that the
    next append starts on a fresh line; a damaged line anywhere else is an error.
    """
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text()
    lines = text.split("\n")
    records, good_chars = [], 0
    for i, line in enumerate(lines):
        if not line.strip():
            good_chars += len(line) + 1
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i < len(lines) - 1 and any(x.strip() for x in lines[i + 1 :]):
                raise ValueError(f"{path}: line {i + 1} is damaged: {line[:80]!r}") from None
            with open(path, "r+") as f:  # an interrupted final write: drop it
                f.truncate(len(text[:good_chars].encode()))
            break
        good_chars += len(line) + 1
    return records


def append_record(f, record: dict) -> None:
    """Write one record to the open file ``f`` and flush it to disk."""
    f.write(json.dumps(record) + "\n")
    f.flush()
