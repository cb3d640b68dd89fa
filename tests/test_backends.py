"""Pluggable backends: registries, the extractive backend (no model), one
collection per embedder, and the `openai-compatible` backend end to end against
llama.cpp's real HTTP server serving the bundled GGUF on 127.0.0.1."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest

from rag.engine import Engine
from core.models import EMBEDDERS, LLMS, make_llm
from core.models.base import GenerationRequest
from core.models.extractive import ExtractiveLLM, answer_from
from rag.prompt import DECLINE
from core.settings import EmbedBackend, LLMBackend
from core.types import Passage
from evaluation.qa import contains_answer
from tests.conftest import MODEL_DIR, make_settings
from tests.servers import FakeOpenAI, llama_server


def passage(n: int, *sentences: str) -> Passage:
    text, spans, pos = " ".join(sentences), [], 0
    for s in sentences:
        spans.append((pos, pos + len(s)))
        pos += len(s) + 1
    return Passage(n, f"c{n}", f"a{n}", f"Title {n}", "Source", "2026-01-28", text, 0, len(text), 0.5, sentences=tuple(spans))


# --- registries


def test_registries_match_the_settings_choices(capsys):
    from ui.cli import main

    assert list(LLMS) == list(typing.get_args(LLMBackend))
    assert list(EMBEDDERS) == list(typing.get_args(EmbedBackend))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(f" {name} " in out for name in [*LLMS, *EMBEDDERS])


# --- extractive: no model at all


def test_extractive_answers_the_sample_questions_with_citations(sample_store, embedder, sample_qa, tmp_path):
    llm = make_llm(make_settings(tmp_path, llm="extractive").model_copy(update={"model_dir": tmp_path / "no-models"}))
    engine = Engine(sample_store, embedder, llm)
    right, models = 0, set()
    for row in sample_qa:
        a = engine.answer(row.question)
        models.add(a.model)
        if row.unanswerable:
            right += not a.answerable
        elif a.answerable and contains_answer(a.text, row.answer_any):
            assert a.citations and all(c.path.endswith(row.source) for c in a.citations), (row.id, a.citations)
            claimed = {c.citation for c in a.claims}  # who-says-what citations quote the other figure's sentence
            assert all(" ".join(c.quote.split()).rstrip(".") in a.text for c in a.citations if c.n not in claimed)  # it quotes what it cites
            right += 1
    assert right >= len(sample_qa) - 2, right
    assert models <= {"extractive", "gate"}
    assert not (tmp_path / "no-models").exists()  # no model was assembled or loaded


def test_extractive_picks_the_matching_sentence_and_cites_it():
    ps = [
        passage(1, "Trump spoke in Florida on Monday.", "He praised the talks."),
        passage(2, "Kremlin spokesman Dmitry Peskov said Wednesday that talks would go on.", "Weather was mild."),
    ]
    assert answer_from("Who is the Kremlin spokesman?", ps) == "Kremlin spokesman Dmitry Peskov said Wednesday that talks would go on [2]."


def test_extractive_declines_when_nothing_matches():
    ps = [passage(1, "Trump spoke in Florida on Monday.", "He praised the talks.")]
    assert answer_from("What did the central bank decide about interest rates?", ps) == DECLINE
    assert answer_from("What?", ps) == DECLINE  # no content words at all
    assert answer_from("Who is the Kremlin spokesman?", []) == DECLINE


def test_extractive_keeps_a_follow_up_question_as_asked():
    req = GenerationRequest([{"role": "user", "content": "rewrite"}], "And what did Peskov say?", (), purpose="condense")
    assert "".join(ExtractiveLLM().stream(req)) == "And what did Peskov say?"


# --- changing the embedder never mixes vectors


def _collections(home: Path) -> dict[str, int]:
    from store.chroma import make_client

    client = make_client(home)
    return {c.name: client.get_collection(c.name).count() for c in client.list_collections()}


@pytest.mark.integration
def test_second_embedder_gets_its_own_collection_and_ingest_re_embeds(tmp_path, corpus, monkeypatch, capsys):
    from ui.cli import main

    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    monkeypatch.setenv("NEWSRAG_HOME", str(home))
    assert main(["ingest", str(corpus), "--json"]) == 0
    first = _collections(home)
    assert len(first) == 1 and list(first.values())[0] > 0
    with FakeOpenAI(dim=16) as srv:
        monkeypatch.setenv("NEWSRAG_EMBED", "openai-compatible")
        monkeypatch.setenv("NEWSRAG_EMBED_BASE_URL", srv.url)
        monkeypatch.setenv("NEWSRAG_EMBED_MODEL", "nomic-embed-text")
        capsys.readouterr()
        assert main(["ingest", str(corpus), "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["added"] == 2 and report["unchanged"] == 0  # re-embedded, not skipped
        assert main(["ingest", str(corpus), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["unchanged"] == 2  # idempotent per embedder
        both = _collections(home)
        embedded_into = sum(len(p.body["input"]) for p in srv.posts("/embeddings") if p.body["input"] != ["dimension probe"])
    assert len(both) == 2 and {k: v for k, v in both.items() if k in first} == first  # the first is untouched
    (new,) = set(both) - set(first)
    # every chunk in it came from the new embedder (its chunking differs: no tokenizer, a word estimate)
    assert new.startswith("articles-nomic-embed-text-") and both[new] == embedded_into > 0


# --- the embedded runtime


@pytest.mark.slow
def test_embedded_llm_is_shared_and_opens_no_tcp_port(embedded_llm):
    from core.models.embedded_llm import EmbeddedLLM
    from core.models.gguf import ensure_model
    from core.settings import available_cores

    assert EmbeddedLLM.shared(ensure_model(MODEL_DIR), available_cores()) is embedded_llm  # loaded once per process
    addr = embedded_llm.listening_address
    assert addr.startswith("unix://"), addr  # llama.cpp's HTTP API: a UNIX socket, not 127.0.0.1:port,
    assert not Path(addr.removeprefix("unix://")).parent.exists()  # whose path is gone: nothing can connect
    assert "".join(embedded_llm.stream(GenerationRequest([{"role": "user", "content": "Say OK."}], max_tokens=3)))


# --- a real OpenAI-compatible server: llama.cpp's, serving the bundled GGUF


@pytest.fixture(scope="module")
def llama():
    from core.models.gguf import ensure_model
    from core.settings import available_cores

    with llama_server(ensure_model(MODEL_DIR), available_cores(), embeddings=True) as srv:
        yield srv


@pytest.mark.slow
@pytest.mark.integration
def test_llama_server_serves_embeddings_through_the_openai_compatible_embedder(llama, tmp_path):
    from core.models import make_embedder

    s = make_settings(tmp_path, embed="openai-compatible", embed_base_url=llama.url, embed_model=llama.model)
    emb = make_embedder(s)
    assert emb.dimension == 1536  # Qwen2.5-1.5B's hidden size, mean-pooled
    a, b, c = emb.get_text_embedding_batch(["Peskov is the Kremlin spokesman.", "The Kremlin's spokesman is Peskov.", "Brent crude rose."])
    cos = lambda x, y: sum(i * j for i, j in zip(x, y)) / (sum(i * i for i in x) * sum(j * j for j in y)) ** 0.5  # noqa: E731
    assert cos(a, b) > cos(a, c)


@pytest.mark.slow
@pytest.mark.integration
def test_openai_compatible_backend_answers_end_to_end(llama, tmp_path, sample_qa, sample_store, embedder):
    row = next(r for r in sample_qa if r.id == "s06")
    llm = make_llm(make_settings(tmp_path, llm="openai-compatible", llm_base_url=llama.url, llm_timeout=120))
    a = Engine(sample_store, embedder, llm).answer(row.question)
    assert a.error is None and a.answerable, (a.error, a.text)
    assert contains_answer(a.text, row.answer_any), a.text
    assert a.citations and all(c.path.endswith(row.source) for c in a.citations), a.citations
    assert a.model == f"openai-compatible:{llama.model}"  # the model the server lists, found by itself
    assert a.timings["first_token_s"] < a.timings["total_s"]  # it streamed: the first words came before the end


# --- any llama-index LLM, through the same public calls


@pytest.mark.integration
def test_answer_and_chat_take_a_llama_index_llm(engine):
    from llama_index.llms.openai_like import OpenAILike

    from rag import answer
    from rag.chat import Chat

    with FakeOpenAI(reply="Dmitry Peskov [1].") as srv:
        llm = OpenAILike(model="local-model", api_base=srv.url, api_key="test", is_chat_model=True, timeout=5, max_retries=0)
        a = answer("Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?", engine=engine, llm=llm)
        b = Chat(engine, llm=llm).ask("Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?")
    assert a.model == b.model == "llama-index:OpenAILike" and a.error is None
    assert a.text.startswith("Dmitry Peskov") and a.citations and len(srv.posts("/chat/completions")) == 2


def test_a_failing_llama_index_llm_ends_in_answer_error(engine):
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(model="m", api_base="http://127.0.0.1:9/v1", api_key="test", is_chat_model=True, timeout=2, max_retries=0)
    a = engine.answer("Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?", llm=llm)
    assert a.error.startswith("llama-index:OpenAILike failed: APIConnectionError") and a.passages and not a.answerable
