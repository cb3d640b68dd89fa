"""`newsrag mcp`: the news store as Model Context Protocol tools, over stdio or streamable HTTP.

Four read-only tools over the same Engine as the page and `newsrag serve`:
`search_news` (the passages retrieval finds), `ask_news` (a cited answer),
`timeline` (a story's dated events) and `list_sources` (the outlets). Each
returns structured content with its output schema, and the same as JSON text.

Over HTTP every request needs `Authorization: Bearer KEY` when
`NEWSRAG_API_KEYS` is set (`ui.access.bearer_client`), and the serve path's
limits hold: texts that reach retrieval or the model are held to
`NEWSRAG_MAX_QUESTION_CHARS`, `NEWSRAG_MAX_SESSION_QUEUE` calls per key (per
address without keys) and `NEWSRAG_MAX_QUEUE` in all may wait or run,
`NEWSRAG_CONCURRENCY` of them at once. Over stdio the one client has no share
to keep to: only the length limit, the queue's size and the concurrency hold. A failure is a tool
error (`isError`) carrying newsrag's one-line message; tracebacks stay in the log.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, AsyncIterator, Callable, TypeVar

import anyio
from anyio import from_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field, ValidationError

from core.errors import NewsragError
from core.filters import Filter
from core.settings import Settings
from core.types import Answer
from rag.engine import Engine
from store import ArticleQuery
from ui.access import Limiter, api_keys, bearer_client, question_too_long
from ui.mcp_results import AnswerOut, SearchOut, SourceOut, SourcesOut, TimelineOut, answer_out, passage_out, timeline_out
from ui.server import server_error

log = logging.getLogger(__name__)

T = TypeVar("T")
CLIENT = "newsrag.client"  # the ASGI scope key under which KeyCheck leaves who the caller is
LOCAL = "local"  # the caller over stdio (or in-process)
PATH = "/mcp"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
INSTRUCTIONS = (
    "Tools over a store of news articles. list_sources shows which outlets and dates it holds; search_news returns "
    "the passages that match a query; ask_news answers a question with numbered citations [n] to those passages; "
    "timeline tells how a story developed, as dated and cited events. Quote the citations' titles, outlets and URLs "
    "when you use an answer. Dates are YYYY-MM-DD; nothing published after the as-of date (default today) is read."
)

DATE_HINT = "YYYY-MM-DD, e.g. 2026-01-07"
Day = Annotated[str | None, Field(description=f"a day, {DATE_HINT} (inclusive)", json_schema_extra={"format": "date"})]
Sources = Annotated[list[str] | None, Field(description="read only these outlets or web hosts (any of them), as list_sources names them, "
                                                        "e.g. [\"The Washington Post\", \"apnews.com\"]")]


def _day(text: str | None, name: str) -> date | None:
    if text is None or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ToolError(f"{name} {text!r} is not a date: write it as {DATE_HINT}") from None


def _window(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    first, last = _day(since, "since"), _day(until, "until")
    if first and last and first > last:
        raise ToolError(f"since ({first}) is after until ({last}): no article can match; swap them")
    return first, last


class NewsTools:
    """The tools' work, each call admitted by the serve path's limits and run in a worker thread."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.limiter = Limiter(settings.max_session_queue, settings.max_queue)
        self.local = Limiter(settings.max_queue, settings.max_queue)  # the one client over stdio: no share to keep to
        self.workers = anyio.CapacityLimiter(max(1, settings.concurrency))

    async def call(self, ctx: Context, text: str | None, work: Callable[[], T]) -> T:
        """Check `text` (what reaches retrieval or the model), admit the caller, run `work` in a worker."""
        if text is not None:
            if not text.strip():
                raise ToolError("the question is empty: say what to look for")
            too_long = question_too_long(text, self.settings)
            if too_long:
                raise ToolError(too_long)
        client = _client(ctx)
        limiter = self.local if client == LOCAL else self.limiter
        refused = limiter.acquire(client)
        if refused:
            raise ToolError(refused)
        try:
            return await anyio.to_thread.run_sync(work, limiter=self.workers)
        except ToolError:
            raise
        except Exception as e:  # noqa: BLE001 - one line for the client; the traceback stays in the log
            if not isinstance(e, NewsragError):
                log.exception("an MCP tool call failed")
            raise ToolError(server_error(e, self.settings.home).message) from None
        finally:
            limiter.release(client)

    def filters(self, window: tuple[date | None, date | None], sources: list[str] | None) -> Filter:
        """The reader's filter; outlets that no article is from are refused (a misspelt name would find nothing)."""
        named = tuple(s.strip() for s in sources or () if s.strip())
        if named and not self.engine.store.manifest.search(ArticleQuery(sources=named, limit=0))[1]:
            raise ToolError(f"no article is from {', '.join(map(repr, named))}: list_sources names the outlets (web hosts such as apnews.com work too)")
        return Filter(since=window[0], until=window[1], sources=named)

    def search(self, query: str, filters: Filter, k: int) -> SearchOut:
        as_of = self.engine.as_of or date.today()
        passages = self.engine.retrieve(query, top_k=k, filters=filters, as_of=as_of)
        return SearchOut(query=query, as_of=as_of.isoformat(), passages=[passage_out(p) for p in passages])

    def answer(self, question: str, filters: Filter, as_of: date | None, mode: str | None = None) -> Answer:
        stream = self.engine.stream(question, filters=filters, as_of=as_of, mode=mode)
        for _ in stream:
            from_thread.check_cancelled()  # a client that cancelled costs no more generation
        if stream.answer.error:
            raise ToolError(stream.answer.error)
        return stream.answer

    def sources(self) -> SourcesOut:
        manifest = self.engine.store.manifest
        spans: dict[str, tuple[str, str]] = {}
        for row in manifest.articles():
            if row.source and row.date:
                day = row.date[:10]
                first, last = spans.get(row.source, (day, day))
                spans[row.source] = (min(first, day), max(last, day))
        outlets = [SourceOut(outlet=o, articles=n, first=spans.get(o, (None, None))[0], last=spans.get(o, (None, None))[1])
                   for o, n in manifest.outlets()]
        total = manifest.count()
        return SourcesOut(articles=total, outlets=outlets, without_outlet=total - sum(o.articles for o in outlets))


def _client(ctx: Context) -> str:
    """The caller, as KeyCheck named it (`key:N`, `ip:ADDRESS`); `local` over stdio."""
    try:
        request = ctx.request_context.request
    except ValueError:  # called outside a request
        return LOCAL
    return str(getattr(request, "scope", {}).get(CLIENT, LOCAL))


def _warm(engine: Engine) -> None:
    """Load the LLM in the background, so the first answer does not wait for it."""
    def load() -> None:
        try:
            engine.llm
        except NewsragError as e:
            log.warning("the LLM backend did not load: %s; ask_news and timeline return this message until it does", e)
        except Exception:  # noqa: BLE001 - logged; the tools say so when asked
            log.exception("loading the LLM failed")

    threading.Thread(target=load, daemon=True, name="newsrag-model-load").start()


class NewsMCP(MCPServer):
    """The SDK's server, its tool errors said in one line: newsrag's own message as is (without the
    SDK's "Error executing tool" prefix), and arguments that fail the schema as `name: what is wrong`."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as e:
            cause = e.__cause__
            if isinstance(cause, ValidationError):
                wrong = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'arguments'}: {err['msg']}" for err in cause.errors())
                raise ToolError(f"invalid arguments to {name}: {wrong} (its input schema lists them)") from cause
            if type(cause) is ToolError:  # raised by the tool itself: newsrag's message
                raise cause from None
            raise


def create_server(engine: Engine, settings: Settings) -> MCPServer:
    """The MCP server over `engine`: its four tools, shared by every session."""
    tools = NewsTools(engine, settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[dict[str, Any]]:
        _warm(engine)
        yield {}

    mcp = NewsMCP("newsrag", title="newsrag: cited answers from news articles", instructions=INSTRUCTIONS,
                  version=_version(), lifespan=lifespan, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

    def tool(fn: Callable[..., Any]) -> Callable[..., Any]:
        """A tool, described by its docstring in one paragraph."""
        mcp.add_tool(fn, description=" ".join((fn.__doc__ or "").split()), annotations=read_only)
        return fn

    @tool
    async def search_news(
        ctx: Context,
        query: Annotated[str, Field(description="what to look for, in words (a question or keywords)")],
        since: Day = None, until: Day = None, sources: Sources = None,
        k: Annotated[int, Field(ge=1, le=20, description="how many passages to return")] = 5,
    ) -> SearchOut:
        """Find the passages of the stored news articles that best match a query (hybrid keyword and
        semantic search; recent articles rank a little higher). Each passage has its article's title,
        outlet, date, URL and text. Use it to read the sources yourself; use ask_news for a cited answer."""
        window = _window(since, until)  # bad dates are refused before the call waits its turn
        return await tools.call(ctx, query, lambda: tools.search(query, tools.filters(window, sources), k))

    @tool
    async def ask_news(
        ctx: Context,
        question: Annotated[str, Field(description="a question about the news, in plain words")],
        as_of: Annotated[str | None, Field(description=f"answer as of this day ({DATE_HINT}): nothing published later is read; "
                                                        "default today. Time words (\"this week\") are read against it",
                                           json_schema_extra={"format": "date"})] = None,
        since: Day = None, until: Day = None, sources: Sources = None,
    ) -> AnswerOut:
        """Answer a question from the stored news articles. The text cites its passages as [n]; each citation
        gives the article's title, outlet, date, URL and the supporting sentence. `answerable` is false when
        the articles do not say; `unsupported` lists sentences the verifier could not match to a source."""
        window, day = _window(since, until), _day(as_of, "as_of")
        return await tools.call(ctx, question, lambda: answer_out(tools.answer(question, tools.filters(window, sources), day)))

    @tool
    async def timeline(
        ctx: Context,
        topic: Annotated[str, Field(description="the story, e.g. \"the ceasefire talks\" or \"What happened with the ceasefire talks?\"")],
        since: Day = None, until: Day = None,
    ) -> TimelineOut:
        """How a news story developed: dated events, oldest first, each the sentence that reports it, with
        the outlets that reported it and citations; and a short cited overview."""
        window = _window(since, until)
        return await tools.call(ctx, topic, lambda: timeline_out(topic, tools.answer(topic, tools.filters(window, None), None, "timeline")))

    @tool
    async def list_sources() -> SourcesOut:
        """The outlets the store holds articles from, with how many articles each and the dates of its oldest
        and newest. Use the names (or web hosts) as `sources` in the other tools."""
        try:
            return await anyio.to_thread.run_sync(tools.sources)
        except Exception as e:  # noqa: BLE001 - as in NewsTools.call
            if not isinstance(e, NewsragError):
                log.exception("list_sources failed")
            raise ToolError(server_error(e, settings.home).message) from None

    return mcp


def _version() -> str:
    try:
        return version("newsrag")
    except PackageNotFoundError:
        return ""


class KeyCheck:
    """ASGI middleware: refuses HTTP requests without one of NEWSRAG_API_KEYS (401, a JSON-RPC error
    naming the fix) and leaves who the caller is in the scope, for the per-client limits."""

    def __init__(self, app: Any, keys: list[str]) -> None:
        self.app, self.keys = app, keys

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import Headers
        from starlette.responses import JSONResponse

        address = (scope.get("client") or ("?",))[0]
        client, refused = bearer_client(Headers(scope=scope).get("authorization", ""), address, self.keys)
        if refused:
            error = {"code": -32001, "message": f"{refused}: send the header Authorization: Bearer KEY"}
            response = JSONResponse({"jsonrpc": "2.0", "id": None, "error": error}, 401, headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        await self.app({**scope, CLIENT: client}, receive, send)


def http_app(engine: Engine, settings: Settings, host: str = "127.0.0.1") -> Any:
    """The streamable HTTP app (at /mcp), keys checked as `newsrag serve` checks them."""
    keys = api_keys(settings)
    return KeyCheck(create_server(engine, settings).streamable_http_app(streamable_http_path=PATH, host=host), keys)


def _engine(settings: Settings) -> Engine:
    with contextlib.redirect_stdout(sys.stderr):  # stdout is the stdio transport's: nothing else may write there
        engine = Engine.from_settings(settings)
    if not engine.store.manifest.count():
        log.warning("the store in %s is empty: run `newsrag ingest <folder>` first", settings.home)
    return engine


def serve_stdio(settings: Settings) -> None:
    """The edge of `newsrag mcp`: one client (a desktop app that started us) on stdin and stdout."""
    create_server(_engine(settings), settings).run("stdio")


def serve_http(settings: Settings, host: str, port: int) -> None:
    """The edge of `newsrag mcp --http`: streamable HTTP for a team, under uvicorn."""
    import uvicorn

    keys = api_keys(settings)  # a malformed NEWSRAG_API_KEYS fails before anything loads
    app = http_app(_engine(settings), settings, host)
    if host not in LOOPBACK and not keys:
        log.warning("the MCP server is reachable from other machines at %s without a key; set NEWSRAG_API_KEYS", host)
    print(f"newsrag MCP server at http://{host}:{port}{PATH} (streamable HTTP"
          + (", Authorization: Bearer KEY" if keys else "") + "); Ctrl-C stops it", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
