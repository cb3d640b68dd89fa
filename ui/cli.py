"""`newsrag`: the command line, a thin client of the same core as the page.

Errors a user can act on print one line and exit non-zero; never a traceback
(set NEWSRAG_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from core.errors import NewsragError
from core.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if os.environ.get("NEWSRAG_DEBUG") else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        settings = Settings()
        return int(args.func(args, settings) or 0)
    except NewsragError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="newsrag", description="Ask questions about a folder of news articles; answers cite their passages.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("ingest", help="add articles (files or folders: .txt .md .html .json .jsonl)")
    s.add_argument("paths", nargs="+", type=Path)
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("remove", help="remove articles by id or by the file they came from")
    s.add_argument("items", nargs="+")
    s.set_defaults(func=cmd_remove)

    s = sub.add_parser("list", help="list the ingested articles")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("ask", help="answer a question with cited passages")
    s.add_argument("question")
    s.add_argument("--json", action="store_true", help="print the Answer as JSON")
    s.add_argument("--top-k", type=int, default=None)
    s.add_argument("--trace", action="store_true", help="show how the answer was made")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("chat", help="open the chat page (ingests the sample corpus into an empty store)")
    s.add_argument("--host", default=None)
    s.add_argument("--port", type=int, default=None)
    s.add_argument("--no-sample", action="store_true", help="do not ingest the sample corpus into an empty store")
    s.set_defaults(func=cmd_chat)

    s = sub.add_parser("models", help="list the LLM and embedding backends")
    s.set_defaults(func=cmd_models)

    # Larger commands live in their own modules, keeping this one small.
    from rag.doctor import register as register_doctor
    from rag.evaluate.cli import register as register_eval

    register_eval(sub)
    register_doctor(sub)
    return p


def _ingest_parts(settings: Settings) -> tuple[Any, Any, Any]:
    from ingest import IngestOptions
    from core.models import make_embedder
    from store import Store

    embedder = make_embedder(settings)
    store = Store.open(settings.home, embedder.identity, embedder.dimension, settings.collection, settings.chroma_url, settings.lock_timeout)
    opts = IngestOptions(
        settings.chunk_tokens, settings.chunk_overlap, int(settings.max_file_mb * 1024 * 1024), settings.max_article_chars,
        settings.ingest_batch, settings.progress_every,
    )
    return embedder, store, opts


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest import ingest

    embedder, store, opts = _ingest_parts(settings)
    report = ingest(args.paths, store, embedder, opts, progress=True)  # a bar on a terminal, else log lines on stderr
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.summary())
    return 0 if report.ok else 1


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from ingest import remove

    _, store, _ = _ingest_parts(settings)
    removed = remove(args.items, store)
    print(f"removed {len(removed)} article(s)" + (": " + ", ".join(removed) if removed else ""))
    return 0 if removed else 1


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    _, store, _ = _ingest_parts(settings)
    if settings.chroma_url:
        store.catch_up()  # articles another NEWSRAG_HOME wrote to the shared Chroma server
    rows = store.manifest.articles()
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=2, ensure_ascii=False))
    for r in rows if not args.json else []:
        print(f"{r.id}  {r.date or '----------'}  {r.source or '-':<22.22}  {r.n_chunks:>3} chunks  {r.title}")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag.engine import Engine
    from rag.render import render_answer
    from core.types import Answer

    engine = Engine.from_settings(settings)
    final: Answer | None = None
    streaming = not args.json
    for item in engine.stream(args.question, top_k=args.top_k):
        if isinstance(item, Answer):
            final = item
        elif streaming and sys.stdout.isatty():
            print(item, end="", flush=True)
    assert final is not None
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
