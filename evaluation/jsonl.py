"""JSON lines, as the QA and RGB files hold them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from core.errors import ConfigError


def read_json_lines(path: Path, kind: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """`json_lines` of a file; a file that cannot be read is a ConfigError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read the {kind} file {path}: {e.strerror or e}") from None
    return json_lines(text, path, kind)


def json_lines(text: str, path: Path, kind: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each JSON object line of `text`; blank lines are skipped, a line
    that is not JSON is a ConfigError naming `path` and the line."""
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path} line {n} is not valid JSON ({e.msg}); {kind} files hold one object a line") from None
        if isinstance(row, dict):
            yield n, row
