"""`newsrag`: the command line, a thin client of the same core as the page.

Errors a user can act on print one line and exit non-zero; never a traceback
(set NEWSRAG_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date
from typing import Any

from core.errors import NewsragError
from core.settings import Settings


# Libraries the readers use, which log their own ERROR and WARNING lines about a page or a
# PDF they could not make sense of; what that costs an article, our report says in one line.
READER_LOGGERS = ("trafilatura", "htmldate", "justext", "courlan", "readability", "pypdf")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    debug = bool(os.environ.get("NEWSRAG_DEBUG"))
    configure_logging(debug, verbose=args.verbose)
    from store import name_command

    name_command(" ".join(["newsrag", args.command] + (["--fix"] if getattr(args, "fix", False) else [])))  # as lock messages name it
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    settings = None
    try:
        settings = Settings()
        return int(args.func(args, settings) or 0)
    except NewsragError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a full disk that reached us unnamed: said as such, never a traceback
        from store.space import explain

        full = explain(e, settings.home, then="run the same command again", writing=False) if settings is not None and not debug else None
        if full is None:
            raise
        print(f"error: {full}", file=sys.stderr)
        return 2


def configure_logging(debug: bool, verbose: bool = False) -> None:
    """Warnings and up on stderr (everything with NEWSRAG_DEBUG). The readers' libraries are
    heard only with --verbose or NEWSRAG_DEBUG: their complaints about a file are ours to report."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG
    for name in READER_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING if verbose else logging.CRITICAL + 1)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="newsrag", description="Ask questions about a folder of news articles; answers cite their passages.")
    p.add_argument("-v", "--verbose", action="store_true", help="say more on stderr, the readers' own complaints about files included")
    sub = p.add_subparsers(dest="command", required=True)
    from ui.news_cli import register as register_news

    register_news(sub)  # ingest, feeds, update, list
    from ui.mcp_cli import register as register_mcp
    from ui.watch_cli import register as register_watch

    register_mcp(sub)  # mcp: the store as MCP tools
    register_watch(sub)  # watch add|list|remove|run

    s = sub.add_parser("remove", help="remove articles by id or by the file they came from")
    s.add_argument("items", nargs="+")
    s.set_defaults(func=cmd_remove)

    s = sub.add_parser("ask", help="answer a question with cited passages")
    s.add_argument("question")
    s.add_argument("--json", action="store_true", help="print the Answer as JSON")
    s.add_argument("--top-k", type=int, default=None)
    s.add_argument("--trace", action="store_true", help="show how the answer was made")
    s.add_argument("--as-of", type=_day, default=None, metavar="YYYY-MM-DD", help="answer as of this date: nothing published later is read (default: NEWSRAG_AS_OF, else today)")
    s.add_argument("--since", type=_day, default=None, metavar="YYYY-MM-DD", help="read only articles published on or after this date")
    s.add_argument("--until", type=_day, default=None, metavar="YYYY-MM-DD", help="read only articles published on or before this date")
    s.add_argument("--source", action="append", default=[], metavar="OUTLET_OR_HOST", help="read only this outlet or web host (repeatable)")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("chat", help="open the chat page (ingests the sample corpus into an empty store)")
    s.add_argument("--host", default=None)
    s.add_argument("--port", type=int, default=None)
    s.add_argument("--no-sample", action="store_true", help="do not ingest the sample corpus into an empty store")
    s.set_defaults(func=cmd_chat)

    s = sub.add_parser("serve", help="serve an OpenAI-compatible API (/v1/chat/completions) for chat clients and scripts")
    s.add_argument("--host", default=None, help="address to bind (default NEWSRAG_API_HOST, 127.0.0.1)")
    s.add_argument("--port", type=int, default=None, help="port (default NEWSRAG_API_PORT, 7861)")
    s.add_argument("--no-sample", action="store_true", help="do not ingest the sample corpus into an empty store")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("models", help="list the LLM and embedding backends")
    s.set_defaults(func=cmd_models)

    # Larger commands live in their own modules, keeping this one small.
    from ui.doctor import register as register_doctor
    from ui.eval_cli import register as register_eval
    from ui.story_cli import register as register_stories
    register_stories(sub)
    register_eval(sub)
    register_doctor(sub)
    return p


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-01-07") from None


def _ingest_parts(settings: Settings) -> tuple[Any, Any, Any]:
    from ui.news_cli import ingest_parts

    return ingest_parts(settings)


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from ingest import remove

    _, store, _ = _ingest_parts(settings)
    removed = remove(args.items, store)
    print(f"removed {len(removed)} article(s)" + (": " + ", ".join(removed) if removed else ""))
    return 0 if removed else 1


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag.engine import Engine
    from core.filters import Filter
    from ui.text import render_answer

    engine = Engine.from_settings(settings)
    filters = Filter(since=args.since, until=args.until, sources=tuple(args.source))
    stream = engine.stream(args.question, top_k=args.top_k, filters=filters, as_of=args.as_of)
    live = not args.json and sys.stdout.isatty()
    for piece in stream:
        if live:
            print(piece, end="", flush=True)
    final = stream.answer
    if args.json:
        print(final.to_json(indent=2))
    else:
        if sys.stdout.isatty():
            print("\r\033[K", end="")
        print(render_answer(final, trace=args.trace))
    return 3 if final.error else 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from ui.app import serve

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    serve(settings.model_copy(update=overrides), ingest_sample=not args.no_sample)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from ui.server import serve

    overrides = {k: v for k, v in (("api_host", args.host), ("api_port", args.port)) if v is not None}
    serve(settings.model_copy(update=overrides), ingest_sample=not args.no_sample)
    return 0


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from core.models import EMBEDDERS, LLMS

    print("LLM backends (NEWSRAG_LLM):")
    for name, (_, doc) in LLMS.items():
        print(f"  {'*' if name == settings.llm else ' '} {name:<18} {doc}")
    print("Embedders (NEWSRAG_EMBED):")
    for name, (_, doc) in EMBEDDERS.items():
        print(f"  {'*' if name == settings.embed else ' '} {name:<18} {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
