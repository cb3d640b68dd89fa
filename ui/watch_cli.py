"""`newsrag watch add|list|remove|run`: saved topics, run after each ingest and update."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import date
from typing import Any

from core.errors import ConfigError
from core.settings import Settings

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    w = sub.add_parser("watch", help="saved topics: what is new on each, after every ingest and update, by feed, webhook or e-mail")
    ws = w.add_subparsers(dest="watch_command", required=True)
    s = ws.add_parser("add", help="watch a topic or question")
    s.add_argument("topic")
    s.add_argument("--deliver", action="append", default=[], metavar="CHANNEL",
                   help="atom (the feed /watches/ID.atom on `newsrag serve`, the default), webhook=URL or email=ADDRESS; repeatable")
    s.set_defaults(func=cmd_add)
    s = ws.add_parser("list", help="the watches, their last run, deliveries and failures")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_list)
    s = ws.add_parser("remove", help="stop watching")
    s.add_argument("id")
    s.set_defaults(func=cmd_remove)
    s = ws.add_parser("run", help="run every watch now (ingest and update do it after adding articles)")
    s.add_argument("--as-of", type=_day, default=None, metavar="YYYY-MM-DD")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_run)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-01-07") from None


def _list(settings: Settings) -> Any:
    from store.watchlist import Watchlist

    return Watchlist(settings.home)


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from ui.watches import parse_channels

    if not args.topic.strip():
        raise ConfigError("name the topic to watch, e.g. newsrag watch add \"the harbour strike\"")
    w = _list(settings).add(args.topic.strip(), parse_channels(args.deliver))
    print(f"watch {w.id}: {w.topic} ({', '.join(c if not t else f'{c} {t}' for c, t in w.channels)}); it runs after each ingest and update")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    wl = _list(settings)
    rows = [{"id": w.id, "topic": w.topic, "deliver": [c if not t else f"{c}={t}" for c, t in w.channels], "created": w.created,
             "last_run": w.last_run, "last_error": w.last_error, **wl.counts(w.id)} for w in wl.all()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no watches: add one with `newsrag watch add \"TOPIC\"`")
    for r in rows:
        print(f"{r['id']}  {r['topic']}  [{', '.join(r['deliver'])}]  last run {r['last_run'] or 'never'}; "
              f"{r['events']} events, {r['delivered']} delivered, {r['pending']} pending")
        if r["last_error"]:
            print(f"    failing: {r['last_error']}")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    if not _list(settings).remove(args.id):
        raise ConfigError(f"no watch {args.id!r}: `newsrag watch list` shows their ids")
    print(f"removed watch {args.id}")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from rag.engine import Engine

    report = run_all(settings, Engine.from_settings(settings), as_of=args.as_of)
    print(json.dumps(report, indent=2) if args.json else "\n".join(f"watch {r['watch']}: {r['new']} new of {r['events']} events" for r in report)
          or "no watches")
    return 0


def run_all(settings: Settings, engine: Any, as_of: date | None = None) -> list[dict[str, Any]]:
    from ui.watches import run_watches

    return run_watches(settings, engine, _list(settings), as_of=as_of)


def after_ingest(settings: Settings, store: Any, embedder: Any, added: int) -> None:
    """Run the watches when an ingest or an update added articles (a failure is said, not raised:
    the articles are stored either way)."""
    if not added or not _list(settings).all():
        return
    from core.models import make_llm
    from rag.engine import Engine

    engine = Engine(store, embedder, lambda: make_llm(settings), settings=settings)  # the model is never asked
    try:
        for r in run_all(settings, engine):
            if r["new"]:
                print(f"watch {r['watch']}: {r['new']} new event(s) on {r['topic']}", file=sys.stderr)
    except Exception as e:  # noqa: BLE001 (said in one line; the ingest itself succeeded)
        log.warning("the watches did not run (%s): run `newsrag watch run` again", e)
