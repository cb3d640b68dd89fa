"""`newsrag doctor [--fix]`: checks the store and the models (issue #7)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    pass
