"""Readers cannot write files: the page refuses a reader's upload before a byte is written (Gradio's
own /gradio_api/upload included), and a reader's call of the event that takes files. Gradio's copies
of an editor's upload are deleted once it is added (newsrag keeps its own under NEWSRAG_HOME/uploads)."""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import json
import uuid
import contextlib
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from conftest import make_settings
from rag.engine import Engine
from tests.test_roles import USERS
from tests.test_ui import ARTICLE, running


def gradio_files(name: str) -> list[Path]:
    """Every file called `name` under Gradio's upload folder."""
    from gradio.utils import get_upload_folder

    return list(Path(get_upload_folder()).rglob(name))


@pytest.fixture
def article(tmp_path) -> Path:
    path = tmp_path / f"zebra-{uuid.uuid4().hex[:12]}.txt"  # a name no other test uses
    path.write_text(ARTICLE)
    return path


@contextlib.contextmanager
def logged_in(url: str, user: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.post("login", data={"username": user, "password": password}).status_code == 200
        yield http


def test_a_readers_upload_is_refused_before_anything_is_written(writable_store, embedder, fake_llm, tmp_path, article):
    settings = make_settings(tmp_path / "home", auth=USERS)
    with running(Engine(writable_store, embedder, fake_llm), settings) as url:
        with logged_in(url, "bob", "b-pass") as bob:
            for path in ("gradio_api/upload", "upload", "gradio_api/upload/"):
                r = bob.post(path, files={"files": (article.name, article.read_bytes(), "text/plain")})
                assert r.status_code == 403, (path, r.status_code, r.text)
                assert "Only editors can add or remove articles; bob is a reader" in r.json()["detail"]
        with httpx.Client(base_url=url, timeout=30) as nobody:
            r = nobody.post("gradio_api/upload", files={"files": (article.name, b"x", "text/plain")})
            assert r.status_code == 401 and "log in" in r.json()["detail"]
        assert gradio_files(article.name) == []
    assert gradio_files(article.name) == [] and not (tmp_path / "home" / "uploads").exists()
    assert len(writable_store.manifest.articles()) == 2


def test_a_reader_cannot_make_the_server_fetch_a_file_through_the_add_files_event(writable_store, embedder, fake_llm, tmp_path):
    """The event's file input would be downloaded into Gradio's cache before the handler refuses:
    the call itself is refused, by the queue and by the REST routes."""
    settings = make_settings(tmp_path / "home", auth=USERS)
    url_file = {"path": "https://example.com/zebra.txt", "url": "https://example.com/zebra.txt", "meta": {"_type": "gradio.FileData"}}
    with running(Engine(writable_store, embedder, fake_llm), settings) as url:
        with logged_in(url, "bob", "b-pass") as bob:
            config = bob.get("config").json()
            fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "add_files")
            r = bob.post("gradio_api/queue/join", content=json.dumps(
                {"data": [[url_file]], "fn_index": fn_index, "session_hash": "s1", "event_data": None, "trigger_id": None}))
            assert r.status_code == 403 and "bob is a reader" in r.json()["detail"]
            for route in ("gradio_api/call/add_files", "gradio_api/call/v2/add_files", "gradio_api/run/add_files"):
                r = bob.post(route, json={"data": [[url_file]]})
                assert r.status_code == 403, (route, r.status_code, r.text)
            r = bob.post("gradio_api/call/remove", json={"data": [writable_store.manifest.articles()[0].id]})
            assert r.status_code == 200, "other events reach their handler, which refuses a reader itself"
    assert len(writable_store.manifest.articles()) == 2


def test_an_editors_upload_leaves_no_copy_in_gradios_folder(writable_store, embedder, fake_llm, tmp_path, article):
    from gradio_client import Client, handle_file

    settings = make_settings(tmp_path / "home", auth=USERS)
    with running(Engine(writable_store, embedder, fake_llm), settings) as url:
        alice = Client(url, auth=("alice", "a-pass"), verbose=False)
        report, summary, *_ = alice.predict([handle_file(article)], api_name="/add_files")
        assert "Added 1" in report and "3 articles" in summary
        assert gradio_files(article.name) == [], "Gradio's copy went once the article was added"
        program = article.with_suffix(".exe")
        program.write_bytes(b"MZ")
        report, *_ = alice.predict([handle_file(program)], api_name="/add_files")
        assert "not an article file" in report
        assert gradio_files(program.name) == [], "a refused file's copy goes too"
    kept = list((tmp_path / "home" / "uploads").rglob("*.txt"))
    assert len(kept) == 1 and kept[0].read_text() == ARTICLE


def test_a_read_only_page_refuses_every_upload(sample_store, embedder, fake_llm, tmp_path, article):
    settings = make_settings(tmp_path / "home", readonly=True)
    with running(Engine(sample_store, embedder, fake_llm), settings) as url:
        with httpx.Client(base_url=url, timeout=30) as http:
            r = http.post("gradio_api/upload", files={"files": (article.name, article.read_bytes(), "text/plain")})
        assert r.status_code == 403 and "NEWSRAG_READONLY" in r.json()["detail"]
    assert gradio_files(article.name) == []
