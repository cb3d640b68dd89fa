"""`newsrag mcp`: the store's tools for MCP clients (ui/mcp_server.py), over stdio or streamable HTTP."""

from __future__ import annotations

import argparse
from typing import Any

from core.settings import Settings

HTTP_PORT = 7862  # next to the page (7860) and `newsrag serve` (7861)


def register(sub: Any) -> None:
    s = sub.add_parser(
        "mcp", help="serve the store as MCP tools (search_news, ask_news, timeline, list_sources) for agents and desktop clients",
        description="Over stdio by default (a desktop client starts it); with --http, streamable HTTP at /mcp for a team, "
                    "where NEWSRAG_API_KEYS, when set, is required as Authorization: Bearer KEY.",
    )
    s.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    s.add_argument("--host", default="127.0.0.1", help="with --http: address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=HTTP_PORT, help=f"with --http: port (default {HTTP_PORT})")
    s.set_defaults(func=cmd_mcp)


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    from ui.mcp_server import serve_http, serve_stdio

    if args.http:
        serve_http(settings, args.host, args.port)
    else:
        serve_stdio(settings)
    return 0
