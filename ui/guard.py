"""The chat page's door: an ASGI middleware in front of Gradio's app.

Gradio checks a password and a session cookie; what a user may do is newsrag's.
`PageGuard` (installed by `ui.app.launch`) adds, before Gradio sees a request:

- the login brake (`ui.access.LoginBrake`): a failed login slows the next one, and
  after `NEWSRAG_LOGIN_MAX_FAILURES` the user or the client address is refused for
  `NEWSRAG_LOGIN_LOCKOUT_S`, even with the right password. An API client reads 429
  and the reason; Gradio's login page (which shows only "Incorrect Credentials" for a
  400) is sent back to itself and shows the reason as its login message.
- uploads for editors only: `POST /gradio_api/upload` (and `/upload`,
  `/gradio_api/process_recording`) by a reader is refused before a byte is written,
  and so is a reader's call of an event that takes files (its file inputs would be
  copied or downloaded into Gradio's cache before the handler could refuse).

`discard_uploads` deletes Gradio's copies of uploaded files once a handler is done
with them (newsrag keeps its own copy under NEWSRAG_HOME/uploads).
"""

from __future__ import annotations

import contextvars
import html
import json
import logging
import math
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import parse_qs

from ui.access import Access, LoginBrake

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

UPLOAD_PATHS = frozenset({"/gradio_api/upload", "/upload", "/gradio_api/process_recording"})
EVENT_PREFIXES = ("/gradio_api/queue/join", "/gradio_api/run/", "/gradio_api/api/", "/gradio_api/call/")
MAX_LOGIN_BODY = 64 * 1024

# The lockout message for the client of the request being served: the login page's message.
login_notice: contextvars.ContextVar[str | None] = contextvars.ContextVar("newsrag_login_notice", default=None)


class PageGuard:
    """`Middleware(PageGuard, access=..., brake=..., file_events=...)`: `file_events` are the
    (fn ids, api names) of the page's events that take files."""

    def __init__(self, app: Any, *, access: Access, brake: LoginBrake,
                 file_events: tuple[frozenset[int], frozenset[str]] = (frozenset(), frozenset())) -> None:
        self.app, self.access, self.brake = app, access, brake
        self.file_ids, self.file_names = file_events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/") or "/"
        address = (scope.get("client") or ("?", 0))[0]
        token = login_notice.set(self.brake.notice(address) if self.access.users else None)
        try:
            if scope["method"] == "POST" and path == "/login" and self.access.users:
                await self._login(scope, receive, send, address)
            elif scope["method"] == "POST" and path in UPLOAD_PATHS:
                await self._upload(scope, receive, send)
            elif scope["method"] == "POST" and path.startswith(EVENT_PREFIXES):
                await self._event(scope, receive, send, path)
            else:
                await self.app(scope, receive, send)
        finally:
            login_notice.reset(token)

    # --- logins
    async def _login(self, scope: Scope, receive: Receive, send: Send, address: str) -> None:
        body = await _read(receive, MAX_LOGIN_BODY)
        if body is None:
            await _json(send, 413, {"detail": "the login form is too large"})
            return
        user = await _username(scope, body)
        browser = _from_login_page(scope)
        refused, delay = self.brake.begin(user, address)
        if refused:
            await self._locked(send, refused, browser, self.brake.wait_s(user, address))
            return
        ok = False
        try:
            await self.brake.sleep(delay)
            reply = _Captured()
            await self.app(scope, _replay(body), reply)
            ok = reply.status == 200 and reply.sets_cookie
        finally:
            locked = self.brake.end(user, address, ok)
        if locked:
            await self._locked(send, locked, browser, self.brake.wait_s(user, address))
        else:
            await reply.forward(send)

    async def _locked(self, send: Send, message: str, browser: bool, wait_s: float) -> None:
        text = message[0].upper() + message[1:] + "."
        if browser:  # the login page reloads on a 200 and then shows `login_notice` as its message
            await _json(send, 200, {"success": False, "detail": text})
        else:
            await _json(send, 429, {"detail": text}, [(b"retry-after", str(math.ceil(wait_s)).encode())])

    # --- files
    async def _upload(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = self._refusal(scope)
        if refused:
            await _json(send, refused[0], {"detail": refused[1]})
            return
        await self.app(scope, receive, send)

    async def _event(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        refused = self._refusal(scope)
        if refused is None or not (self.file_ids or self.file_names):
            await self.app(scope, receive, send)
            return
        name = path.rsplit("/", 1)[-1] if not path.endswith("/queue/join") else ""
        body = await _read(receive, None) or b""
        if name in self.file_names or _fn_index(body) in self.file_ids:
            await _json(send, refused[0], {"detail": refused[1]})
            return
        await self.app(scope, _replay(body), send)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        """(status, why) when the session's user may not send files; None for an editor."""
        user = _session_user(scope)
        if self.access.users and user is None and not self.access.readonly:
            return 401, "log in first: uploads need an editor's login"
        if self.access.can_edit(user):
            return None
        return 403, self.access.refusal(user)


def file_events(demo: Any) -> tuple[frozenset[int], frozenset[str]]:
    """The (fn ids, api names) of `demo`'s events with a file input."""
    import gradio as gr

    fns = [(i, fn) for i, fn in demo.fns.items() if any(isinstance(b, (gr.File, gr.UploadButton)) for b in fn.inputs)]
    return frozenset(i for i, _ in fns), frozenset(str(fn.api_name) for _, fn in fns if fn.api_name)


def login_message(text: str | None) -> str | None:
    """The lockout message as the login page shows it (it renders HTML)."""
    return f'<p class="nr-login-locked"><strong>{html.escape(text)}.</strong></p>' if text else None


def page_blocks() -> type:
    """gr.Blocks whose login message (`auth_message`) is the lockout notice of the request's client."""
    import gradio as gr

    class PageBlocks(gr.Blocks):  # type: ignore[misc]
        @property  # type: ignore[override]
        def auth_message(self) -> str | None:
            notice = login_notice.get()
            return login_message(notice[0].upper() + notice[1:]) if notice else self.__dict__.get("_auth_message")

        @auth_message.setter
        def auth_message(self, value: str | None) -> None:
            self.__dict__["_auth_message"] = value

    return PageBlocks


def discard_uploads(files: Iterable[Any] | None) -> None:
    """Delete Gradio's copies of these uploaded files (and their emptied folders), only inside its upload folder."""
    from gradio.utils import get_upload_folder

    root = Path(get_upload_folder()).resolve()
    for f in files or []:
        path = Path(f if isinstance(f, str) else getattr(f, "name", str(f))).resolve()
        if root not in path.parents:
            continue
        try:
            path.unlink(missing_ok=True)
            if path.parent != root and not any(path.parent.iterdir()):
                path.parent.rmdir()
        except OSError as e:
            log.warning("could not delete the uploaded copy %s: %s", path, e)


# --- plumbing
def _session_user(scope: Scope) -> str | None:
    app = scope.get("app")
    if app is None or not hasattr(app, "tokens"):
        return None
    from starlette.requests import Request

    cookies = Request(scope).cookies
    token = cookies.get(f"access-token-{app.cookie_id}") or cookies.get(f"access-token-unsecure-{app.cookie_id}")
    return app.tokens.get(token) if token else None


def _header(scope: Scope, name: bytes) -> str:
    for k, v in scope.get("headers", []):
        if k.lower() == name:
            return v.decode("latin-1")
    return ""


def _from_login_page(scope: Scope) -> bool:
    """Gradio's login page posts a FormData (multipart) with fetch(), which browsers mark with Sec-Fetch-Mode."""
    return _header(scope, b"content-type").startswith("multipart/form-data") and bool(_header(scope, b"sec-fetch-mode"))


async def _username(scope: Scope, body: bytes) -> str:
    ctype = _header(scope, b"content-type")
    if ctype.startswith("multipart/form-data"):
        from starlette.requests import Request

        try:
            form = await Request(scope, _replay(body)).form()
            return str(form.get("username") or "").strip()
        except Exception:  # noqa: BLE001 - a malformed form is a failed login, under its address
            return ""
    values = parse_qs(body.decode("utf-8", "replace"))
    return (values.get("username") or [""])[0].strip()


def _fn_index(body: bytes) -> int | None:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return None
    value = data.get("fn_index") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None


async def _read(receive: Receive, limit: int | None) -> bytes | None:
    """The request's body, or None when it is over `limit` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class _Captured:
    """A `send` that holds a (small) response, to be looked at and then forwarded."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.status = 0
        self.sets_cookie = False

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.sets_cookie = any(k.lower() == b"set-cookie" for k, _ in message.get("headers", []))
        self.messages.append(message)

    async def forward(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


async def _json(send: Send, status: int, payload: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
