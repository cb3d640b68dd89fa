"""Regenerate `.env.example` and the README's settings table from core.settings.Settings.

Run after adding a setting: `.venv/bin/python scripts/gen_settings_docs.py`.
tests/test_settings.py fails when either is out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.settings import Settings  # noqa: E402

BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"


def _default(field) -> str:
    d = field.default
    if d is None:
        return ""
    return d.as_posix() if hasattr(d, "as_posix") else str(d)


def env_example() -> str:
    lines = [
        "# newsrag settings: copy to .env and uncomment what you change. Every one is optional.",
        "# Environment variables override .env. `newsrag models` lists the backends.",
        "",
    ]
    for name, f in Settings.model_fields.items():
        lines.append(f"# {f.description}")
        lines.append(f"# NEWSRAG_{name.upper()}={_default(f)}")
        if name in ("llm_api_key", "embed_api_key"):
            lines.append("# (OPENAI_API_KEY is read too)")
        lines.append("")
    return "\n".join(lines)


def settings_table() -> str:
    rows = ["| variable | default | what it does |", "|---|---|---|"]
    for name, f in Settings.model_fields.items():
        rows.append(f"| `NEWSRAG_{name.upper()}` | `{_default(f)}` | {f.description} |")
    return "\n".join(rows)


def readme(text: str) -> str:
    block = f"{BEGIN}\n{settings_table()}\n{END}"
    return re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)


if __name__ == "__main__":
    (ROOT / ".env.example").write_text(env_example())
    path = ROOT / "README.md"
    path.write_text(readme(path.read_text()))
    print("wrote .env.example and the README settings table")
