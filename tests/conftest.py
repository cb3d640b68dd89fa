"""Shared fixtures: the real embedder (loaded once), real Chroma in tmp_path,
a recording FakeLLM, and the real embedded LLM for `slow` tests."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "articles"
SHARED = REPO.parent / "shared"
SEED_QA = SHARED / "eval" / "seed_qa.jsonl"
# The assembled GGUF is a 1.1 GB cache shared by all tests (and the app).
MODEL_DIR = REPO / ".newsrag" / "models"

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def make_settings(home: Path, **kw):
    from rag.settings import Settings

    return Settings(_env_file=None, home=home, model_dir=MODEL_DIR, **kw)


@pytest.fixture(scope="session")
def embedder():
    from rag.models.minilm import MiniLMEmbedding
    from rag.settings import available_cores

    return MiniLMEmbedding(threads=available_cores())


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "home")


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A writable copy of the sample articles."""
    dst = tmp_path / "articles"
    shutil.copytree(SAMPLE, dst)
    return dst


@pytest.fixture
def store(tmp_path, embedder):
    from store import Store

    return Store.open(tmp_path / "home", embedder.identity, embedder.dimension)


@pytest.fixture
def sample_store(store, embedder, corpus):
    from ingest import ingest

    report = ingest([corpus], store, embedder)
    assert report.ok, report.failed
    return store


@pytest.fixture
def fake_llm():
    from rag.models.fake import FakeLLM

    return FakeLLM()


@pytest.fixture
def engine(sample_store, embedder, fake_llm):
    from rag.engine import Engine

    return Engine(sample_store, embedder, fake_llm)


@pytest.fixture(scope="session")
def embedded_llm():
    from rag.models.embedded_llm import EmbeddedLLM
    from rag.models.gguf import ensure_model
    from rag.settings import available_cores

    return EmbeddedLLM.shared(ensure_model(MODEL_DIR), threads=available_cores())


@pytest.fixture(scope="session")
def seed_qa() -> list[dict]:
    if not SEED_QA.exists():
        pytest.skip(f"{SEED_QA} not found (it lives in ../shared beside the checkout)")
    return [json.loads(line) for line in SEED_QA.read_text().splitlines() if line.strip()]
