"""Running a watch: the verified events of its topic since its last run.

A watch asks its topic as a story (timeline mode) over the articles of its last days (the
caller keeps only the events it did not send before: an article ingested late still
counts). Only the events are needed, so the model is never asked: `Engine.stream` returns with them before any generation. Each event must pass
the citation verifier (its sentence, cited, checked against the passage it quotes) and is
keyed by where it stands in its article, so a later run never reports it again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from core.filters import Filter
from core.types import Answer, TimelineEvent
from rag.retrieve import passage_of
from rag.verify import CitationVerifier


def event_key(e: TimelineEvent) -> str:
    c = e.citations[0]
    return f"{c.article_id}:{c.start}-{c.end}"


def event_payload(e: TimelineEvent) -> dict[str, Any]:
    c = e.citations[0]
    return {"key": event_key(e), "date": e.date, "text": e.text, "outlets": list(e.outlets),
            "citation": {"title": c.title, "source": c.source, "date": c.date, "url": c.url, "path": c.path,
                         "article_id": c.article_id, "start": c.start, "end": c.end, "quote": c.quote}}


def new_events(engine: Any, topic: str, since: date, as_of: date | None = None,
               verifier: CitationVerifier | None = None) -> list[TimelineEvent]:
    """The topic's timeline events published since `since`, each verified against its passage."""
    stream = engine.stream(topic, filters=Filter(since=since), as_of=as_of, mode="timeline")
    check = verifier or CitationVerifier(engine.embedder)
    kept = []
    for e in stream.timeline:
        passage = _stored(engine, stream.passages, e)
        if passage is None:
            continue  # its article is gone from the store
        one = Answer(topic, f"{e.text} [1]", True, citations=(replace(e.citations[0], n=1, passage=1),),
                     passages=(replace(passage, n=1),))
        if not check(one).unsupported:
            kept.append(e)
    return kept


def _stored(engine: Any, retrieved: Any, e: TimelineEvent) -> Any:
    """The stored passage the event quotes: a retrieved one holding its span, else its article's lead."""
    c = e.citations[0]
    for p in retrieved:
        if p.article_id == c.article_id and p.start <= c.start and c.end <= p.end:
            return p
    lead = [passage_of(h) for h in engine.store.get([f"{c.article_id}:0"])]
    return next((p for p in lead if p.start <= c.start and c.end <= p.end), None)
