"""`newsrag mcp`: the store's tools, driven through the official MCP SDK's own client.

Over stdio (the command a desktop client starts) and over streamable HTTP (with
and without a key), each tool's results checked against the sample store; then,
in-process, the serve path's per-key limit and a crash that stays on the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import anyio
import httpx2
import pytest
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from conftest import make_settings
from tests.servers import free_port

REPO = Path(__file__).resolve().parents[1]
QUESTION = "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?"
TOOLS = {"search_news": ["query"], "ask_news": ["question"], "timeline": ["topic"], "list_sources": []}
BAD_DATE = "since '2026-02-30' is not a date: write it as YYYY-MM-DD, e.g. 2026-01-07"


def newsrag_command(*args: str) -> list[str]:
    """`newsrag ARGS`: the installed console script beside this Python, else the module."""
    script = Path(sys.executable).with_name("newsrag")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "ui.cli", *args]


def server_env(home: Path, **extra: str) -> dict[str, str]:
    """The server's environment: the store, extractive answers (deterministic, no model to load)."""
    return {"NEWSRAG_HOME": str(home), "NEWSRAG_LLM": "extractive", "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])), **extra}


def result(res: Any) -> dict[str, Any]:
    """A successful call's structured content (also sent as JSON text, for clients without structured output)."""
    assert not res.is_error, res.content[0].text
    assert json.loads(res.content[0].text) == res.structured_content
    return res.structured_content


def error(res: Any) -> str:
    assert res.is_error and len(res.content) == 1
    text = res.content[0].text
    assert "Traceback" not in text and "\n" not in text, text
    return text


def leaves(e: BaseException) -> list[BaseException]:
    return [x for sub in e.exceptions for x in leaves(sub)] if isinstance(e, BaseExceptionGroup) else [e]


# --- the checks every transport passes: each tool against the store

async def check_tools(s: Any, store: Any) -> None:
    listed = {t.name: t for t in (await s.list_tools()).tools}
    assert set(listed) == set(TOOLS)
    for name, tool in listed.items():
        assert len(tool.description) > 80, name  # enough for an agent to choose it
        assert sorted(tool.input_schema.get("required", [])) == TOOLS[name]
        assert all(p.get("description") for p in tool.input_schema["properties"].values()), name
        assert tool.output_schema and tool.output_schema["type"] == "object"
        assert tool.annotations.read_only_hint is True
    rows = {r.id: r for r in store.manifest.articles()}
    chunks = store.chunks.article_chunks(list(rows))

    sources = result(await s.call_tool("list_sources", {}))
    assert sources["articles"] == store.manifest.count() == len(rows)
    assert [(o["outlet"], o["articles"]) for o in sources["outlets"]] == store.manifest.outlets()
    for o in sources["outlets"]:
        days = sorted(r.date[:10] for r in rows.values() if r.source == o["outlet"] and r.date)
        assert (o["first"], o["last"]) == (days[0], days[-1])
    assert sources["without_outlet"] == sum(1 for r in rows.values() if not r.source)

    found = result(await s.call_tool("search_news", {"query": "Kremlin spokesman Abu Dhabi meetings", "k": 3}))
    assert 1 <= len(found["passages"]) <= 3 and [p["n"] for p in found["passages"]] == list(range(1, len(found["passages"]) + 1))
    for p in found["passages"]:
        row = rows[p["article_id"]]  # the store's articles, as the store describes them
        assert (p["title"], p["outlet"], p["date"], p["url"]) == (row.title, row.source, row.date[:10], row.url)
        assert p["text"] in {text for _, text, *_ in chunks[p["article_id"]]}
    assert any("Peskov" in p["text"] for p in found["passages"])

    outlet = store.manifest.outlets()[0][0]
    narrowed = result(await s.call_tool("search_news", {"query": "talks", "sources": [outlet], "since": "2026-01-01", "k": 10}))
    assert narrowed["passages"] and all(p["outlet"] == outlet and p["date"] >= "2026-01-01" for p in narrowed["passages"])
    early = result(await s.call_tool("search_news", {"query": "talks", "until": "2026-01-27", "k": 10}))
    assert all(p["date"] == "" or p["date"] <= "2026-01-27" for p in early["passages"])  # an undated article passes `until`

    a = result(await s.call_tool("ask_news", {"question": QUESTION}))
    assert a["answerable"] and "Peskov" in a["text"] and "[1]" in a["text"]
    assert [c["n"] for c in a["citations"]] == list(range(1, len(a["citations"]) + 1))
    for c in a["citations"]:
        assert c["title"] == rows[c["article_id"]].title and c["quote"] in rows_text(chunks, c["article_id"])
    assert a["unsupported"] == [] and "2026-01-28" in a["freshness"] and a["mode"] == "factoid"
    before = result(await s.call_tool("ask_news", {"question": QUESTION, "as_of": "2026-01-27"}))
    assert before["as_of"] == "2026-01-27" and all(c["date"] <= "2026-01-27" for c in before["citations"])

    story = result(await s.call_tool("timeline", {"topic": "the talks between Ukraine and Russia", "since": "2026-01-01"}))
    days = [e["date"] for e in story["events"]]
    assert days and days == sorted(days) and all(d >= "2026-01-01" for d in days)
    for e in story["events"]:
        assert e["text"] and set(e["outlets"]) <= {o for o, _ in store.manifest.outlets()}
        assert e["citations"] and all(c["article_id"] in rows and c["date"] == e["date"] for c in e["citations"])

    assert error(await s.call_tool("search_news", {"query": "talks", "since": "2026-02-30"})) == BAD_DATE
    assert "is after until" in error(await s.call_tool("timeline", {"topic": "talks", "since": "2026-02-01", "until": "2026-01-01"}))
    assert "list_sources names the outlets" in error(await s.call_tool("ask_news", {"question": QUESTION, "sources": ["nowhere.example"]}))
    assert "NEWSRAG_MAX_QUESTION_CHARS" in error(await s.call_tool("ask_news", {"question": "why? " * 100}))
    assert error(await s.call_tool("search_news", {"query": "talks", "k": 99})).startswith("invalid arguments to search_news: k: ")


def rows_text(chunks: dict[str, list[Any]], article_id: str) -> str:
    return " ".join(text for _, text, *_ in chunks[article_id])


# --- over stdio: `newsrag mcp`, as a desktop client starts it

@pytest.mark.integration
def test_stdio_tools_answer_from_the_store(sample_store, tmp_path):
    cmd = newsrag_command("mcp")
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], cwd=tmp_path,
                                   env=server_env(sample_store.home, NEWSRAG_MAX_QUESTION_CHARS="300"))

    async def run() -> None:
        with open(tmp_path / "stderr.log", "w") as log:
            async with stdio_client(params, errlog=log) as (r, w), ClientSession(r, w) as s:
                info = await s.initialize()
                assert info.server_info.name == "newsrag" and info.instructions
                await check_tools(s, sample_store)

    anyio.run(run)


# --- over streamable HTTP: `newsrag mcp --http`, keys as `newsrag serve` takes them

@contextlib.asynccontextmanager
async def http_session(url: str, key: str | None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx2.AsyncClient(headers=headers, timeout=120) as http, streamable_http_client(url, http_client=http) as (r, w):
        async with ClientSession(r, w) as s:
            await s.initialize()
            yield s


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120  # only stops a hang
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.2)


@pytest.mark.integration
def test_http_takes_the_api_keys_and_refuses_without_one(sample_store, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    log_path = tmp_path / "mcp.log"
    env = dict(os.environ, **server_env(sample_store.home, NEWSRAG_API_KEYS="k-one,k-two", NEWSRAG_MAX_QUESTION_CHARS="300"))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(newsrag_command("mcp", "--http", "--port", str(port)), cwd=tmp_path, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, log_path)

        async def run() -> None:
            async with http_session(url, "k-two") as s:
                await check_tools(s, sample_store)
            for key, why in ((None, "no API key was sent"), ("k-wrong", "the API key is not one of NEWSRAG_API_KEYS")):
                with pytest.raises(BaseException) as refused:
                    async with http_session(url, key):
                        pass
                messages = [str(x) for x in leaves(refused.value) if isinstance(x, MCPError)]
                assert messages == [f"{why}: send the header Authorization: Bearer KEY"], leaves(refused.value)
            async with httpx2.AsyncClient() as http:
                r = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                    headers={"Accept": "application/json, text/event-stream"})
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            assert "Authorization: Bearer KEY" in r.json()["error"]["message"]

        anyio.run(run)
        assert f"newsrag MCP server at http://127.0.0.1:{port}/mcp" in log_path.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --- in-process: the serve path's limits and error mapping

@contextlib.contextmanager
def mcp_http_server(engine: Any, settings: Any) -> Iterator[str]:
    """ui.mcp_server.http_app under uvicorn in a thread on 127.0.0.1; yields its /mcp URL."""
    import uvicorn

    from ui.mcp_server import http_app

    config = uvicorn.Config(http_app(engine, settings), host="127.0.0.1", port=free_port(), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the MCP server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{config.port}/mcp"
    finally:
        server.should_exit = True
        thread.join(30)


def test_one_key_may_have_only_its_share_of_questions_waiting(sample_store, embedder, fake_llm, tmp_path):
    from rag.engine import Engine

    gate = threading.Event()

    def held(req: Any) -> str:
        gate.wait(60)
        return "Dmitry Peskov [1]."

    fake_llm.default = held
    settings = make_settings(tmp_path / "home", api_keys="k1,k2", max_session_queue=1, concurrency=2)
    with mcp_http_server(Engine(sample_store, embedder, fake_llm), settings) as url:
        async def run() -> None:
            async with http_session(url, "k1") as first, http_session(url, "k1") as again, http_session(url, "k2") as other:
                answers: list[Any] = []

                async def ask() -> None:
                    answers.append(await first.call_tool("ask_news", {"question": QUESTION}))

                async with anyio.create_task_group() as tg:
                    tg.start_soon(ask)
                    try:
                        with anyio.fail_after(60):  # only stops a hang
                            while not fake_llm.requests:
                                await anyio.sleep(0.05)
                        refused = error(await again.call_tool("search_news", {"query": "talks"}))
                        assert "NEWSRAG_MAX_SESSION_QUEUE" in refused, "the same key, in another session, is the same client"
                        assert result(await other.call_tool("search_news", {"query": "talks"}))["passages"], "another key is not held back"
                    finally:
                        gate.set()
                assert result(answers[0])["text"].startswith("Dmitry Peskov [1]")
                assert result(await again.call_tool("search_news", {"query": "talks"}))["passages"], "the slot is given back"

        anyio.run(run)


def test_a_failure_is_one_line_and_a_crash_keeps_its_details_on_the_server(engine, tmp_path, monkeypatch, caplog):
    from core.errors import StoreError
    from ui.mcp_server import create_server

    server = create_server(engine, make_settings(tmp_path / "home"))

    def unreachable(*a: Any, **kw: Any) -> None:
        raise StoreError("the Chroma server at http://chroma:8000 is unreachable: start it, or unset NEWSRAG_CHROMA_URL")

    def crash(*a: Any, **kw: Any) -> None:
        raise KeyError("internal detail 0xdeadbeef")

    async def run() -> None:
        async with Client(server) as c:
            monkeypatch.setattr(engine, "retrieve", unreachable)
            said = error(await c.call_tool("search_news", {"query": "talks"}))
            assert said == "the Chroma server at http://chroma:8000 is unreachable: start it, or unset NEWSRAG_CHROMA_URL"
            monkeypatch.setattr(engine, "retrieve", crash)
            said = error(await c.call_tool("search_news", {"query": "talks"}))
            assert "0xdeadbeef" not in said and "KeyError" in said and "log" in said

    anyio.run(run)
    assert any(r.exc_info and "0xdeadbeef" in str(r.exc_info[1]) for r in caplog.records), "the details are in the log"
