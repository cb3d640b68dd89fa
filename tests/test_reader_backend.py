"""The backend and the model are the server's choice: a reader who asks for another one (through
the page's own API, as a hostile client would) is refused in the answer and nothing is loaded;
NEWSRAG_READER_BACKENDS widens a reader's choice; editors choose any."""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import httpx
import pytest

from conftest import make_settings
from core.errors import ConfigError
from rag.engine import Engine
from tests.test_ui import message_text, running

USERS = "alice:a-pass:editor,bob:b-pass:reader"
QUESTION = "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?"


class Costly:
    """Backends that would load a model or spend the team's key: they record being built."""

    def __init__(self, fake_llm):
        self.built: list[tuple[str, str | None]] = []
        self.fake_llm = fake_llm

    def factory(self, name):
        def build(settings):
            self.built.append((name, settings.llm_model))
            return self.fake_llm
        return build

    def registry(self):
        return {
            "extractive": (self.factory("extractive"), "no model"),
            "embedded": (self.factory("embedded"), "the 1.5B model in-process"),
            "openai": (self.factory("openai"), "the team's OpenAI key"),
        }


@pytest.fixture
def costly(fake_llm):
    fake_llm.default = "Dmitry Peskov [1]."
    return Costly(fake_llm)


def last_reply(page, user, backend, model=""):
    history, *_ = list(page.respond(QUESTION, [], None, backend, model, user=user))[-1]
    return message_text(history[-1])


def test_a_reader_gets_the_servers_backend_and_model(sample_store, embedder, fake_llm, costly, tmp_path):
    from ui.handlers import Page

    settings = make_settings(tmp_path / "home", llm="extractive", auth=USERS)
    page = Page(Engine(sample_store, embedder, fake_llm), settings, costly.registry())
    reply = last_reply(page, "bob", "embedded")
    assert "Readers get their answers from the extractive backend" in reply and "NEWSRAG_READER_BACKENDS" in reply
    reply = last_reply(page, "bob", "extractive", "gpt-4o")
    assert "Readers use the model the server is configured with" in reply
    assert costly.built == [] and fake_llm.requests == [], "nothing was loaded, nothing was asked"
    assert "Dmitry Peskov" in last_reply(page, "bob", "extractive"), "the configured backend answers a reader"

    assert "Dmitry Peskov" in last_reply(page, "alice", "openai", "gpt-4o")
    assert costly.built == [("openai", "gpt-4o")], "an editor chooses any backend and model"


def test_reader_backends_widen_a_readers_choice_and_the_dropdown_shows_only_it(sample_store, embedder, fake_llm, costly, tmp_path):
    from ui.handlers import Page

    settings = make_settings(tmp_path / "home", llm="extractive", auth=USERS, reader_backends="embedded")
    page = Page(Engine(sample_store, embedder, fake_llm), settings, costly.registry())
    assert "Dmitry Peskov" in last_reply(page, "bob", "embedded")
    assert costly.built == [("embedded", None)]
    assert "Readers get their answers from the extractive, embedded backends" in last_reply(page, "bob", "openai")

    backend, model = page.backend_controls("bob")
    assert [name for _, name in backend["choices"]] == ["extractive", "embedded"] and model["interactive"] is False
    backend, model = page.backend_controls("alice")
    assert [name for _, name in backend["choices"]] == ["extractive", "embedded", "openai"] and model["interactive"] is True


def test_an_unknown_reader_backend_is_a_config_error_naming_the_valid_ones(sample_store, embedder, fake_llm, costly, tmp_path):
    from ui.handlers import Page

    settings = make_settings(tmp_path / "home", llm="extractive", auth=USERS, reader_backends="embeded")
    with pytest.raises(ConfigError, match="NEWSRAG_READER_BACKENDS names unknown LLM backend.*'embeded'.*extractive, embedded, openai"):
        Page(Engine(sample_store, embedder, fake_llm), settings, costly.registry())


def test_a_reader_calling_the_pages_api_cannot_switch_the_backend(sample_store, embedder, fake_llm, costly, tmp_path):
    """Through gradio_client against a launched page: the call the finding made (/ask with backend=embedded)."""
    from gradio_client import Client

    settings = make_settings(tmp_path / "home", llm="extractive", auth=USERS)
    with running(Engine(sample_store, embedder, fake_llm), settings, costly.registry()) as url:
        bob = Client(url, auth=("bob", "b-pass"), verbose=False)
        history, *_ = bob.predict(QUESTION, [], api_name="/ask", backend="embedded")
        assert "Readers get their answers from the extractive backend" in message_text(history[-1])
        history, *_ = bob.predict(QUESTION, [], api_name="/ask", backend="openai", model="gpt-4o")
        assert "Readers get their answers from the extractive backend" in message_text(history[-1])
        assert costly.built == [] and fake_llm.requests == []

        with httpx.Client(base_url=url, timeout=30) as http:  # the page a reader is served lists only the reader's choice
            assert http.post("login", data={"username": "bob", "password": "b-pass"}).status_code == 200
            config = http.get("config").json()
        dropdown = next(c for c in config["components"] if c.get("props", {}).get("elem_id") == "nr-backend")
        assert [value for _, value in dropdown["props"]["choices"]] == ["extractive"]

        alice = Client(url, auth=("alice", "a-pass"), verbose=False)
        history, *_ = alice.predict(QUESTION, [], api_name="/ask", backend="embedded")
        assert "Dmitry Peskov" in message_text(history[-1]) and costly.built == [("embedded", None)]
