"""The layers (pyproject.toml [tool.importlinter]): ui > evaluation > rag > ingest > store > core.

Each package imports only those below it, so `core` and `store` load without
the answering code, and no import cycle, between packages or between the
modules of one package, can come back unnoticed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["core", "store", "ingest", "rag", "evaluation", "ui"]


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(exe)], cwd=root, capture_output=True, text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_layers_are_kept() -> None:
    r = lint_imports(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 kept, 0 broken" in r.stdout


def _copy_tree(dst: Path) -> None:
    for name in PACKAGES:
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dst / "pyproject.toml")


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    """The check can fail: the same tree with `store` importing `rag` is refused."""
    _copy_tree(tmp_path)
    chroma = tmp_path / "store" / "chroma.py"
    chroma.write_text(chroma.read_text() + "\nfrom rag.engine import Engine  # an upward import\n")
    r = lint_imports(tmp_path)
    assert r.returncode != 0
    assert "store.chroma -> rag.engine" in r.stdout


def test_a_cycle_inside_a_package_breaks_the_contract(tmp_path: Path) -> None:
    """Retrieval's stages import its types; the types importing the stages back is refused."""
    _copy_tree(tmp_path)
    retrieve = tmp_path / "rag" / "retrieve.py"
    retrieve.write_text(retrieve.read_text() + "\n\ndef _late():\n    from rag.stages import STAGES  # a cycle, even lazily\n")
    r = lint_imports(tmp_path)
    assert r.returncode != 0
    assert "No cycles are allowed in rag" in r.stdout


def test_store_imports_without_the_answering_layer() -> None:
    """The cycle the layering removed: `import store` used to need `rag` half-loaded."""
    code = "import store, sys; assert not any(m == 'rag' or m.startswith('rag.') for m in sys.modules), 'rag loaded'"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
