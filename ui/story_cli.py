"""`newsrag stories` (the stories the store holds) and `newsrag timeline` (how one developed)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from core.settings import Settings


def register(sub: Any) -> None:
    s = sub.add_parser("stories", help="list the stories: articles about one developing event, across days and outlets")
    s.add_argument("--since", type=_day, default=None, metavar="YYYY-MM-DD", help="stories still running on or after this date")
    s.add_argument("--until", type=_day, default=None, metavar="YYYY-MM-DD", help="stories that began on or before this date")
    s.add_argument("--grep", default="", help="stories whose label holds this text")
    s.add_argument("--source", action="append", default=[], metavar="OUTLET", help="stories this outlet reported (repeatable)")
    s.add_argument("--limit", type=int, default=50)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stories)

    s = sub.add_parser("timeline", help="answer as a story: dated, cited events and a short overview")
    s.add_argument("question")
    s.add_argument("--since", type=_day, default=None, metavar="YYYY-MM-DD", help="only events on or after this date")
    s.add_argument("--until", type=_day, default=None, metavar="YYYY-MM-DD", help="only events on or before this date")
    s.add_argument("--as-of", type=_day, default=None, metavar="YYYY-MM-DD", help="as of this date (default: NEWSRAG_AS_OF, else today)")
    s.add_argument("--source", action="append", default=[], metavar="OUTLET_OR_HOST")
    s.add_argument("--json", action="store_true", help="print the Answer (with its timeline) as JSON")
    s.add_argument("--trace", action="store_true")
    s.set_defaults(func=cmd_timeline)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-01-07") from None


def cmd_stories(args: argparse.Namespace, settings: Settings) -> int:
    from core.filters import day_number
    from core.models import make_embedder
    from rag import factory

    store = factory.open_store(settings, make_embedder(settings))
    found = store.stories.list(
        since=day_number(args.since) if args.since else None, until=day_number(args.until) if args.until else None,
        grep=args.grep, sources=args.source, limit=args.limit,
    )
    if args.json:
        print(json.dumps([s.to_dict() for s in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print("no stories match" if store.manifest.count() else "the store is empty: run `newsrag ingest <folder>` first")
        return 0
    for s in found:
        span = s.first if s.first == s.last else f"{s.first} … {s.last}"
        print(f"{s.id}  {span}  {s.articles} article(s)  {s.label}")
        if s.outlets:
            print(f"    {', '.join(s.outlets)}")
    return 0


def cmd_timeline(args: argparse.Namespace, settings: Settings) -> int:
    from core.filters import Filter
    from rag.engine import Engine
    from ui.text import render_answer

    engine = Engine.from_settings(settings)
    filters = Filter(since=args.since, until=args.until, sources=tuple(args.source))
    stream = engine.stream(args.question, filters=filters, as_of=args.as_of, mode="timeline")
    live = not args.json and sys.stdout.isatty()
    if live and stream.timeline:
        print("\n".join(["Timeline:", *_lines(stream.timeline)]) + "\n", flush=True)
    for piece in stream:
        if live:
            print(piece, end="", flush=True)
    final = stream.answer
    if live:
        print("\r\033[K", end="")
    print(final.to_json(indent=2) if args.json else render_answer(final, trace=args.trace))
    return 3 if final.error else 0


def _lines(events: Any) -> list[str]:
    from ui.text import render_timeline

    return render_timeline(events)
