"""The story answer: how something developed, as dated events, then a short overview.

A timeline is another list of answer steps over a wider retrieval: the question's
topic without its time words, many passages, every day or week of the window read
and kept in turns (`rag.factory.timeline_retriever`, stages `spread` and `balance`):

    gate        decline when nothing retrieved is about the question
    events      keep the stories with a passage close to the question, and of them the articles
                about it (a story drifts over weeks); group their passages and
                their articles' leads by day (by week for windows over 45 days); for each, the
                sentence that states what happened (`rag.events`), cited where it stands in its
                article, dated by it, with every outlet that reported it once (no LLM)
    model, prompt, generate, cite-events, verify, backed, fallback
                the LLM writes 2-4 sentences over the events that fit the context budget; a
                sentence it left uncited is given the event it restates, one the events do
                not back is dropped; with none left, the first and last events are the answer
    changes     where a figure moved within the story: "12 people (Mon 5 Jan) -> 19 people (Thu 15 Jan)"
    freshness

The events are ready before the model is loaded: `Engine.stream` runs the eager
steps at once, so the page and the API show them while the overview is written.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, Callable

from core.articles import chunk_id
from core.filters import Filter
from core.types import Answer, Citation, Passage, Revision, TimelineEvent
from rag import events
from rag.events import day_of
from rag.figures import changes, dated_label
from rag.retrieve import passage_of
from core.models.base import GenerationRequest
from core.names import PassageView
from core.text import FUNCTION_WORDS, estimated_tokens
from rag.citations import sentences_with_citations
from rag.prompt import build_messages, prompt_tokens
from rag.steps import AnswerState, Prompt, PromptTrace, build_answer
from rag.verify import attribute
from rag.when import without_asked_dates

WEEKLY_AFTER_DAYS = 45  # a window longer than this is told week by week
CLOSE_TO_BEST = 0.25  # a story is in the answer when a passage of it is this close to the closest one
AS_IT_STANDS_DAYS = 90  # a story question without dates reads this many days up to its newest close article
WHOLE_ARTICLES = 20  # the story's closest articles are read whole: a week's news is often told past the lead (a live page's updates)
_ASKS = re.compile(
    r"\b(what (?:has )?happened|what'?s (?:new|happening)|how (?:did|has|have|is|are)\b.*\b(?:develop|evolv|unfold|progress|go|gone|chang)\w*|"
    r"timeline|chronolog\w*|catch (?:me )?up|bring me up to (?:date|speed)|what (?:has )?changed|since (?:my last visit|last time)|"
    r"latest developments|developments? (?:in|on|with)|the story so far|recap of)\b",
    re.I,
)


def asks_for_a_story(question: str) -> bool:
    """Whether the question's words ask how something developed rather than for one fact."""
    return _ASKS.search(question) is not None


class Events:
    """Chooses the story's events from the passages and their articles' leads (no LLM,
    `rag.events`) and gives the model only those."""

    name, closing, eager = "events", False, True

    def __init__(self, store: Any, max_events: int, min_relevance: float) -> None:
        self.store, self.max_events, self.min_relevance = store, max_events, min_relevance
        self.stories = getattr(store, "stories", None)

    def __call__(self, state: AnswerState) -> None:
        passages = [p for p in state.retrieved if day_of(p) is not None]
        if not passages:
            state.settle(Answer(state.question, "No dated article in the window tells this story.", False,
                                passages=state.retrieved, model="timeline", mode="timeline"))
            return
        story_of = self.stories.of([p.article_id for p in passages]) if self.stories is not None else {}
        passages = _of_main_stories(passages, story_of, self.min_relevance)
        passages += self._rest_of(passages, state.query.vector)
        days = [d for p in passages if (d := day_of(p))]
        where = state.query.where  # the window asked about, else the days the story spans
        first, last = max(where.since or min(days), min(days)), where.until or state.query.as_of or max(days)  # from the story's first day
        weekly = (last - first).days > WEEKLY_AFTER_DAYS
        scored = events.score(events.candidates(passages, self._leads(passages), weekly), state.query.text)
        told, given = [], []
        for n, (s, tellings) in enumerate(events.picks(scored, self.max_events), 1):
            p = s.passage
            outlets = dict.fromkeys(o for t in (s, *tellings) for o in (t.passage.source, *t.passage.also_in))
            cite = Citation(n, n, p.article_id, p.title, p.source, p.date, s.text, s.start, s.end, p.path, p.page, p.url)
            told.append(TimelineEvent(p.date[:10], s.text, (cite,), tuple(o for o in outlets if o), story_of.get(p.article_id, "")))
            given.append(replace(p, n=n, text=s.text, start=s.start, end=s.end, sentences=((s.start, s.end),)))
        state.timeline = tuple(told)
        state.passages = given

    def _rest_of(self, passages: list[Passage], vector: Any) -> list[Passage]:
        """The chunks not yet retrieved of the WHOLE_ARTICLES articles closest to the question,
        each with its own closeness to it (one store read)."""
        if self.store is None or vector is None:
            return []
        have = {p.chunk_id for p in passages}
        closest = sorted(events.closest_per_article(passages).values(), key=lambda p: -p.closeness)[:WHOLE_ARTICLES]
        want = [cid for p in closest for i in range(p.chunks) if (cid := chunk_id(p.article_id, i)) not in have]
        return [passage_of(h) for h in self.store.get(want, vector)] if want else []

    def _leads(self, passages: list[Passage]) -> dict[str, Passage]:
        """Each article's first chunk, where news says what happened (one store read)."""
        have = {p.article_id: p for p in passages if p.chunk_id == chunk_id(p.article_id, 0)}
        want = [chunk_id(a, 0) for a in dict.fromkeys(p.article_id for p in passages) if a not in have]
        if want and self.store is not None:
            have.update((p.article_id, p) for p in map(passage_of, self.store.get(want)))
        return have


def _of_main_stories(passages: list[Passage], story_of: dict[str, str], min_relevance: float) -> list[Passage]:
    """The passages of the stories the question is about: those with a passage nearly as close
    to the question as the closest. Each story counts alone: a long story is many (stories join
    articles days apart), and a heavy week must not crowd out the quiet ones. Of those stories,
    only the articles themselves about the question (at the gate's floor or above): a story
    drifts over weeks (a tariffs story takes a live page that also covers Ukraine), and its
    articles far from the question tell another story."""
    best = max(p.closeness for p in passages)
    story = {p.article_id: story_of.get(p.article_id, "a" + p.article_id) for p in passages}
    top = {a: p.closeness for a, p in events.closest_per_article(passages).items()}
    keep = {story[a] for a, c in top.items() if c >= max(min_relevance, best - CLOSE_TO_BEST)}
    floor = min(min_relevance, best - CLOSE_TO_BEST)
    return [p for p in passages if story[p.article_id] in keep and top[p.article_id] >= floor]


def as_it_stands(passages: list[Passage], where: Filter, as_of: date | None) -> date | None:
    """The first day of a story question's window when it names no dates: AS_IT_STANDS_DAYS
    before its newest close article. "How did the shutdown develop?" asked in November 2025 is
    that autumn's shutdown, not every one since 2018 the store tells as closely. None when the
    question has a window, or when the passages all fall inside that span anyway."""
    if where.since is not None or where.until not in (None, as_of):  # as of a day is not a window
        return None
    dated = [(p.closeness, d) for p in passages if (d := day_of(p)) is not None]
    if not dated:
        return None
    best = max(c for c, _ in dated)
    start = max(d for c, d in dated if c >= best - CLOSE_TO_BEST) - timedelta(days=AS_IT_STANDS_DAYS)
    return start if min(d for _, d in dated) < start else None


class OverviewPrompt(Prompt):
    """The prompt over some of the events, asking for the story in a few sentences, oldest first.

    It reads the events under the factoid answer's context budget, spread evenly from the
    first to the last: the prompt (read at ~70 tokens/s on 2 cores) then costs about what a
    factoid answer's does, and a 1.5B model given two dozen events loses their order."""

    ASK = " Say in two to four sentences, oldest first, how it developed."

    def __init__(self, max_tokens: int, budget: int) -> None:
        super().__init__(max_tokens)
        self.budget = budget

    def __call__(self, state: AnswerState) -> None:
        asked = state.query.asked or state.query.text
        read = [replace(p, n=i) for i, p in enumerate(spread_under(state.passages, self.budget), 1)]
        # No "Today is ..." line: the events are dated beside their text, and the 1.5B model wrote the line back as a
        # sentence of the overview in 2 of the 5 storyline questions.
        messages = build_messages(asked + self.ASK, read)
        state.trace.prompt = PromptTrace(prompt_tokens(messages))
        state.request = GenerationRequest(messages, asked, tuple(read), self.max_tokens)


def spread_under(passages: list[Passage], budget: int) -> list[Passage]:
    """As many of `passages` as fit in `budget` estimated tokens, evenly spaced from the first
    to the last (kept in order); all of them when the budget is 0."""
    if budget <= 0 or not passages:
        return list(passages)
    cost = [estimated_tokens(f"[{p.n}] ({p.title}, {p.date})\n{p.text}") + 1 for p in passages]
    for k in range(len(passages), 0, -1):
        picked = sorted({round(i * (len(passages) - 1) / max(1, k - 1)) for i in range(k)})
        if sum(cost[i] for i in picked) <= budget or k == 1:
            return [passages[i] for i in picked]
    return []


class CiteEvents:
    """The 1.5B model often tells the events without a single [n] (3 of the 5 storyline overviews
    on the dev store), and an overview citing nothing gave way to the fallback. Each sentence
    without a citation is given the event it restates (`rag.verify.attribute`: every name and
    number of the sentence in it, and most of its words); one that no event restates stays
    uncited, and the verifier flags it."""

    name, closing = "cite-events", False

    def __init__(self, common: Callable[[str], bool] | None = None) -> None:
        self.common = common

    def __call__(self, state: AnswerState) -> None:
        a = state.answer
        if a is None or not a.answerable or not a.passages:
            return
        views = [PassageView.of(p) for p in a.passages]
        told, added = [], False
        for sentence, cited in _told(a):
            if not cited and (n := attribute(without_asked_dates(a.question, sentence), views, self.common)) is not None:
                cited, added = [n], True
            told.append((sentence, cited))
        if added:
            state.answer = _retold(a, told)


class Backed:
    """The overview keeps only the sentences the events back: one the verifier flags (a month
    none of its events is from, a name none of them holds) is dropped, since the events below
    say what happened; with no cited sentence left, the first and last events are told. The
    reader saw the draft stream, so the answer says why it changed (`Answer.revision`)."""

    name, closing = "backed", False

    def __call__(self, state: AnswerState) -> None:
        a = state.answer
        if a is None or not a.answerable or not a.unsupported:
            return
        flagged = {u.sentence for u in a.unsupported}
        kept: Answer | None = _retold(a, [(sentence, cited) for sentence, cited in _told(a) if sentence not in flagged])
        if not kept.citations:
            kept = _first_and_last(state)
        if kept is not None:
            state.answer = replace(kept, revision=Revision(state.raw or a.text, a.unsupported, kept.text, True))


class Fallback:
    """When the model gives no overview (a decline, a failure, or text citing no event), the
    events speak for themselves: the first and the last, cited."""

    name, closing = "fallback", False

    def __call__(self, state: AnswerState) -> None:
        a = state.answer
        if a is not None and a.answerable and a.citations:
            return
        told = _first_and_last(state)
        if told is not None:
            state.answer = told
            state.settled = False


def _first_and_last(state: AnswerState) -> Answer | None:
    events = state.timeline
    if not events:
        return None
    picks = [events[0]] if len(events) == 1 else [events[0], events[-1]]
    text = " ".join(f"On {e.date}, {_continued(e.text.rstrip('.'))} [{e.citations[0].n}]." for e in picks)
    return build_answer(state.question, text, state.passages, state.timings, "timeline")


def _told(a: Answer) -> list[tuple[str, list[int]]]:
    """The answer's sentences, each with the numbers of the passages it cites (as the model read them)."""
    to_passage = {c.n: c.passage for c in a.citations}
    return [(sentence, [to_passage[n] for n in nums if n in to_passage]) for sentence, nums in sentences_with_citations(a.text)]


def _retold(a: Answer, told: list[tuple[str, list[int]]]) -> Answer:
    """`a` made of `told`: its sentences, citing those passages, parsed and numbered again."""
    raw = " ".join(_closed(sentence) + "".join(f" [{n}]" for n in cited) for sentence, cited in told)
    return replace(build_answer(a.question, raw, list(a.passages), a.timings, a.model), dropped_citations=a.dropped_citations)


def _closed(sentence: str) -> str:
    """A sentence ending as one: a list's line ("- Floods killed 12 people [1]") has no full stop,
    and told on after the next it would be read as one sentence with it."""
    return sentence if sentence.rstrip("\"”’')").endswith((".", "!", "?", "…")) else sentence + "."


def _continued(sentence: str) -> str:
    """A sentence going on after "On <date>, ": its opening word lowercased when that is a
    function word ("As many celebrate" -> "as many celebrate"), names kept ("Pope Francis")."""
    first = sentence.split(" ", 1)[0]
    return sentence[:1].lower() + sentence[1:] if first.lower() in FUNCTION_WORDS and not first.isupper() else sentence


class EventNumbers:
    """A timeline's answer cites each event by its own number, as the timeline shows it (the
    overview's citations would otherwise be renumbered in order of use)."""

    name, closing = "event-numbers", False

    def __call__(self, state: AnswerState) -> None:
        a = state.answer
        if a is None or not state.timeline or not a.citations:
            return
        number = {(e.citations[0].article_id, e.citations[0].start): e.citations[0].n for e in state.timeline}
        read = a.passages  # the events the overview read, numbered 1..k there
        to_event = {c.n: number.get((read[c.passage - 1].article_id, read[c.passage - 1].start), c.passage) for c in a.citations}
        text = re.sub(r"\[(\d+)\]", lambda m: f"[{to_event.get(int(m.group(1)), int(m.group(1)))}]", a.text)
        unsupported = tuple(replace(u, sentence=re.sub(r"\[(\d+)\]", lambda m: f"[{to_event.get(int(m.group(1)), int(m.group(1)))}]", u.sentence),
                                    citations=tuple(to_event.get(n, n) for n in u.citations)) for u in a.unsupported)
        state.answer = replace(a, text=text, citations=tuple(replace(c, n=to_event[c.n], passage=to_event[c.n]) for c in a.citations),
                               unsupported=unsupported, passages=tuple(state.passages))


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
            old = next(e for e in state.timeline if e.date == c.before_date and e.text == c.before_sentence)
            new = next(e for e in reversed(state.timeline) if e.date == c.after_date and e.text == c.after_sentence)
            lines.append(f"{c.before} ({dated_label(c.before_date)}) [{cite[old.text]}] \u2192 {c.after} ({dated_label(c.after_date)}) [{cite[new.text]}]")
            for e in (old, new):
                if e.citations[0].n not in cited:
                    cited.add(e.citations[0].n)
                    extra.append(e.citations[0])
        citations = tuple(sorted((*state.answer.citations, *extra), key=lambda c: c.n))
        state.answer = replace(state.answer, text=state.answer.text + " What changed: " + "; ".join(lines) + ".", citations=citations)
