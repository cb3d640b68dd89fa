"""`NewsragRetriever` inside llama-index's own `RetrieverQueryEngine`: its nodes are the
Engine's passages, the filters and the as-of date hold, and the LLM is shown the passages."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from llama_index.core import get_response_synthesizer
from llama_index.core.base.llms.types import CompletionResponse
from llama_index.core.llms import MockLLM
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.query_engine import RetrieverQueryEngine
from pydantic import Field

from conftest import ingest_opts, make_settings
from core.filters import Filter
from ingest import ingest
from rag import NewsragRetriever
from rag.engine import Engine

KREMLIN = "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?"
BRIDGE = "What happened to the harbour bridge?"
AS_OF = date(2025, 4, 1)

# Four dated articles on one story, from three outlets; the last appeared after AS_OF.
DATED = {
    "closed.txt": ("Harbour bridge closes after storm", "The Coastal Herald", "February 10, 2025",
                   "The harbour bridge closed on Monday after a storm pushed a cargo ship against its pillars, the city engineer said. "
                   "Ferries will carry commuters across the bay while divers inspect the foundations."),
    "cables.txt": ("Engineers replace bridge cables", "Northern Times", "March 3, 2025",
                   "Engineers began replacing forty steel cables on the harbour bridge, the contractor said on Tuesday. "
                   "Each cable weighs eleven tonnes and is lifted into place by a floating crane."),
    "tolls.txt": ("Council freezes harbour bridge tolls", "Northern Times", "March 20, 2025",
                  "The city council voted to freeze tolls on the harbour bridge for the rest of the year. "
                  "Drivers had complained about detours of up to forty minutes during the repairs."),
    "reopened.txt": ("Harbour bridge reopens to traffic", "Daily Gazette", "April 20, 2025",
                     "The harbour bridge reopened to traffic on Sunday, seven weeks after the storm, with two lanes in each direction. "
                     "The mayor cut a ribbon at the northern end as the first buses crossed."),
}


class RecordingLLM(MockLLM):
    """llama-index's MockLLM, recording every prompt it is given and replying with one fixed text."""

    prompts: list[str] = Field(default_factory=list)
    reply: str = "From the passages."

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.prompts.append(prompt)
        return CompletionResponse(text=self.reply)


def query_engine(retriever: NewsragRetriever, llm: RecordingLLM) -> RetrieverQueryEngine:
    # Every llama-index part is given its LLM: nothing falls back to llama-index's global Settings.
    return RetrieverQueryEngine(retriever, get_response_synthesizer(llm=llm, response_mode="compact"))


@pytest.fixture
def dated_home(tmp_path, store, embedder):
    folder = tmp_path / "dated"
    folder.mkdir()
    for name, (title, outlet, day, body) in DATED.items():
        (folder / name).write_text(f"{title}\n\nBy Staff, {outlet}\n{day}\n\n{body}\n")
    assert ingest([folder], store, embedder, ingest_opts()).ok
    return store


@pytest.fixture
def dated_engine(dated_home, embedder, fake_llm) -> Engine:
    return Engine(dated_home, embedder, fake_llm)


def by_source(nodes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for n in nodes:
        out.setdefault(n.node.metadata["source"], []).append(n.node.metadata["date"])
    return out


def test_nodes_are_the_engines_passages(engine):
    passages = engine.retrieve(KREMLIN, top_k=3)
    nodes = NewsragRetriever(engine, top_k=3).retrieve(KREMLIN)
    assert len(passages) == 3
    assert [n.node.node_id for n in nodes] == [p.chunk_id for p in passages]
    assert [n.node.get_content() for n in nodes] == [p.text for p in passages]
    assert [n.score for n in nodes] == [p.score for p in passages]
    for n, p in zip(nodes, passages):
        assert n.node.metadata == {
            "title": p.title, "source": p.source, "date": p.date, "url": p.url, "article_id": p.article_id,
            "start": p.start, "end": p.end, "page": p.page, "also_in": list(p.also_in),
        }
        assert n.node.ref_doc_id == p.article_id
        assert (n.node.start_char_idx, n.node.end_char_idx) == (p.start, p.end)
        assert p.end > p.start


def test_query_engine_shows_the_llm_the_passages(engine):
    llm = RecordingLLM()
    retriever = NewsragRetriever(engine, top_k=3)
    response = query_engine(retriever, llm).query(KREMLIN)
    passages = engine.retrieve(KREMLIN, top_k=3)
    assert str(response) == llm.reply
    assert [n.node.node_id for n in response.source_nodes] == [p.chunk_id for p in passages]
    prompt = "\n".join(llm.prompts)
    assert llm.prompts and KREMLIN in prompt
    for p in passages:
        assert p.text in prompt
        assert f"title: {p.title}" in prompt and f"source: {p.source}" in prompt and f"date: {p.date}" in prompt
        assert p.chunk_id not in prompt and f"article_id: {p.article_id}" not in prompt  # ids and offsets stay in metadata


def test_nothing_after_as_of_reaches_the_llm(dated_engine):
    late = DATED["reopened.txt"][3].split(". ")[0]
    everything = NewsragRetriever(dated_engine, top_k=10).retrieve(BRIDGE)
    assert "Daily Gazette" in by_source(everything)  # without as_of (today) the later article is found
    llm = RecordingLLM()
    response = query_engine(NewsragRetriever(dated_engine, top_k=10, as_of=AS_OF), llm).query(BRIDGE)
    dates = [n.node.metadata["date"] for n in response.source_nodes]
    assert len(dates) == 3 and all(date.fromisoformat(d) <= AS_OF for d in dates)
    prompt = "\n".join(llm.prompts)
    assert late not in prompt and "Daily Gazette" not in prompt
    assert all(n.node.get_content() in prompt for n in response.source_nodes)
    # the same passages as the Engine's own retrieval as of that day
    assert [n.node.node_id for n in response.source_nodes] == [
        p.chunk_id for p in dated_engine.retrieve(BRIDGE, top_k=10, as_of=AS_OF)
    ]


def test_sources_since_and_until_narrow_the_search(dated_engine):
    only = NewsragRetriever(dated_engine, top_k=10, sources="Northern Times").retrieve(BRIDGE)
    assert sorted(by_source(only)["Northern Times"]) == ["2025-03-03", "2025-03-20"] and len(by_source(only)) == 1
    window = NewsragRetriever(dated_engine, top_k=10, since=date(2025, 3, 1), until=date(2025, 4, 30)).retrieve(BRIDGE)
    assert sorted(n.node.metadata["date"] for n in window) == ["2025-03-03", "2025-03-20", "2025-04-20"]
    both = NewsragRetriever(dated_engine, top_k=10, sources=("northern times", "Daily Gazette"), until=date(2025, 3, 10))
    (node,) = both.retrieve(BRIDGE)
    assert node.node.metadata["title"] == "Engineers replace bridge cables"
    expected = dated_engine.retrieve(BRIDGE, top_k=10, filters=Filter(until=date(2025, 3, 10), sources=("Northern Times", "Daily Gazette")))
    assert [p.chunk_id for p in expected] == [node.node.node_id]


def test_without_an_engine_it_builds_one_from_settings(dated_home, dated_engine, tmp_path):
    from_settings = NewsragRetriever(settings=make_settings(tmp_path / "home"), top_k=10, as_of=AS_OF)
    given = NewsragRetriever(dated_engine, top_k=10, as_of=AS_OF)
    assert [n.node.node_id for n in from_settings.retrieve(BRIDGE)] == [n.node.node_id for n in given.retrieve(BRIDGE)]
    assert from_settings.engine.store.home == dated_home.home
