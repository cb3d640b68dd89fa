"""Every failure of a hosted backend gives one line naming the fix and the setting.

A tiny OpenAI-compatible server on 127.0.0.1 (tests/servers.py) answers 401,
429, 500, 404 or hangs; the official `openai` client is pointed at it. No test
reaches the internet. Timeouts are small so the file runs in seconds; retries
are the openai client's own (backoff from 0.5 s, or what Retry-After asks).
"""

from __future__ import annotations

import logging
from urllib.parse import urlparse

import pytest

from core.errors import BackendError, ConfigError
from core.models import make_embedder, make_llm
from core.models.base import GenerationRequest
from core.models.openai_embed import OpenAIEmbedder
from core.models.openai_llm import OpenAIChat
from tests.conftest import make_settings
from tests.servers import HANG, FakeOpenAI, error

pytestmark = pytest.mark.integration

KEY = "sk-test-0123456789-VERY-SECRET"
DEAD = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there
REQ = GenerationRequest([{"role": "user", "content": "Who is the Kremlin spokesman?"}], "Who is the Kremlin spokesman?", (), 20)


@pytest.fixture(autouse=True)
def no_ambient_keys(monkeypatch):
    for var in ("OPENAI_API_KEY", "NEWSRAG_LLM_API_KEY", "NEWSRAG_EMBED_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


def chat(tmp_path, url: str, compatible: bool = True, **kw) -> OpenAIChat:
    kw = {"llm_api_key": KEY, "llm_timeout": 0.5, "llm_retries": 2, **kw}
    s = make_settings(tmp_path, llm_base_url=url, **kw)
    return OpenAIChat.from_settings(s, compatible=compatible)


def fails(llm: OpenAIChat) -> str:
    with pytest.raises(BackendError) as e:
        "".join(llm.stream(REQ))
    msg = str(e.value)
    assert KEY not in msg and "\n" not in msg and "Traceback" not in msg
    return msg


# --- settings that are missing


def test_missing_key_names_the_fix(tmp_path):
    with pytest.raises(ConfigError) as e:
        make_llm(make_settings(tmp_path, llm="openai"))
    assert str(e.value) == "OPENAI_API_KEY is not set: put it in .env, or use NEWSRAG_LLM=embedded"
    with pytest.raises(ConfigError) as e:
        make_embedder(make_settings(tmp_path, embed="openai"))
    assert str(e.value) == "OPENAI_API_KEY is not set: put it in .env, or use NEWSRAG_EMBED=embedded"


def test_key_is_read_from_openai_api_key(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    llm = make_llm(make_settings(tmp_path, llm="openai"))
    assert llm.name == "openai:gpt-4o-mini" and KEY not in repr(llm)


def test_compatible_backend_needs_a_base_url(tmp_path):
    with pytest.raises(ConfigError, match=r"^NEWSRAG_LLM_BASE_URL is not set: give the server's address, e\.g\. http://127\.0\.0\.1:11434/v1"):
        make_llm(make_settings(tmp_path, llm="openai-compatible"))
    with pytest.raises(ConfigError, match=r"^NEWSRAG_LLM_BASE_URL must look like http://"):
        make_llm(make_settings(tmp_path, llm="openai-compatible", llm_base_url="localhost:11434"))


# --- faults from a live server


def test_unreachable_server(tmp_path):
    msg = fails(chat(tmp_path, DEAD, llm_model="m"))
    assert msg == "cannot reach http://127.0.0.1:9/v1 (NEWSRAG_LLM_BASE_URL): is the server running?"


def test_rejected_key_401(tmp_path):
    with FakeOpenAI([error(401, f"Incorrect API key provided: {KEY}")]) as srv:
        msg = fails(chat(tmp_path, srv.url, llm_model="local-model"))
        assert srv.posts()[0].headers["Authorization"] == f"Bearer {KEY}"  # the key was sent, and only there
    assert msg == f"the API key was rejected (401) by {srv.url}: check NEWSRAG_LLM_API_KEY"
    assert len(srv.posts()) == 1  # a rejected key is not retried


def test_rejected_key_401_hosted_names_openai_api_key(tmp_path):
    with FakeOpenAI([error(401)], models=("gpt-4o-mini",)) as srv:
        msg = fails(chat(tmp_path, srv.url, compatible=False))
    assert msg == f"the API key was rejected (401) by {srv.url}: check OPENAI_API_KEY (or NEWSRAG_LLM_API_KEY) in .env"


def test_429_then_200_is_retried(tmp_path):
    with FakeOpenAI([error(429, "slow down"), error(429, "slow down", retry_after_ms="20")]) as srv:
        text = "".join(chat(tmp_path, srv.url, llm_model="local-model").stream(REQ))
    assert text == "Dmitry Peskov [1]." and len(srv.posts()) == 3


def test_429_after_retries(tmp_path):
    with FakeOpenAI([error(429)] * 5) as srv:
        msg = fails(chat(tmp_path, srv.url, llm_model="local-model", llm_retries=2))
    assert msg == f"rate limited (429) by {srv.url} after 2 retries (NEWSRAG_LLM_RETRIES): wait a minute and try again"
    assert len(srv.posts()) == 3


def test_quota_429_names_the_quota(tmp_path):
    # The client retries every 429 unless the server sends `x-should-retry: false`.
    quota = error(429, "You exceeded your current quota", code="insufficient_quota")
    with FakeOpenAI([quota] * 3) as srv:
        msg = fails(chat(tmp_path, srv.url, llm_model="local-model"))
    assert msg.startswith("the quota of this API key is used up (429 insufficient_quota)") and len(srv.posts()) == 3
    with FakeOpenAI([error(429, quota.message, code="insufficient_quota", x_should_retry="false")]) as srv:
        assert fails(chat(tmp_path, srv.url, llm_model="local-model")).startswith("the quota of this API key is used up")
    assert len(srv.posts()) == 1


def test_500_after_retries(tmp_path):
    with FakeOpenAI([error(500, "boom")] * 3) as srv:
        msg = fails(chat(tmp_path, srv.url, llm_model="local-model"))
    assert msg == f"{srv.url} failed with HTTP 500 after 2 retries: a server-side error; check the server's log or try again later"
    assert len(srv.posts()) == 3


def test_500_once_then_answer(tmp_path):
    with FakeOpenAI([error(503)]) as srv:
        assert "".join(chat(tmp_path, srv.url, llm_model="local-model").stream(REQ)) == "Dmitry Peskov [1]."


def test_hanging_server_times_out(tmp_path):
    # A hang lasts until the server closes (up to 30 s), then drops the connection unanswered:
    # only the client's 0.3 s timeout gives this message.
    with FakeOpenAI([HANG] * 2) as srv:
        msg = fails(chat(tmp_path, srv.url, llm_model="local-model", llm_timeout=0.3, llm_retries=1))
    assert msg == f"no reply from {srv.url} within 0.3 s (NEWSRAG_LLM_TIMEOUT): the server is busy or stuck; raise the timeout or check the server"
    assert len(srv.posts()) == 2  # the client retries a timeout too


def test_one_hang_then_answer(tmp_path):
    with FakeOpenAI([HANG]) as srv:
        assert "".join(chat(tmp_path, srv.url, llm_model="local-model", llm_timeout=0.3).stream(REQ)) == "Dmitry Peskov [1]."


def test_unknown_model_404_lists_the_served_ones(tmp_path):
    with FakeOpenAI(models=("llama3.1:8b", "qwen2.5:1.5b")) as srv:
        msg = fails(chat(tmp_path, srv.url, llm_model="gpt-17"))
    assert msg == f"model 'gpt-17' is not served at {srv.url} (NEWSRAG_LLM_MODEL): choose one it serves: llama3.1:8b, qwen2.5:1.5b"


def test_model_defaults_to_the_first_one_served(tmp_path):
    with FakeOpenAI(models=("qwen2.5:1.5b",)) as srv:
        llm = chat(tmp_path, srv.url)
        assert "".join(llm.stream(REQ)) == "Dmitry Peskov [1]."
    assert llm.name == "openai-compatible:qwen2.5:1.5b" and srv.posts()[0].body["model"] == "qwen2.5:1.5b"


# --- the hosted `openai` backend, with the same client pointed at the local server


def test_hosted_openai_backend_streams_from_the_local_server(tmp_path):
    with FakeOpenAI(models=("gpt-4o-mini",), reply="Peskov spoke for the Kremlin [1].") as srv:
        s = make_settings(tmp_path, llm="openai", llm_base_url=srv.url, llm_api_key=KEY)
        llm = make_llm(s)
        pieces = list(llm.stream(REQ))
    body = srv.posts("/chat/completions")[0].body
    assert "".join(pieces) == "Peskov spoke for the Kremlin [1]." and len(pieces) > 1  # streamed
    assert body["model"] == "gpt-4o-mini" and body["stream"] is True and body["temperature"] == 0
    assert body["max_completion_tokens"] == 20 and body["messages"] == REQ.messages
    assert llm.name == "openai:gpt-4o-mini"


def test_key_never_logged_or_shown(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeOpenAI([error(401, f"Incorrect API key provided: {KEY}")]) as srv:
        llm = chat(tmp_path, srv.url, llm_model="local-model")
        fails(llm)
        "".join(llm.stream(REQ))
    assert caplog.records and KEY not in caplog.text
    assert KEY not in repr(llm) and KEY not in repr(llm.endpoint)
    assert KEY not in repr(make_settings(tmp_path, llm_api_key=KEY))


# --- what the user sees: the engine keeps the passages, the CLI prints one line


def test_engine_answer_carries_the_error_and_the_passages(tmp_path, sample_store, embedder):
    from rag.engine import Engine

    a = Engine(sample_store, embedder, chat(tmp_path, DEAD, llm_model="m")).answer("Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?")
    assert a.error == "cannot reach http://127.0.0.1:9/v1 (NEWSRAG_LLM_BASE_URL): is the server running?"
    assert a.passages and not a.answerable and a.model == "openai-compatible:m"


def test_cli_ask_prints_one_line_and_exits_nonzero(tmp_path, corpus, monkeypatch, capsys):
    from ui.cli import main

    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("NEWSRAG_HOME", str(tmp_path / "home"))
    assert main(["ingest", str(corpus)]) == 0
    monkeypatch.setenv("NEWSRAG_LLM", "openai-compatible")
    monkeypatch.setenv("NEWSRAG_LLM_BASE_URL", DEAD)
    capsys.readouterr()
    assert main(["ask", "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?"]) == 3
    out, err = capsys.readouterr()
    assert out.startswith("error: cannot reach http://127.0.0.1:9/v1 (NEWSRAG_LLM_BASE_URL): is the server running?\n")
    assert "Retrieved passages" in out and "Traceback" not in out + err

    monkeypatch.setenv("NEWSRAG_LLM", "openai")  # no key anywhere
    assert main(["ask", "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?"]) == 3
    out, err = capsys.readouterr()
    assert out.startswith("error: OPENAI_API_KEY is not set: put it in .env, or use NEWSRAG_LLM=embedded\n")


# --- embedder backends


def embedder_at(tmp_path, url: str, **kw) -> OpenAIEmbedder:
    kw = {"embed_api_key": KEY, "embed_model": "nomic-embed-text", "llm_timeout": 0.5, "llm_retries": 1, **kw}
    return OpenAIEmbedder.from_settings(make_settings(tmp_path, embed_base_url=url, **kw), compatible=True)


def test_embedder_faults_name_the_embed_settings(tmp_path):
    with pytest.raises(BackendError) as e:
        embedder_at(tmp_path, DEAD).dimension
    assert str(e.value) == "cannot reach http://127.0.0.1:9/v1 (NEWSRAG_EMBED_BASE_URL): is the server running?"
    with FakeOpenAI([error(401)]) as srv, pytest.raises(BackendError) as e:
        embedder_at(tmp_path, srv.url).get_query_embedding("x")
    assert str(e.value) == f"the API key was rejected (401) by {srv.url}: check NEWSRAG_EMBED_API_KEY"
    with FakeOpenAI([error(500), error(500)]) as srv, pytest.raises(BackendError, match="failed with HTTP 500 after 1 retries"):
        embedder_at(tmp_path, srv.url).get_query_embedding("x")
    with pytest.raises(ConfigError, match=r"^NEWSRAG_EMBED_MODEL is not set"):
        embedder_at(tmp_path, DEAD, embed_model=None)


def test_embedder_batches_and_probes_its_dimension_once(tmp_path):
    with FakeOpenAI(dim=12) as srv:
        emb = embedder_at(tmp_path, srv.url)
        assert emb.dimension == 12 and emb.dimension == 12
        vectors = emb.get_text_embedding_batch([f"text {i}" for i in range(150)] + [""])
    assert len(vectors) == 151 and all(len(v) == 12 for v in vectors)
    assert [len(p.body["input"]) for p in srv.posts("/embeddings")] == [1, 64, 64, 23]  # probe, then batches
    assert emb.identity == f"openai-compatible:nomic-embed-text:{urlparse(srv.url).netloc}"
    assert KEY not in repr(emb)


def test_cli_ingest_with_an_unreachable_embedder_is_one_line(tmp_path, corpus, monkeypatch, capsys):
    from ui.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSRAG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEWSRAG_EMBED", "openai-compatible")
    monkeypatch.setenv("NEWSRAG_EMBED_BASE_URL", DEAD)
    monkeypatch.setenv("NEWSRAG_EMBED_MODEL", "nomic-embed-text")
    assert main(["ingest", str(corpus)]) == 2
    out, err = capsys.readouterr()
    assert err == "error: cannot reach http://127.0.0.1:9/v1 (NEWSRAG_EMBED_BASE_URL): is the server running?\n" and out == ""
