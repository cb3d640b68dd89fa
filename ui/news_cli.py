"""The commands that get news in and show what is there: `ingest` (files, folders, URLs,
feeds, a watched folder), `feeds add|list|remove`, `update [--every 30m]`, `list`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from core.errors import ConfigError, DiskFullError, NewsragError
from core.settings import Settings
from ui.watch_cli import after_ingest


def register(sub: Any) -> None:
    from ingest import suffixes  # the registry as it is now (ingest/registry.py), not a list kept here

    files, feeds = " ".join(suffixes("text", "bytes")), " ".join(suffixes("feed"))
    what = f"add articles: files or folders ({files}), URLs of pages, feeds (RSS/Atom URL or {feeds} file)"
    s = sub.add_parser("ingest", help=what, description=what)
    s.add_argument("items", nargs="*", metavar="PATH_OR_URL")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--watch", type=Path, metavar="DIR", help="ingest DIR, then its new and changed files as they appear, until Ctrl-C")
    s.add_argument("--sync", action="store_true", help="with --watch: remove the articles of files deleted from DIR")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("feeds", help="the feeds `newsrag update` polls: add, list or remove")
    s.add_argument("action", choices=["add", "list", "remove"])
    s.add_argument("urls", nargs="*", metavar="URL")
    s.set_defaults(func=cmd_feeds)

    s = sub.add_parser("update", help="poll the feeds (see `newsrag feeds`) and ingest their new entries")
    s.add_argument("--every", metavar="PERIOD", help="keep polling every PERIOD (30m, 2h, 45s) until Ctrl-C")
    s.add_argument("--json", action="store_true", help="print each report as JSON")
    s.set_defaults(func=cmd_update)

    s = sub.add_parser("list", help="list the ingested articles (filter with --grep, --source, --since, --until)")
    s.add_argument("--grep", default="", help="text in the title, outlet or URL")
    s.add_argument("--source", action="append", default=[], help="an outlet or a host (repeatable: any of them)")
    s.add_argument("--since", type=_day, default=None, help="first day, YYYY-MM-DD")
    s.add_argument("--until", type=_day, default=None, help="last day, YYYY-MM-DD")
    s.add_argument("--sort", choices=["date", "title", "outlet", "added"], default="date")
    s.add_argument("--asc", action="store_true", help="oldest (or A to Z) first")
    s.add_argument("--limit", type=int, default=None)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_list)


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write it as YYYY-MM-DD") from None


def ingest_parts(settings: Settings) -> tuple[Any, Any, Any]:
    from core.models import make_embedder
    from rag.factory import ingest_options
    from store import Store

    embedder = make_embedder(settings)
    store = Store.open(settings.home, embedder.identity, embedder.dimension, settings.collection, settings.chroma_url, settings.lock_timeout)
    return embedder, store, ingest_options(settings)


def _show(args: argparse.Namespace) -> Any:
    def show(report: Any) -> None:
        print(json.dumps(report.as_dict(), indent=2) if args.json else report.summary(), flush=True)

    return show


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest import IngestReport, ingest, is_url

    if not args.items and not args.watch:
        raise ConfigError("name what to ingest: files, folders, URLs or feeds (or --watch DIR)")
    if args.sync and not args.watch:
        raise ConfigError("--sync goes with --watch DIR")
    try:
        embedder, store, opts = ingest_parts(settings)
    except NewsragError as e:  # the store cannot be opened (a full disk, say): --json still gets its JSON
        _refused(args, IngestReport(), e)
        raise
    report = None
    if args.items:
        items = [i if is_url(i) else Path(i) for i in args.items]
        try:
            report = ingest(items, store, embedder, opts, progress=True)  # a bar on a terminal, else log lines on stderr
        except NewsragError as e:  # refused (the writer lock, no room) or stopped (a full disk): what was done, then the line
            done = e.report if isinstance(e, DiskFullError) and isinstance(e.report, IngestReport) else None
            if done is not None:
                print(json.dumps(done.as_dict() | {"error": str(e)}, indent=2) if args.json else done.summary())
            else:
                _refused(args, IngestReport(), e)
            raise
        _show(args)(report)
        after_ingest(settings, store, embedder, report.added + report.updated)
    if args.watch:
        from ingest.watch import watch

        print(f"watching {args.watch} (Ctrl-C stops){'; deleted files lose their articles' if args.sync else ''}", file=sys.stderr, flush=True)
        watch(args.watch, store, embedder, opts, sync=args.sync, show=_show(args))
    return 0 if report is None or report.ok else 1


def _refused(args: argparse.Namespace, report: Any, e: Exception) -> None:
    """An ingest that did not start: with --json, the report of nothing done, the reason in it."""
    if args.json:
        report.failed.append({"path": "(the store)", "reason": str(e)})
        print(json.dumps(report.as_dict() | {"error": str(e)}, indent=2), flush=True)


def cmd_feeds(args: argparse.Namespace, settings: Settings) -> int:
    from ingest import add_feed
    from store import Manifest

    _, store, _ = ingest_parts(settings)
    manifest: Manifest = store.manifest
    if args.action != "list" and not args.urls:
        raise ConfigError(f"`newsrag feeds {args.action}` needs one URL or more")
    if args.action == "add":
        for url in args.urls:
            print(f"{'added' if add_feed(store, url) else 'already listed'}: {url}")
    elif args.action == "remove":
        missing = [u for u in args.urls if not manifest.remove_feed(u)]
        for url in args.urls:
            print(f"{'not listed' if url in missing else 'removed'}: {url}")
        return 1 if missing else 0
    else:
        for f in manifest.feeds():
            print(f"{f.url}  (last poll: {f.polled_at or 'never'}{', ' + f.status if f.status else ''})")
    return 0


def cmd_update(args: argparse.Namespace, settings: Settings) -> int:
    from ingest import every, parse_period, update

    period = parse_period(args.every) if args.every else None
    embedder, store, opts = ingest_parts(settings)
    if not store.manifest.feeds():
        raise ConfigError("no feeds to poll: add one with `newsrag feeds add URL`")
    def once() -> Any:
        report = update(store, embedder, opts)
        after_ingest(settings, store, embedder, report.added + report.updated)
        return report

    if period is None:
        report = once()
        _show(args)(report)
        return 0 if report.ok else 1
    print(f"polling {len(store.manifest.feeds())} feed(s) every {args.every} (Ctrl-C stops)", file=sys.stderr, flush=True)
    every(period, once, _show(args))
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from store import ArticleQuery

    _, store, _ = ingest_parts(settings)
    if settings.chroma_url:
        store.catch_up()  # articles another NEWSRAG_HOME wrote to the shared Chroma server
    q = ArticleQuery(args.grep, tuple(args.source), args.since or "", args.until or "", args.sort, not args.asc, args.limit)
    rows, total = store.manifest.search(q)
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=2, ensure_ascii=False))
        return 0
    for r in rows:
        print(f"{r.id}  {r.date or '----------'}  {r.source or '-':<22.22}  {r.n_chunks:>3} chunks  {r.title}" + (f"  <{r.url}>" if r.url else ""))
    print(f"{len(rows)} of {total} matching article(s); the store holds {store.manifest.count()}", file=sys.stderr)
    return 0
