"""The story answer: how something developed, as dated events, then a short overview.

A timeline is another list of answer steps over the same retrieval, asked for
many passages inside the window (`rag.factory.timeline_steps`):

    gate        decline when nothing retrieved is about the question
    events      group the passages by story and by day (by week for windows over 45 days); for
                each, the sentence that states what happened, cited where it stands in its
                article, dated by it, with every outlet that reported it once (no LLM)
    model, prompt, generate, verify
                the LLM writes 2-4 cited sentences over the chosen events only
    changes     where a figure moved within the story: "12 people (Mon 5 Jan) -> 19 people (Thu 15 Jan)"
    freshness

The events are ready before the model is loaded: `Engine.stream` runs the eager
steps at once, so the page and the API show them while the overview is written.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import date
from typing import Any

from core.types import Answer, Citation, Passage, TimelineEvent
from rag.context import terms
from rag.figures import changes, dated_label
from rag.stages import overlap, shingles
from core.models.base import GenerationRequest
from rag.prompt import build_messages, prompt_tokens
from rag.steps import AnswerState, Prompt, PromptTrace, build_answer

WEEKLY_AFTER_DAYS = 45  # a window longer than this is told week by week
SAME_EVENT = 0.5  # shingle overlap at which two outlets' sentences tell one event
SECOND = 0.8  # a bucket's second event must score this share of its best one
_ASKS = re.compile(
    r"\b(what (?:has )?happened|what'?s (?:new|happening)|how (?:did|has|have|is|are)\b.*\b(?:develop|evolv|unfold|progress|go|gone|chang)\w*|"
    r"timeline|chronolog\w*|catch (?:me )?up|bring me up to (?:date|speed)|what (?:has )?changed|since (?:my last visit|last time)|"
    r"latest developments|developments? (?:in|on|with)|the story so far|recap of)\b",
    re.I,
)


def asks_for_a_story(question: str) -> bool:
    """Whether the question's words ask how something developed rather than for one fact."""
    return _ASKS.search(question) is not None


def _day(p: Passage) -> date | None:
    try:
        return date.fromisoformat(p.date[:10])
    except ValueError:
        return None


def _bucket(d: date, weekly: bool) -> date:
    return d.fromordinal(d.toordinal() - d.weekday()) if weekly else d


class Events:
    """Chooses the story's events from the passages (no LLM) and gives the model only those."""

    name, closing, eager = "events", False, True

    def __init__(self, stories: Any, max_events: int, min_relevance: float) -> None:
        self.stories, self.max_events, self.min_relevance = stories, max_events, min_relevance

    def __call__(self, state: AnswerState) -> None:
        passages = [p for p in state.retrieved if _day(p) is not None]
        if not passages:
            state.settle(Answer(state.question, "No dated article in the window tells this story.", False,
                                passages=state.retrieved, model="timeline", mode="timeline"))
            return
        story_of = self.stories.of([p.article_id for p in passages]) if self.stories is not None else {}
        chosen = _main_stories(passages, story_of, self.min_relevance)
        passages = [p for p in passages if story_of.get(p.article_id, "a" + p.article_id) in chosen]
        days = [d for p in passages if (d := _day(p))]
        weekly = (max(days) - min(days)).days > WEEKLY_AFTER_DAYS
        q = terms(state.query.text)
        buckets: dict[date, list[tuple[float, str, int, int, Passage]]] = {}
        idf = _idf(q, passages)
        for p in passages:
            for rank, (text, start, end) in enumerate(p.sentence_texts()):
                score = _sentence_score(text, rank, start, q, idf, p)
                if score > 0:
                    buckets.setdefault(_bucket(_day(p), weekly), []).append((score, text, start, end, p))  # type: ignore[arg-type]
        best = sorted(((pick, c) for c in buckets.values() for pick in _picks(c)), key=lambda bc: -bc[0][0])[: self.max_events]
        events, given = [], []
        for n, ((score, text, start, end, p), cands) in enumerate(sorted(best, key=lambda bc: (bc[0][4].date, -bc[0][0])), 1):
            said = shingles(text)
            outlets = dict.fromkeys([p.source, *p.also_in])
            for _, other, _, _, q_p in cands:
                if q_p.source not in outlets and overlap(said, shingles(other)) >= SAME_EVENT:
                    outlets[q_p.source] = None
            cite = Citation(n, n, p.article_id, p.title, p.source, p.date, text, start, end, p.path, p.page, p.url)
            events.append(TimelineEvent(p.date[:10], text, (cite,), tuple(o for o in outlets if o), story_of.get(p.article_id, "")))
            given.append(replace(p, n=n, text=text, start=start, end=end, sentences=((start, end),)))
        state.timeline = tuple(events)
        state.passages = given


def _picks(cands: list[tuple[float, str, int, int, Passage]]) -> list[tuple[float, str, int, int, Passage]]:
    """A day's (or week's) events: its best sentence, and the best of another story's article
    when that scores close to it (a week of a long story often holds two developments)."""
    ranked = sorted(cands, key=lambda x: -x[0])
    top = ranked[0]
    said = shingles(top[1])
    second = next((c for c in ranked[1:] if c[4].article_id != top[4].article_id and c[0] >= SECOND * top[0]
                   and overlap(said, shingles(c[1])) < SAME_EVENT), None)
    return [top] if second is None else [top, second]


def _main_stories(passages: list[Passage], story_of: dict[str, str], min_relevance: float) -> set[str]:
    """The stories the question is about: those whose passages weigh at least a third of the
    heaviest one's, among passages close enough to the question."""
    best = max((p.dense_score or 0.0) for p in passages)
    weight: dict[str, float] = {}
    for p in passages:
        dense = p.dense_score if p.dense_score is not None else best - 0.1  # a keyword-only hit
        if dense < max(min_relevance, best - 0.2):
            continue
        sid = story_of.get(p.article_id, "a" + p.article_id)
        weight[sid] = weight.get(sid, 0.0) + p.score
    top = max(weight.values(), default=0.0)
    return {sid for sid, w in weight.items() if w >= top / 3}


def _idf(q: set[str], passages: list[Passage]) -> dict[str, float]:
    sents = [terms(s) for p in passages for s, _, _ in p.sentence_texts()]
    return {t: math.log(1 + len(sents) / (1 + sum(t in s for s in sents))) for t in q}


def _sentence_score(text: str, rank: int, start: int, q: set[str], idf: dict[str, float], p: Passage) -> float:
    """How well a sentence states what happened: the question's words it holds (rare ones count
    more), early in its article (news says what happened first), with a figure or a name."""
    if text.rstrip().endswith("?") or not 40 <= len(text) <= 400:
        return 0.0
    hit = sum(idf.get(t, 0.0) for t in terms(text) & q)
    if hit == 0:
        return 0.0
    lead = 0.6 if start < 300 else 0.3 if start < 1200 else 0.0
    facts = 0.2 * bool(re.search(r"\d", text)) + 0.1 * bool(re.search(r"\s[A-Z][a-z]", text[1:]))
    return hit + lead + facts + (p.dense_score or 0.0)


class OverviewPrompt(Prompt):
    """The prompt over the events alone, asking for the story in a few sentences, oldest first."""

    ASK = " Say in two to four sentences, oldest first, how it developed."

    def __call__(self, state: AnswerState) -> None:
        messages = build_messages(state.query.text + self.ASK, state.passages, state.query.as_of)
        state.trace.prompt = PromptTrace(prompt_tokens(messages))
        state.request = GenerationRequest(messages, state.query.text, tuple(state.passages), self.max_tokens)


class Fallback:
    """When the model gives no overview (a decline, a failure, or text citing no event), the
    events speak for themselves: the first and the last, cited."""

    name, closing = "fallback", False

    def __call__(self, state: AnswerState) -> None:
        a = state.answer
        if a is not None and a.answerable and a.citations:
            return
        events = state.timeline
        if not events:
            return
        picks = [events[0]] if len(events) == 1 else [events[0], events[-1]]
        text = " ".join(f"On {e.date}, {e.text.rstrip('.')} [{e.citations[0].n}]." for e in picks)
        state.answer = build_answer(state.question, text, state.passages, state.timings, "timeline")
        state.settled = False


class EventNumbers:
    """A timeline's answer cites each event by its own number, as the timeline shows it (the
    overview's citations would otherwise be renumbered in order of use)."""

    name, closing = "event-numbers", False

    def __call__(self, state: AnswerState) -> None:
        a = state.answer
        if a is None or not state.timeline or not a.citations:
            return
        to_event = {c.n: c.passage for c in a.citations}
        text = re.sub(r"\[(\d+)\]", lambda m: f"[{to_event.get(int(m.group(1)), int(m.group(1)))}]", a.text)
        unsupported = tuple(replace(u, sentence=re.sub(r"\[(\d+)\]", lambda m: f"[{to_event.get(int(m.group(1)), int(m.group(1)))}]", u.sentence),
                                    citations=tuple(to_event.get(n, n) for n in u.citations)) for u in a.unsupported)
        state.answer = replace(a, text=text, citations=tuple(replace(c, n=c.passage) for c in a.citations), unsupported=unsupported)


class Changes:
    """Where a figure moved within the story, both values with their dates, in the answer."""

    name, closing = "changes", False

    def __call__(self, state: AnswerState) -> None:
        if state.answer is None or not state.timeline:
            return
        found = changes([(e.date, e.text) for e in state.timeline])
        if not found:
            return
        cite = {e.text: e.citations[0].n for e in state.timeline}
        cited = {c.n for c in state.answer.citations}
        extra = []
        lines = []
        for c in found:
            old = next(e for e in state.timeline if e.date == c.before_date and c.before.split()[-1] in e.text)
            new = next(e for e in reversed(state.timeline) if e.date == c.after_date and c.after.split()[-1] in e.text)
            lines.append(f"{c.before} ({dated_label(c.before_date)}) [{cite[old.text]}] \u2192 {c.after} ({dated_label(c.after_date)}) [{cite[new.text]}]")
            for e in (old, new):
                if e.citations[0].n not in cited:
                    cited.add(e.citations[0].n)
                    extra.append(e.citations[0])
        citations = tuple(sorted((*state.answer.citations, *extra), key=lambda c: c.n))
        state.answer = replace(state.answer, text=state.answer.text + " What changed: " + "; ".join(lines) + ".", citations=citations)
