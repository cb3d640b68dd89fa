"""sha256 checks for shipped weights: never load bytes we cannot vouch for."""

from __future__ import annotations

import hashlib
from pathlib import Path

from core.errors import ConfigError


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_sha256(path: Path, expected: str, fix: str) -> None:
    got = sha256_file(path)
    if got != expected:
        raise ConfigError(f"{path} has sha256 {got[:12]}…, expected {expected[:12]}…: {fix}")
