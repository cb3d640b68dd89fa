"""Shared fixtures: the real embedder (loaded once), real Chroma in tmp_path,
a recording FakeLLM, and the real embedded LLM for `slow` tests.

The sample corpus is ingested once per session into a template home that no
test opens. Tests that only read use `sample_store` (and `engine`): one copy of
the template for the whole session, checked after each test to be unchanged.
Tests that write (ingest more, remove, damage, migrate, upload) use
`writable_store`: their own store in `tmp_path / "home"`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "articles"
# Questions over the sample corpus with their accepted answers (evaluation.qa's format).
SAMPLE_QA = REPO / "data" / "eval" / "sample_qa.jsonl"
# The assembled GGUF is a 1.1 GB cache shared by all tests (and the app).
MODEL_DIR = REPO / ".newsrag" / "models"

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def make_settings(home: Path, **kw):
    from core.settings import Settings

    return Settings(_env_file=None, home=home, model_dir=MODEL_DIR, **kw)


def ingest_opts():
    """Ingest options from the Settings defaults (as the CLI builds them)."""
    from core.settings import Settings
    from rag.factory import ingest_options

    return ingest_options(Settings(_env_file=None))


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


def open_store(home: Path, embedder):
    from store import Store

    return Store.open(home, embedder.identity, embedder.dimension)


def ingest_sample(store, embedder, corpus: Path):
    from ingest import ingest

    report = ingest([corpus], store, embedder, ingest_opts())
    assert report.ok, report.failed
    return store


@pytest.fixture
def store(tmp_path, embedder):
    """An empty store in tmp_path / "home"."""
    return open_store(tmp_path / "home", embedder)


# --- the sample corpus: ingested once, copied for readers and writers


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory, embedder) -> Path:
    """The home of the sample corpus, ingested once per session. No test opens it: it is only
    copied, file by file, after the ingest has finished writing."""
    root = tmp_path_factory.mktemp("sample-template")
    corpus = root / "articles"
    shutil.copytree(SAMPLE, corpus)
    ingest_sample(open_store(root / "home", embedder), embedder, corpus)
    return root / "home"


def store_state(home: Path) -> str:
    """A digest of everything a store keeps: Chroma's chunks (ids, records, vectors), the
    keyword index's files and the manifest's rows. Equal digests, same store."""
    import numpy as np

    from store.chroma import make_client

    h = hashlib.sha256()
    client = make_client(home)
    for col in sorted(client.list_collections(), key=lambda c: c.name):
        res = client.get_collection(col.name).get(include=["metadatas", "documents", "embeddings"])
        h.update(json.dumps([col.name, col.metadata], sort_keys=True).encode())
        for i in sorted(range(len(res["ids"])), key=lambda i: res["ids"][i]):
            h.update(json.dumps([res["ids"][i], res["metadatas"][i], res["documents"][i]], sort_keys=True).encode())
            h.update(np.asarray(res["embeddings"][i], dtype=np.float32).tobytes())
    for f in sorted((home / "keyword").rglob("*")):
        if f.is_file():
            h.update(f"{f.relative_to(home)}".encode() + f.read_bytes())
    for db in sorted((home / "manifests").glob("*.sqlite")):
        with sqlite3.connect(db) as con:
            h.update("\n".join(con.iterdump()).encode())
        con.close()
    return h.hexdigest()


class SharedSample:
    """The session's read-only copy of the sample store, in its own folder."""

    def __init__(self, tmp_path_factory, template: Path) -> None:
        self._factory, self._template = tmp_path_factory, template
        self.renew()

    def renew(self) -> None:
        self.home = self._factory.mktemp("sample-shared") / "home"
        shutil.copytree(self._template, self.home)
        self.state = store_state(self.home)

    def check(self, test: str) -> None:
        """After a test: fail it if it changed the shared store (then give later tests a fresh copy)."""
        if store_state(self.home) != self.state:
            self.renew()
            pytest.fail(f"{test} wrote to the shared sample store: a test that writes uses `writable_store`", pytrace=False)


@pytest.fixture(scope="session")
def shared_sample(tmp_path_factory, sample_template) -> SharedSample:
    return SharedSample(tmp_path_factory, sample_template)


@pytest.fixture
def sample_store(shared_sample, embedder, request):
    """The sample corpus, read-only: one store for the session, opened afresh for each test.
    A test that writes to it fails at teardown; use `writable_store` to write."""
    yield open_store(shared_sample.home, embedder)
    shared_sample.check(request.node.nodeid)


@pytest.fixture
def writable_store(request, tmp_path, embedder, sample_template):
    """The sample corpus in this test's own store (tmp_path / "home"), to write to.

    A test that also asks for `corpus` gets it ingested from that folder, so the stored paths
    are its files (for tests that edit or remove them). Otherwise it is a file copy of the
    session's template (0.04 s against 0.5-0.8 s for an ingest on 2 cores)."""
    home = tmp_path / "home"
    if "corpus" in request.fixturenames:
        return ingest_sample(open_store(home, embedder), embedder, request.getfixturevalue("corpus"))
    shutil.copytree(sample_template, home)
    return open_store(home, embedder)


@pytest.fixture
def fake_llm():
    from core.models.fake import FakeLLM

    return FakeLLM()


@pytest.fixture
def engine(sample_store, embedder, fake_llm):
    """An Engine over the read-only sample store, answering with `fake_llm`."""
    from rag.engine import Engine

    return Engine(sample_store, embedder, fake_llm)


@pytest.fixture(scope="session")
def embedded_llm():
    from core.models.embedded_llm import EmbeddedLLM
    from core.models.gguf import ensure_model
    from core.settings import available_cores

    return EmbeddedLLM.shared(ensure_model(MODEL_DIR), threads=available_cores())


@pytest.fixture(scope="session")
def sample_qa() -> list:
    """The shipped questions over the sample corpus, read as `newsrag eval qa` reads them."""
    from evaluation.qa import load_qa

    return load_qa(SAMPLE_QA)


# --- generated news corpus (reliability tests)

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
