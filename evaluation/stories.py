"""`newsrag eval stories FILE --home H`: story answers (timeline mode) on a storyline file.

A storyline file holds one story question a line: `id`, `question`, `since`, `as_of` (ask it
as of this date) and `events`, a list of `{quiz_id, date, quiz, answer_any}`: what a good
account of the story should hold, each dated by the week it happened. Each question is asked
in timeline mode as of `as_of`, filtered to articles since `since`, and scored per event:

- mentioned: an accepted answer (case-insensitive substring) in the answer text or in the
  text of one of its timeline's events;
- dated: an accepted answer in a timeline event dated within the event's window
  [date - 10 days, date + 3 days], or in a sentence of the answer text citing a passage
  dated within it;
- in passages: an accepted answer in a passage the model was given, or in an event's text.

The same question through the factoid path (same as_of and filter) is the baseline, scored
the same way. Two ceilings need no store, only the corpus: for how many events an article
dated inside the event's window holds an accepted answer (title or text), and an article
published by `as_of` (an undated article is not known to be). Timing per question: the time
until the events are shown (`Engine.stream` returns with them, before the model is asked),
the overview's time to first token and the factoid answer's.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

from core.errors import ConfigError
from core.filters import Filter
from evaluation.jsonl import read_json_lines
from evaluation.latency import row_budget
from evaluation.metrics import percentile
from evaluation.qa import contains_answer

DAYS_BEFORE, DAYS_AFTER = 10, 3  # an event's window: [date - 10 days, date + 3 days]
EVENTS_WITHIN_S = 1.5  # the timeline's events are shown within this many seconds
OVERVIEW_TTFT_RATIO = 1.5  # the overview's first word within this times the factoid answer's
FIGURES = ("mentioned", "dated", "in_passages")


@dataclass(frozen=True)
class StoryEvent:
    quiz_id: str
    date: date
    quiz: str
    answer_any: tuple[str, ...]

    def covers(self, day: date | str | None) -> bool:
        """Whether `day` (a date or an ISO string) lies in this event's window."""
        d = _day(day) if not isinstance(day, date) else day
        return d is not None and self.date - timedelta(days=DAYS_BEFORE) <= d <= self.date + timedelta(days=DAYS_AFTER)


@dataclass(frozen=True)
class Storyline:
    id: str
    question: str
    since: date
    as_of: date
    events: tuple[StoryEvent, ...]


def load_storylines(path: Path, limit: int | None = None) -> list[Storyline]:
    stories = []
    for n, r in read_json_lines(path, "storyline"):
        try:
            events = tuple(StoryEvent(str(e["quiz_id"]), date.fromisoformat(e["date"][:10]), str(e.get("quiz", "")),
                                      tuple(str(a) for a in e["answer_any"] if str(a).strip())) for e in r["events"])
            stories.append(Storyline(str(r["id"]), r["question"], date.fromisoformat(r["since"][:10]),
                                     date.fromisoformat(r["as_of"][:10]), events))
        except (KeyError, ValueError, TypeError) as e:
            raise ConfigError(f"{path} line {n}: not a storyline ({e}); it needs id, question, since, as_of and "
                              "events [{quiz_id, date, quiz, answer_any}]") from None
    if not stories:
        raise ConfigError(f"{path} holds no storylines")
    return stories[:limit] if limit else stories


def _day(text: Any) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


# --- scoring one answer (pure)


def score_event(event: StoryEvent, answer: Any) -> dict[str, bool]:
    """The three figures for one event in one Answer (a timeline's, or a factoid one with no timeline)."""
    from rag.citations import sentences_with_citations

    def said(text: str) -> bool:
        return contains_answer(text, event.answer_any)

    dated_of = {c.n: c.date for c in answer.citations}
    in_events = [e for e in answer.timeline if said(e.text)]
    cited = any(said(sentence) and any(event.covers(dated_of.get(n)) for n in nums)
                for sentence, nums in sentences_with_citations(answer.text))
    return {
        "mentioned": said(answer.text) or bool(in_events),
        "dated": cited or any(event.covers(e.date) for e in in_events),
        "in_passages": bool(in_events) or any(said(p.text) for p in answer.passages),
    }


def ceilings(corpus: Path, stories: list[Storyline]) -> list[dict[str, str | None]]:
    """For each event (in file order): the id of an article dated inside its window holding an
    accepted answer in its title or text, and of one published by its story's `as_of`; None when no
    article does. One pass over the corpus; an event stops being checked once both are found."""
    todo = [(s, e) for s in stories for e in s.events]
    found: list[dict[str, str | None]] = [{"in_window": None, "by_as_of": None} for _ in todo]
    try:
        f = corpus.open(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read the corpus {corpus}: {e.strerror or e}") from None
    with f:
        for n, line in enumerate(f, 1):
            try:
                a = json.loads(line)
            except ValueError:
                continue  # ingest reports the line; the ceilings just leave it out
            day = _day(a.get("date")) if isinstance(a, dict) else None
            if day is None:
                continue  # neither inside a window nor known to be published by as_of
            text = None
            for (story, event), hit in zip(todo, found):
                wanted = [k for k, ok in (("in_window", event.covers(day)), ("by_as_of", day <= story.as_of)) if ok and hit[k] is None]
                if not wanted:
                    continue
                text = text if text is not None else f"{a.get('title', '')}\n{a.get('text', '')}"
                if contains_answer(text, event.answer_any):
                    for k in wanted:
                        hit[k] = str(a.get("id") or a.get("url") or f"line {n}")
    return found


# --- running


def ask_story(engine: Any, story: Storyline, baseline: bool = True) -> dict[str, Any]:
    """One storyline through the timeline path (timed: events shown, overview's first token) and,
    with `baseline`, the factoid path; every event scored on both."""
    filters = Filter(since=story.since)
    t0 = time.perf_counter()
    stream = engine.stream(story.question, filters=filters, as_of=story.as_of, mode="timeline")
    events_s = time.perf_counter() - t0
    shown = len(stream.timeline)
    told = stream.answer
    factoid = engine.answer(story.question, filters=filters, as_of=story.as_of, mode="factoid") if baseline else None
    row: dict[str, Any] = {
        "id": story.id, "question": story.question, "since": story.since.isoformat(), "as_of": story.as_of.isoformat(),
        "events_shown": shown, "events_s": round(events_s, 3), "overview_ttft_s": _seconds(told, "first_token_s"),
        "timeline_total_s": _seconds(told, "total_s"), "answer": told.text, "error": told.error,
        "timeline": [{"date": e.date, "text": e.text, "outlets": list(e.outlets)} for e in told.timeline],
        "timeline_budget": row_budget(told),  # every stage's seconds and the LLM's token counts
    }
    if factoid is not None:
        row.update(factoid_ttft_s=_seconds(factoid, "first_token_s"), factoid_total_s=_seconds(factoid, "total_s"),
                   factoid_answer=factoid.text, factoid_error=factoid.error,
                   factoid_budget=row_budget(factoid))
    row["events"] = [
        {"quiz_id": e.quiz_id, "date": e.date.isoformat(), "quiz": e.quiz, "expected": list(e.answer_any),
         "timeline": score_event(e, told), **({"factoid": score_event(e, factoid)} if factoid is not None else {})}
        for e in story.events
    ]
    return row


def _seconds(answer: Any, key: str) -> float | None:
    v = answer.timings.get(key)
    return round(v, 3) if v is not None else None


def evaluate_stories(
    stories: list[Storyline], engine: Any, *, baseline: bool = True, corpus: Path | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Every storyline through `engine`, scored; with `corpus`, the ceilings beside them."""
    warm_up(engine, stories)
    rows = []
    for story in stories:
        rows.append(ask_story(engine, story, baseline))
        if on_row:
            on_row(rows[-1])
    report: dict[str, Any] = {"questions": len(stories), "events": sum(len(s.events) for s in stories),
                              "window_days": [-DAYS_BEFORE, DAYS_AFTER], "baseline": baseline}
    if corpus is not None:
        hits = ceilings(corpus, stories)
        for event, hit in zip((e for r in rows for e in r["events"]), hits):
            event["ceiling"] = hit
        report["ceilings"] = {"corpus": str(corpus), "in_window": sum(h["in_window"] is not None for h in hits),
                              "by_as_of": sum(h["by_as_of"] is not None for h in hits), "events": len(hits)}
    for arm in ("timeline", "factoid") if baseline else ("timeline",):
        report[arm] = totals([e[arm] for r in rows for e in r["events"]])
    report["timing"] = timing(rows, baseline)
    report["rows"] = rows
    return report


def warm_up(engine: Any, stories: list[Storyline], tries: int = 3) -> None:
    """Untimed: load the model and have it answer once, so that the first timed question, like
    every later one, finds it loaded and its prompt cache holding the instructions both paths
    share (else whichever path runs first pays for them). It answers one of the first story's
    quiz questions, never a timed question (whose whole prompt would then be cached)."""
    _ = engine.llm
    if not stories:
        return
    s = stories[0]
    for event in [e for e in s.events if e.quiz.strip()][:tries]:  # a quiz the gate declines never reaches the model: the next one
        if "first_token_s" in engine.answer(event.quiz, filters=Filter(since=s.since), as_of=s.as_of, mode="factoid").timings:
            return


def totals(scores: list[dict[str, bool]]) -> dict[str, int]:
    return {"n": len(scores), **{k: sum(s[k] for s in scores) for k in FIGURES}}


def timing(rows: list[dict[str, Any]], baseline: bool) -> dict[str, Any]:
    """p50 / max of the events' and the overview's times; how many questions meet the two targets."""
    events = [r["events_s"] for r in rows]
    overview = [r["overview_ttft_s"] for r in rows if r["overview_ttft_s"] is not None]
    out: dict[str, Any] = {
        "events_p50_s": round(percentile(events, 50), 3), "events_max_s": max(events, default=None),
        "events_within": sum(s <= EVENTS_WITHIN_S for s in events), "events_within_s": EVENTS_WITHIN_S,
        "overview_ttft_p50_s": round(percentile(overview, 50), 3) if overview else None, "questions": len(rows),
    }
    if baseline:
        factoid = [r["factoid_ttft_s"] for r in rows if r["factoid_ttft_s"] is not None]
        ratios = [r["overview_ttft_s"] / r["factoid_ttft_s"] for r in rows if r["overview_ttft_s"] and r["factoid_ttft_s"]]
        for r in rows:
            r["ttft_ratio"] = round(r["overview_ttft_s"] / r["factoid_ttft_s"], 2) if r["overview_ttft_s"] and r["factoid_ttft_s"] else None
        out.update(factoid_ttft_p50_s=round(percentile(factoid, 50), 3) if factoid else None,
                   ttft_ratio_p50=round(percentile(ratios, 50), 2) if ratios else None, ttft_ratio_max=OVERVIEW_TTFT_RATIO,
                   ttft_within=sum(x <= OVERVIEW_TTFT_RATIO for x in ratios), ttft_compared=len(ratios))
    return out


def default_corpus(path: Path) -> Path | None:
    """`dev/corpus.jsonl` beside the storyline file, if there (the slice its stories are drawn from)."""
    near = path.parent / "dev" / "corpus.jsonl"
    return near if near.is_file() else None


def run_stories(
    path: Path, settings: Any, *, home: Path, corpus: Path | None = None, limit: int | None = None, baseline: bool = True,
    llm: Any = None, embedder: Any = None, on_row: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """The report over the store in `home` (already ingested; nothing is written to it).
    `corpus` (default: `default_corpus(path)`) is read only for the ceilings."""
    from core.models import make_embedder
    from rag.engine import Engine

    stories = load_storylines(path, limit)
    if not home.is_dir():
        raise ConfigError(f"no store at {home}: ingest the stories' corpus there first (NEWSRAG_HOME={home} newsrag ingest CORPUS)")
    corpus = corpus or default_corpus(path)
    if corpus is not None and not corpus.is_file():
        raise ConfigError(f"no corpus file at {corpus} (--corpus is the JSON lines the store was ingested from)")
    s = settings.model_copy(update={"home": home, "model_dir": settings.resolved_model_dir(), "chroma_url": None})
    engine = Engine.from_settings(s, llm=llm, embedder=embedder or make_embedder(settings))
    if engine.store.is_empty():
        raise ConfigError(f"the store at {home} is empty: ingest the stories' corpus there first (NEWSRAG_HOME={home} newsrag ingest CORPUS)")
    report = {"dataset": str(path), "store": str(home), **evaluate_stories(stories, engine, baseline=baseline, corpus=corpus, on_row=on_row)}
    return report


# --- the report


def stories_markdown(report: dict[str, Any]) -> str:
    from evaluation.tables import table

    n = report["events"]
    before, after = report["window_days"]
    head = (f"Story answers on {report.get('dataset', 'storylines')}: {report['questions']} questions, {n} events; each asked "
            f"in timeline mode as of its as_of, since its since, from {report.get('store', 'the store')}. Dated: the answer "
            f"is in a timeline entry, or a sentence citing a passage, dated within [date - {-before}, date + {after}] days.")
    c = report.get("ceilings")
    ceiling = (f"Ceilings on {c['corpus']}: an article dated inside the event's window holds its answer for "
               f"{c['in_window']} of {c['events']} events; an article published by as_of for {c['by_as_of']}."
               if c else "Ceilings: no corpus given (--corpus).")
    arms = [(name, report[key]) for name, key in (("timeline", "timeline"), ("factoid (baseline)", "factoid")) if key in report]
    figures = table(["path", "mentioned", "dated", "in passages"], [[name, *[f"{a[k]} / {a['n']}" for k in FIGURES]] for name, a in arms])
    return "\n\n".join([head, figures, ceiling, _timing_markdown(report), _events_markdown(report)])


def _timing_markdown(report: dict[str, Any]) -> str:
    from evaluation.tables import table

    t, base = report["timing"], report.get("baseline", False)
    header = ["story", "events", "events s", "overview first token s", *(["factoid first token s", "ratio"] if base else [])]
    body = [[r["id"], r["events_shown"], r["events_s"], r["overview_ttft_s"], *([r.get("factoid_ttft_s"), r.get("ttft_ratio")] if base else [])]
            for r in report["rows"]]
    line = f"Events shown within {t['events_within_s']} s: {t['events_within']} of {t['questions']} questions (p50 {t['events_p50_s']} s)."
    if base:
        line += (f" Overview's first token within {t['ttft_ratio_max']}x the factoid answer's: {t['ttft_within']} of "
                 f"{t['ttft_compared']} (ratio p50 {t['ttft_ratio_p50'] if t['ttft_ratio_p50'] is not None else '-'}).")
    return table(header, body) + "\n\n" + line


def _yes(v: Any) -> str:
    return "yes" if v else "-"


def _events_markdown(report: dict[str, Any]) -> str:
    from evaluation.tables import table

    base, ceil = report.get("baseline", False), "ceilings" in report
    header = ["story", "event", "date", "answer", "timeline m / d / p", *(["factoid m / d / p"] if base else []),
              *(["article in window", "article by as_of"] if ceil else [])]
    body = []
    for r in report["rows"]:
        for e in r["events"]:
            arms = [" / ".join(_yes(e[arm][k]) for k in FIGURES) for arm in (("timeline", "factoid") if base else ("timeline",))]
            body.append([r["id"], e["quiz_id"], e["date"], e["expected"][0] if e["expected"] else "", *arms,
                         *([_yes(e["ceiling"]["in_window"]), _yes(e["ceiling"]["by_as_of"])] if ceil else [])])
    return "Per event (m: mentioned, d: dated, p: in passages):\n\n" + table(header, body)
