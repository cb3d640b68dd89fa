"""Readers and editors (NEWSRAG_AUTH with roles), and NEWSRAG_READONLY: the server refuses a
reader's upload and removal, through the page's handlers and through a direct API call."""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

from types import SimpleNamespace

import httpx
import pytest
from gradio_client.exceptions import AppError

from conftest import make_settings
from core.errors import ConfigError
from rag.engine import Engine
from tests.test_ui import ARTICLE, running
from ui.access import Access, parse_users

USERS = "alice:a-pass:editor,bob:b-pass:reader"


def test_auth_takes_users_with_roles_and_the_old_single_login():
    assert [(u.name, u.password, u.role) for u in parse_users(USERS)] == [("alice", "a-pass", "editor"), ("bob", "b-pass", "reader")]
    assert [(u.name, u.password, u.role) for u in parse_users("admin:pw")] == [("admin", "pw", "editor")]
    assert [(u.name, u.password, u.role) for u in parse_users("a:b:c")] == [("a", "b:c", "editor")]  # a password with colons
    assert [(u.name, u.password, u.role) for u in parse_users("a:x:y:Reader")] == [("a", "x:y", "reader")]
    for bad in ("alice:pw:editor,bob", "alice:pw:editor,:pw:reader", "alice::editor,bob:pw:reader", "a:1:editor,a:2:reader"):
        with pytest.raises(ConfigError, match="NEWSRAG_AUTH"):
            parse_users(bad)


def test_roles_and_read_only(tmp_path):
    access = Access(make_settings(tmp_path, auth=USERS))
    assert access.can_edit("alice") and not access.can_edit("bob") and not access.can_edit("mallory") and not access.can_edit(None)
    assert access.logins() == [("alice", "a-pass"), ("bob", "b-pass")]
    assert Access(make_settings(tmp_path)).can_edit(None), "no login: the (local) user edits"
    readonly = Access(make_settings(tmp_path, auth=USERS, readonly=True))
    assert not readonly.can_edit("alice") and "NEWSRAG_READONLY" in readonly.refusal("alice")


@pytest.fixture
def zebra(tmp_path):
    path = tmp_path / "zebra.txt"
    path.write_text(ARTICLE)
    return path


def test_the_handlers_refuse_a_reader_and_let_an_editor(writable_store, embedder, fake_llm, tmp_path, zebra):
    from ui.handlers import Page

    page = Page(Engine(writable_store, embedder, fake_llm), make_settings(tmp_path / "home", auth=USERS))
    before = [a.id for a in writable_store.manifest.articles()]
    report, summary, *_ = page.add_files([str(zebra)], user="bob")
    assert "Only editors can add or remove articles; bob is a reader" in report and "2 articles" in summary
    report, *_ = page.remove_article(before[0], user="bob")
    assert "Only editors" in report
    assert [a.id for a in writable_store.manifest.articles()] == before, "nothing changed"

    report, summary, *_ = page.add_files([str(zebra)], user="alice")
    assert "Added 1" in report and "3 articles" in summary
    report, summary, *_ = page.remove_article(before[0], user="alice")
    assert "Removed 1 article" in report and "2 articles" in summary
    controls = page.editor_controls("bob")
    assert all(c["visible"] is False for c in controls) and all(c["visible"] for c in page.editor_controls("alice"))


def test_a_direct_api_call_by_a_reader_is_refused_by_the_server(writable_store, embedder, fake_llm, tmp_path, zebra):
    from gradio_client import Client, handle_file

    settings = make_settings(tmp_path / "home", auth=USERS)
    with running(Engine(writable_store, embedder, fake_llm), settings) as url:
        ids = [a.id for a in writable_store.manifest.articles()]
        bob = Client(url, auth=("bob", "b-pass"), verbose=False)
        with pytest.raises(httpx.HTTPStatusError, match="403"):  # refused before any file is written
            bob.predict([handle_file(zebra)], api_name="/add_files")
        try:  # refused server-side: the handler's message, or Gradio's own check of the reader's empty article list
            report, summary, *_ = bob.predict(ids[0], api_name="/remove")
            assert "Only editors" in report and "2 articles" in summary
        except AppError as e:
            assert "not in the list of choices" in str(e)
        assert [a.id for a in writable_store.manifest.articles()] == ids

        alice = Client(url, auth=("alice", "a-pass"), verbose=False)
        report, summary, *_ = alice.predict([handle_file(zebra)], api_name="/add_files")
        assert "Added 1" in report and "3 articles" in summary
        report, summary, *_ = alice.predict(ids[0], api_name="/remove")
        assert "Removed 1 article" in report and "2 articles" in summary


def test_a_read_only_page_refuses_everyone(sample_store, embedder, fake_llm, tmp_path, zebra):
    from gradio_client import Client, handle_file

    settings = make_settings(tmp_path / "home", readonly=True)
    with running(Engine(sample_store, embedder, fake_llm), settings) as url:
        client = Client(url, verbose=False)
        with pytest.raises(httpx.HTTPStatusError, match="403"):  # refused before any file is written
            client.predict([handle_file(zebra)], api_name="/add_files")
        try:
            report, *_ = client.predict(sample_store.manifest.articles()[0].id, api_name="/remove")
            assert "read-only" in report
        except AppError as e:
            assert "not in the list of choices" in str(e)
    assert len(sample_store.manifest.articles()) == 2
