"""`newsrag serve`: an OpenAI-compatible HTTP API over the same Engine as the page.

`GET /v1/models` lists `newsrag`; `POST /v1/chat/completions` answers the last
user message, the earlier turns being the chat's history (follow-ups are
condensed as on the page), streamed as server-sent `chat.completion.chunk`s
or as one `chat.completion`. Answers run in a bounded pool of worker threads
(`NEWSRAG_CONCURRENCY`), so the event loop keeps accepting and refusing
requests while the model works; `NEWSRAG_MAX_QUEUE` and
`NEWSRAG_MAX_SESSION_QUEUE` bound what may wait, the latter per API key (per
address without keys), never per a field the client fills in. Every turn that
reaches the model is held to `NEWSRAG_MAX_QUESTION_CHARS`, checked before any
work. With `NEWSRAG_API_KEYS` set, every request needs `Authorization: Bearer KEY`. Errors come in OpenAI's shape,
`{"error": {"message", "type", "code"}}`, with a message that names the fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from core.errors import ConfigError, NewsragError, StoreError
from core.settings import Settings
from core.types import Answer
from rag.engine import Engine
from store import space
from ui import openai_format as fmt
from ui.access import Limiter, api_keys, bearer_client, question_too_long

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code = status, message, type_, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "code": self.code, "param": None}}


class Abandoned(Exception):
    """The client went away (or the server is stopping): the answer is not finished."""


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: Any = ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens... are accepted and ignored
    model: str = fmt.MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    user: str | None = None  # OpenAI's end-user id: accepted, not trusted (the queue share is the key's)


class Answerer:
    """Runs chats in a bounded thread pool; admits at most the configured number of waiting questions."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.limiter = Limiter(settings.max_session_queue, settings.max_queue)
        self.pool = ThreadPoolExecutor(max_workers=max(1, settings.concurrency), thread_name_prefix="newsrag-answer")
        self.closing = threading.Event()

    def admit(self, client: str) -> None:
        refused = self.limiter.acquire(client)
        if refused:
            raise ApiError(429, refused, "rate_limit_exceeded", "queue_full")

    def run(self, client: str, messages: list[dict[str, Any]], on_piece: Callable[[str, int], None] | None,
            cancelled: threading.Event | None = None, on_ready: Callable[[], None] | None = None, mode: str | None = None) -> Answer:
        """In a worker thread: build the chat from `messages`, answer (in `mode`, None: as the question asks), release the client's slot.
        `on_ready` is called once the question is condensed and retrieved, before generation.
        A client that went away (`cancelled`) costs no more work: skipped, or stopped between pieces."""
        def gone() -> bool:
            return self.closing.is_set() or (cancelled is not None and cancelled.is_set())

        try:
            if gone():
                raise Abandoned()
            chat, question = fmt.chat_from_messages(self.engine, messages, mode)
            stream = chat.stream(question)
            if on_ready is not None:
                on_ready()
            for piece in stream:
                if gone():
                    raise Abandoned()
                if on_piece is not None:
                    on_piece(piece, len(stream.passages))
            return stream.answer
        finally:
            self.limiter.release(client)

    def close(self) -> None:
        self.closing.set()
        self.pool.shutdown(wait=False, cancel_futures=True)


def create_api(engine: Engine, settings: Settings) -> Any:
    """The FastAPI app over `engine` (shared by every request)."""
    keys = api_keys(settings)
    answerer = Answerer(engine, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        answerer.close()

    app = FastAPI(title="newsrag", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.answerer = answerer

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, e: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else None
        return JSONResponse(e.body(), status_code=e.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        msg = f"invalid request: {where or 'body'}: {first.get('msg', 'malformed')}; send {{\"model\": \"newsrag\", \"messages\": [{{\"role\": \"user\", \"content\": \"...\"}}]}}"
        return JSONResponse(ApiError(400, msg, code="invalid_request").body(), status_code=400)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, e: HTTPException) -> JSONResponse:
        msg = f"{request.url.path}: {e.detail}; the API serves GET /v1/models and POST /v1/chat/completions"
        return JSONResponse(ApiError(e.status_code, msg, code=str(e.status_code)).body(), status_code=e.status_code)

    def client_of(request: Request) -> str:
        """The caller's key when keys are required (checked here), else its address."""
        client, why = bearer_client(request.headers.get("authorization", ""), request.client.host if request.client else "?", keys)
        if why is not None:
            raise ApiError(401, f"{why}: send the header Authorization: Bearer KEY (in the openai client: api_key=KEY)",
                           "invalid_request_error", "invalid_api_key")
        return client

    @app.get("/watches/{name}")
    async def watch_feed(name: str, request: Request) -> Response:
        """A watch's events as an Atom feed (`newsrag watch add TOPIC`), for feed readers."""
        client_of(request)
        from store.watchlist import Watchlist
        from ui.watches import atom_feed

        wl = Watchlist(settings.home)
        try:
            watch = wl.get(name.removesuffix(".atom")) if name.endswith(".atom") else None
            if watch is None:
                raise ApiError(404, f"no watch feed {name!r}: `newsrag watch list` gives the ids; the feed is /watches/ID.atom",
                               code="not_found")
            return Response(atom_feed(watch, wl.events(watch.id), str(request.url)), media_type="application/atom+xml")
        finally:
            wl.close()

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        client_of(request)
        return {"object": "list", "data": [_model_card()]}

    @app.get("/v1/models/{model}")
    async def model(model: str, request: Request) -> dict[str, Any]:
        client_of(request)
        _check_model(model)
        return _model_card()

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest, request: Request) -> Any:
        client = client_of(request)  # the key (or address): `user` and front-end headers are the client's to fill in
        _check_model(body.model)
        try:
            mode = fmt.requested_mode(body.model_extra, engine.modes)
        except ValueError as e:
            raise ApiError(400, str(e), code="invalid_mode") from None
        messages = [m.model_dump() for m in body.messages]
        last = messages[-1]
        if last.get("role") != "user" or not fmt.message_text(last.get("content")).strip():
            raise ApiError(400, "the last message must be the user's question (role \"user\", non-empty content)", code="no_question")
        too_long = _turn_too_long(messages, settings)
        if too_long:
            raise ApiError(400, too_long, code="question_too_long")
        answerer.admit(client)  # from here the worker releases the client's slot when it is done
        if body.stream:
            events = await _sse(answerer, client, messages, mode)
            return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        loop = asyncio.get_running_loop()
        cancelled = threading.Event()
        future = loop.run_in_executor(answerer.pool, answerer.run, client, messages, None, cancelled, None, mode)
        while not (await asyncio.wait({future}, timeout=1.0))[0]:
            if await request.is_disconnected():  # a client that gave up leaves the model to the others
                cancelled.set()
        try:
            answer = future.result()
        except Exception as e:  # noqa: BLE001 - every failure reaches the client in OpenAI's shape
            if not isinstance(e, (NewsragError, Abandoned)):
                log.exception("answering failed")
            raise server_error(e, settings.home) from e
        if answer.error:
            raise ApiError(502, answer.error, "server_error", "backend_error")
        return fmt.completion(answer)

    return app


def _turn_too_long(messages: list[dict[str, Any]], settings: Settings) -> str | None:
    """Why a turn that would reach retrieval or the model is too long: the question, an earlier
    question, or an earlier answer (its text without the sources list). System messages are ignored."""
    last = len(messages) - 1
    for i, m in enumerate(messages):
        role = m.get("role")
        if role not in ("user", "assistant"):
            continue
        text = fmt.message_text(m.get("content"))
        text = (fmt.answer_part(text) if role == "assistant" else text).strip()
        what = "the question" if i == last else f"message {i + 1} (an earlier {'answer' if role == 'assistant' else 'question'})"
        too_long = question_too_long(text, settings, what)
        if too_long:
            return too_long
    return None


def _model_card() -> dict[str, Any]:
    return {"id": fmt.MODEL_ID, "object": "model", "created": 0, "owned_by": "newsrag"}


def _check_model(model: str) -> None:
    if model != fmt.MODEL_ID:
        raise ApiError(404, f"model {model!r} is not served here: use model \"{fmt.MODEL_ID}\" (GET /v1/models lists it)",
                       code="model_not_found")


def server_error(e: Exception, home: Path | None = None) -> ApiError:
    full = space.explain(e, home, then="ask again", writing=False) if home is not None else None
    if full is not None:
        return ApiError(507, str(full), "server_error", "disk_full")
    if isinstance(e, Abandoned):
        return ApiError(499, "the request was abandoned", "invalid_request_error", "abandoned")
    if isinstance(e, StoreError):
        return ApiError(503, str(e), "server_error", "store_unavailable")
    if isinstance(e, ConfigError):
        return ApiError(500, str(e), "server_error", "misconfigured")
    if isinstance(e, NewsragError):
        return ApiError(502, str(e), "server_error", "backend_error")
    return ApiError(500, f"the server failed while answering ({type(e).__name__}); its log has the details", "server_error", "internal_error")


async def _sse(answerer: Answerer, client: str, messages: list[dict[str, Any]], mode: str | None = None) -> AsyncIterator[str]:
    """Start the answer in a worker now (so the admitted slot is always released) and wait
    until it has retrieved: a failure until then (the store unreachable, the backend not
    loading) is an HTTP error. The returned stream passes the live text on as SSE chunks,
    then the sources and extras."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    cancelled = threading.Event()
    live: fmt.LiveText | None = None
    ready: asyncio.Future[None] = loop.create_future()

    def set_ready(*_: Any) -> None:
        if not ready.done():
            ready.set_result(None)

    def on_piece(piece: str, n_passages: int) -> None:
        nonlocal live
        live = live or fmt.LiveText(n_passages)
        delta = live.feed(piece)
        if delta:
            loop.call_soon_threadsafe(queue.put_nowait, ("text", delta))

    future = loop.run_in_executor(answerer.pool, answerer.run, client, messages, on_piece, cancelled,
                                  lambda: loop.call_soon_threadsafe(set_ready), mode)
    future.add_done_callback(lambda f: (queue.put_nowait(("done", None)), set_ready()))
    try:
        await ready
    except asyncio.CancelledError:
        cancelled.set()
        raise
    if future.done():
        failure = future.exception()
        if failure is not None:
            if not isinstance(failure, (NewsragError, Abandoned)):
                log.error("answering failed", exc_info=failure)
            raise server_error(failure, answerer.settings.home)  # type: ignore[arg-type]
        if future.result().error and live is None:
            raise ApiError(502, future.result().error or "", "server_error", "backend_error")
    return _events(future, queue, cancelled, lambda: live, answerer.settings.home)


async def _events(future: Any, queue: asyncio.Queue[tuple[str, Any]], cancelled: threading.Event,
                  live_text: Callable[[], fmt.LiveText | None], home: Path) -> AsyncIterator[str]:
    cid = fmt.new_id()
    try:
        yield _event(fmt.chunk(cid, {"role": "assistant", "content": ""}))
        while True:
            kind, value = await queue.get()
            if kind == "text":
                yield _event(fmt.chunk(cid, {"content": value}))
                continue
            break
        try:
            answer = future.result()
        except Exception as e:  # noqa: BLE001 - sent to the client in OpenAI's shape
            if not isinstance(e, (NewsragError, Abandoned)):
                log.exception("answering failed")
            yield _event(server_error(e, home).body())
            return
        if answer.error:
            yield _event(ApiError(502, answer.error, "server_error", "backend_error").body())
            return
        rest = (live_text() or fmt.LiveText(len(answer.passages))).finish(answer)
        yield _event(fmt.chunk(cid, {"content": rest} if rest else {}))
        yield _event(fmt.chunk(cid, {}, "stop", citations=fmt.citations(answer), newsrag=fmt.extras(answer)))
        yield "data: [DONE]\n\n"
    finally:
        cancelled.set()


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def serve(settings: Settings, ingest_sample: bool = True) -> None:
    """The edge of `newsrag serve`: build the engine, load the model once, run uvicorn."""
    import uvicorn

    from ui.app import ensure_sample

    keys = api_keys(settings)  # a malformed NEWSRAG_API_KEYS fails before anything loads
    engine = Engine.from_settings(settings)
    if ingest_sample:
        ensure_sample(engine, settings)
    try:
        engine.llm
    except NewsragError as e:
        print(f"the {settings.llm} LLM backend did not load: {e}\nAnswers return this message until it does.")
    if settings.api_host not in ("127.0.0.1", "localhost", "::1") and not keys:
        log.warning("the API is reachable from other machines at %s without a key; set NEWSRAG_API_KEYS", settings.api_host)
    print(f"newsrag API at http://{settings.api_host}:{settings.api_port}/v1 (model \"{fmt.MODEL_ID}\"); Ctrl-C stops it")
    uvicorn.run(create_api(engine, settings), host=settings.api_host, port=settings.api_port, log_level="warning")
