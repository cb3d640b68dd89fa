"""Real servers on 127.0.0.1 for the backend tests, started and stopped by the tests.

- `FakeOpenAI`: a tiny OpenAI-compatible server (stdlib http.server in a thread)
  that plays a script of faults (401, 429, 500, 404, a hang) before answering
  normally: streamed chat completions, /models, deterministic /embeddings.
- `llama_server`: llama.cpp's own HTTP server (through xllamacpp) serving a
  GGUF: the real OpenAI-compatible API the `openai-compatible` backend targets.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import math
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator


@dataclass(frozen=True)
class Fault:
    """One scripted reply: an HTTP error, or `hang` (accept, then never answer)."""

    status: int = 0
    message: str = ""
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


def error(status: int, message: str = "scripted failure", code: str | None = None, **headers: str) -> Fault:
    return Fault(status, message, code, {k.replace("_", "-"): v for k, v in headers.items()})


HANG = Fault(hang=True)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeOpenAI:
    """`with FakeOpenAI([error(429), ...]) as srv:` then point a client at `srv.url`.

    Each POST takes the next fault from the script; once it is empty the server
    answers normally. GET /models always answers (used to list models on 404).
    """

    def __init__(self, script: list[Fault] | None = None, reply: str = "Dmitry Peskov [1].", models: tuple[str, ...] = ("local-model",), dim: int = 8) -> None:
        self.script = list(script or [])
        self.reply = reply
        self.models = models
        self.dim = dim
        self.seen: list[Seen] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def posts(self, path_end: str = "") -> list[Seen]:
        return [s for s in self.seen if s.method == "POST" and s.path.endswith(path_end)]

    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()  # lets hanging handlers finish
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def next_fault(self) -> Fault | None:
        with self._lock:
            return self.script.pop(0) if self.script else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vector(text: str, dim: int) -> list[float]:
    """A deterministic unit vector per text (same text, same vector)."""
    raw = hashlib.sha256(text.encode()).digest() * (dim // 32 + 1)
    v = [b - 127.5 for b in raw[:dim]]
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


def _handler(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            server.seen.append(Seen("GET", self.path, dict(self.headers), {}))
            if self.path.rstrip("/").endswith("/models"):
                self._send_json(200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "test"} for m in server.models]})
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            server.seen.append(Seen("POST", self.path, dict(self.headers), body))
            fault = server.next_fault()
            if fault and fault.hang:
                server._release.wait(30)
                self.close_connection = True
                return
            if fault:
                err = {"message": fault.message, "type": "error", "code": fault.code}
                self._send_json(fault.status, {"error": err}, fault.headers)
                return
            if body.get("model") not in server.models and not self.path.endswith("/embeddings"):
                self._send_json(404, {"error": {"message": f"The model `{body.get('model')}` does not exist", "code": "model_not_found"}})
            elif self.path.endswith("/chat/completions"):
                self._chat(body)
            elif self.path.endswith("/embeddings"):
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = [{"object": "embedding", "index": i, "embedding": vector(t, server.dim)} for i, t in enumerate(inputs)]
                self._send_json(200, {"object": "list", "data": data, "model": body.get("model"), "usage": {"prompt_tokens": 1, "total_tokens": 1}})
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})

        def _chat(self, body: dict[str, Any]) -> None:
            base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()), "model": body["model"]}
            if not body.get("stream"):
                msg = {"role": "assistant", "content": server.reply}
                self._send_json(200, {**base, "object": "chat.completion", "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}]})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            words = server.reply.split(" ")
            for i, w in enumerate(words):
                delta = {"content": w if i == 0 else " " + w}
                self._event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

        def _event(self, payload: dict[str, Any]) -> None:
            self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
            self.wfile.flush()

    return Handler


@dataclass(frozen=True)
class LlamaServer:
    url: str  # base URL for an OpenAI client, ending in /v1
    model: str  # the id /v1/models lists
    embeddings: bool


@contextlib.contextmanager
def llama_server(model_path: Path, threads: int, context: int = 4096, embeddings: bool = False) -> Iterator[LlamaServer]:
    """llama.cpp's OpenAI-compatible HTTP server on a random 127.0.0.1 port, for the duration.

    Same parameters as the embedded backend (so answers match it token for
    token); `embeddings=True` also serves /v1/embeddings (mean pooling) from
    the same chat model.
    """
    import urllib.request

    import xllamacpp

    from core.models.embedded_llm import _quiet_stderr, llama_params

    params = llama_params(model_path, threads, context)
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # any free port
    if embeddings:
        params.embedding = True
        params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    with _quiet_stderr():
        srv = xllamacpp.Server(params)
    try:
        base = srv.listening_address.rstrip("/") + "/v1"
        with urllib.request.urlopen(base + "/models", timeout=10) as r:
            model = json.loads(r.read())["data"][0]["id"]
        yield LlamaServer(base, model, embeddings)
    finally:
        del srv  # the destructor stops llama.cpp's loop and its HTTP server
        gc.collect()


class NewsSite:
    """A small news site on 127.0.0.1: `site.pages[path] = (content type, body)`, changed at will.

    Answers GET with ETag (a hash of the body) and Last-Modified, and 304 to a matching
    If-None-Match; 404 for unknown paths; `site.slow[path] = seconds` waits that long before
    answering; `site.redirects[path] = (status, location)` answers with that redirect.
    `site.seen` records (path, request headers) of every request. `NewsSite("::1")` listens
    on the IPv6 loopback instead; `tls=(certfile, keyfile)` serves https.
    """

    def __init__(self, host: str = "127.0.0.1", tls: tuple[Path, Path] | None = None) -> None:
        self.host = host
        self.scheme = "https" if tls else "http"
        self.pages: dict[str, tuple[str, bytes]] = {}
        self.slow: dict[str, float] = {}
        self.redirects: dict[str, tuple[int, str]] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        self._release = threading.Event()
        server_class = _ThreadingHTTPServer6 if ":" in host else ThreadingHTTPServer
        self._httpd = server_class((host, 0), _site_handler(self))
        if tls:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/", host: str | None = None) -> str:
        """The URL of `path`, by default through the address the site listens on; `host` spells it
        another way (`localhost`, `0177.0.0.1`, `[::ffff:127.0.0.1]`)."""
        host = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{self.scheme}://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        """The paths asked for, in order."""
        return [p for p, _ in self.seen]

    def put(self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8") -> str:
        self.pages[path] = (content_type, body.encode() if isinstance(body, str) else body)
        return self.url(path)

    def __enter__(self) -> "NewsSite":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


class _ThreadingHTTPServer6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _site_handler(site: NewsSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            site.seen.append((self.path, dict(self.headers)))
            if (wait := site.slow.get(self.path)) is not None:
                site._release.wait(wait)
            if (redirect := site.redirects.get(self.path)) is not None:
                self.send_response(redirect[0])
                self.send_header("Location", redirect[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            page = site.pages.get(self.path)
            if page is None:
                body = b"<html><body><h1>Not found</h1></body></html>"
                self.send_response(404)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            ctype, body = page
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", "Wed, 28 Jan 2026 10:00:00 GMT")
            self.end_headers()
            with contextlib.suppress(ConnectionError):  # a client that gave up (timeout, too large)
                self.wfile.write(body)

    return Handler
@contextlib.contextmanager
def api_server(engine: Any, settings: Any) -> Iterator[str]:
    """`newsrag serve`'s app (ui.server.create_api) under uvicorn in a thread on 127.0.0.1; yields its /v1 URL."""
    import uvicorn

    from ui.server import create_api

    config = uvicorn.Config(create_api(engine, settings), host="127.0.0.1", port=free_port(), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{config.port}/v1"
    finally:
        server.should_exit = True
        thread.join(30)
