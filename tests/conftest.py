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
    from core.settings import Settings

    return Settings(_env_file=None, home=home, model_dir=MODEL_DIR, **kw)


@pytest.fixture(scope="session")
def embedder():
    from core.models.minilm import MiniLMEmbedding
    from core.settings import available_cores

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
    from core.models.fake import FakeLLM

    return FakeLLM()


@pytest.fixture
def engine(sample_store, embedder, fake_llm):
    from rag.engine import Engine

    return Engine(sample_store, embedder, fake_llm)


@pytest.fixture(scope="session")
def embedded_llm():
    from core.models.embedded_llm import EmbeddedLLM
    from core.models.gguf import ensure_model
    from core.settings import available_cores

    return EmbeddedLLM.shared(ensure_model(MODEL_DIR), threads=available_cores())


@pytest.fixture(scope="session")
def seed_qa() -> list[dict]:
    if not SEED_QA.exists():
        pytest.skip(f"{SEED_QA} not found (it lives in ../shared beside the checkout)")
    return [json.loads(line) for line in SEED_QA.read_text().splitlines() if line.strip()]


# --- generated news corpus (reliability tests, issue #7)

_CITIES = ["Lisbon", "Porto", "Valencia", "Bilbao", "Lyon", "Turin", "Gdansk", "Tallinn", "Ghent", "Malmo", "Bergen", "Graz", "Brno", "Cork", "Split", "Riga"]
_WORKS = ["bridge", "tram line", "harbour", "library", "stadium", "water plant", "airport", "museum", "hospital", "school"]
_FILL = (
    "officials said the work would take several months and cost more than planned while residents asked for "
    "clear timetables and better information about detours traffic and noise during the busiest weeks"
).split()


def news_article(i: int, seed: int = 7, paragraphs: int = 2) -> str:
    """Article `i` of a generated corpus: a headline, a date, and `paragraphs` paragraphs.

    Each article's facts are unique ("report 10xx", its city and work), so a question can name one."""
    import random

    rng = random.Random(seed * 100_003 + i)
    city, work = _CITIES[i % len(_CITIES)], _WORKS[(i // len(_CITIES)) % len(_WORKS)]
    paras = [
        " ".join(f"The {work} in {city} was inspected on day {1000 + i}, and {' '.join(rng.sample(_FILL, 10))}." for _ in range(3))
        for _ in range(paragraphs)
    ]
    return f"{city} {work} inspection (report {1000 + i})\n\nMarch {1 + i % 28}, 2026\n\n" + "\n\n".join(paras) + "\n"


def make_news_corpus(folder: Path, n: int, seed: int = 7, paragraphs: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"n{i:03d}.txt").write_text(news_article(i, seed, paragraphs))
    return folder


def rewrite_layout(store, change) -> None:
    """Rewrite every chunk as another newsrag would have stored it: the flat record `change`
    returns as Chroma metadata (layouts 1 and 2), the text as the document."""
    from store.chroma import unpack

    col = store.chunks._col
    res = col.get(include=["embeddings", "documents", "metadatas"])
    flat = [unpack(m, d) for d, m in zip(res["documents"], res["metadatas"])]
    col.delete(ids=res["ids"])
    col.add(ids=res["ids"], embeddings=res["embeddings"], documents=[t for t, _ in flat], metadatas=[change(dict(m)) for _, m in flat])


def second_layout(meta: dict) -> dict:
    return meta | {"v": 2}


def first_layout(meta: dict) -> dict:
    for key in ("v", "day", "source_key", "host", "date_source", "page"):  # version 1 had none of these
        meta.pop(key, None)
    return meta
