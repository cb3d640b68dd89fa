"""Registers `newsrag eval` (filled in by the retrieval-quality work, issue #3)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    pass
