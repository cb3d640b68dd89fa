"""What the MCP tools return (ui/mcp_server.py): each model is also its tool's output schema.

Citations and timeline events are `newsrag serve`'s (ui/openai_format.py), their
`source` named `outlet` as in the passages and the sources list.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from core.types import Answer, Passage
from ui import openai_format as fmt


class PassageOut(BaseModel):
    n: int = Field(description="rank, 1 = closest to the query")
    title: str
    outlet: str
    date: str = Field(description="publication date (ISO); empty when unknown")
    url: str = Field(description="the article's URL; empty for articles that came from files")
    text: str = Field(description="the passage, as stored")
    article_id: str
    closeness: float = Field(description="cosine similarity to the query; unrelated passages score low (under about 0.2)")
    also_in: list[str] = Field(description="other outlets that ran a copy of this passage")


class SearchOut(BaseModel):
    query: str
    as_of: str = Field(description="nothing published after this day was searched")
    passages: list[PassageOut]


class QuoteOut(BaseModel):
    """An article's sentence that supports a claim or reports an event."""

    title: str
    outlet: str
    date: str
    url: str
    quote: str = Field(description="the sentence of the article that supports the claim")
    article_id: str


class CitationOut(QuoteOut):
    n: int = Field(description="the [n] in the text")


class UnsupportedOut(BaseModel):
    sentence: str
    reason: str


class EventOut(BaseModel):
    date: str = Field(description="the day of the event (ISO), as the reporting article dates it")
    text: str = Field(description="the sentence that says what happened")
    outlets: list[str] = Field(description="every outlet that reported it")
    citations: list[QuoteOut]
    story: str = Field(description="the id of the story the event belongs to (empty if none)")


class AnswerOut(BaseModel):
    question: str
    text: str = Field(description="the answer, with [n] citation markers")
    citations: list[CitationOut]
    answerable: bool = Field(description="false when the articles do not answer the question (the text then says so)")
    unsupported: list[UnsupportedOut] = Field(description="answer sentences the verifier found no support for in the cited passages")
    freshness: str | None = Field(description="how current the answer is, e.g. the newest source's date and outlet")
    as_of: str | None
    mode: str = Field(description="factoid, or timeline when the question asked how a story developed (then `timeline` holds the events)")
    timeline: list[EventOut]


class TimelineOut(BaseModel):
    topic: str
    events: list[EventOut] = Field(description="oldest first")
    overview: str = Field(description="a short overview of the events, with [n] citation markers")
    citations: list[CitationOut] = Field(description="the overview's citations")
    answerable: bool
    freshness: str | None
    as_of: str | None


class SourceOut(BaseModel):
    outlet: str
    articles: int
    first: str | None = Field(description="the oldest dated article (ISO day); null when none is dated")
    last: str | None = Field(description="the newest dated article (ISO day)")


class SourcesOut(BaseModel):
    articles: int = Field(description="articles in the store, with or without an outlet")
    outlets: list[SourceOut] = Field(description="most articles first")
    without_outlet: int = Field(description="articles that name no outlet")


def _outlet(d: dict[str, Any]) -> dict[str, Any]:
    """A citation as `newsrag serve` gives it, its `source` named `outlet` as in the other tools."""
    return {("outlet" if k == "source" else k): v for k, v in d.items()}


def events_out(a: Answer) -> list[EventOut]:
    events = [fmt.timeline_event(e) for e in a.timeline]
    return [EventOut.model_validate({**e, "citations": [_outlet(c) for c in e["citations"]]}) for e in events]


def citations_out(a: Answer) -> list[CitationOut]:
    return [CitationOut.model_validate(_outlet(c)) for c in fmt.citations(a)]


def passage_out(p: Passage) -> PassageOut:
    return PassageOut(n=p.n, title=p.title, outlet=p.source, date=p.date, url=p.url, text=p.text, article_id=p.article_id,
                      closeness=round(p.closeness, 4), also_in=list(p.also_in))


def answer_out(a: Answer) -> AnswerOut:
    extras = fmt.extras(a)
    return AnswerOut(question=a.question, text=a.text, citations=citations_out(a), answerable=a.answerable,
                     unsupported=extras["unsupported"], freshness=extras["freshness"], as_of=extras["as_of"],
                     mode=a.mode, timeline=events_out(a))


def timeline_out(topic: str, a: Answer) -> TimelineOut:
    return TimelineOut(topic=topic, events=events_out(a), overview=a.text, citations=citations_out(a), answerable=a.answerable,
                       freshness=a.freshness or None, as_of=a.as_of or None)
