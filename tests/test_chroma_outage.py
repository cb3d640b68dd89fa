"""A Chroma server (NEWSRAG_CHROMA_URL) that goes away mid-session: each question gets a
one-line message naming NEWSRAG_CHROMA_URL, through the engine and through `newsrag serve`;
when the server is back, the same engine answers again without a restart."""

from __future__ import annotations

import subprocess
import time
import urllib.request

import openai
import pytest

from conftest import ingest_opts, make_settings
from core.errors import StoreError
from ingest import ingest
from rag.engine import Engine
from store import Store
from tests.servers import api_server, free_port
from tests.test_api import QUESTION, replies
from tests.test_remote_chroma import _chroma_cli

pytestmark = pytest.mark.integration


class ChromaServer:
    def __init__(self, path, log_path) -> None:
        self.cli = _chroma_cli()
        if not self.cli:
            pytest.skip("the `chroma` command (installed with chromadb) is not on PATH")
        self.path, self.port, self.log_path, self.proc = path, free_port(), log_path, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.cli, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"chroma server did not start: {self.log_path.read_text()[-2000:]}")
                time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@pytest.fixture
def chroma(tmp_path):
    server = ChromaServer(tmp_path / "server", tmp_path / "chroma-server.log")
    server.start()
    yield server
    server.stop()


def test_answers_name_the_missing_server_and_resume_when_it_is_back(tmp_path, chroma, embedder, corpus, fake_llm):
    settings = make_settings(tmp_path / "home", chroma_url=chroma.url)
    store = Store.open(settings.home, embedder.identity, embedder.dimension, chroma_url=chroma.url)
    assert ingest([corpus], store, embedder, ingest_opts()).ok
    fake_llm.default = replies
    engine = Engine.from_settings(settings, llm=fake_llm, embedder=embedder)
    assert engine.answer(QUESTION).citations

    with api_server(engine, settings) as url:
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=60)
        ask = dict(model="newsrag", messages=[{"role": "user", "content": QUESTION}])
        chroma.stop()

        with pytest.raises(StoreError) as e:
            engine.answer(QUESTION)
        message = str(e.value)
        assert "NEWSRAG_CHROMA_URL" in message and chroma.url in message and "\n" not in message

        with pytest.raises(openai.InternalServerError) as e:
            client.chat.completions.create(**ask)
        assert e.value.status_code == 503 and e.value.body["code"] == "store_unavailable"
        assert e.value.body["message"] == message
        with pytest.raises(openai.InternalServerError) as e:  # streamed: the same, before the stream starts
            client.chat.completions.create(**ask, stream=True)
        assert e.value.body["message"] == message

        chroma.start()  # back, on the same port and data: no restart of newsrag
        a = engine.answer(QUESTION)
        assert a.citations and not a.error
        r = client.chat.completions.create(**ask)
        assert r.choices[0].message.content.startswith("Dmitry Peskov [1]") and r.model_extra["citations"]
