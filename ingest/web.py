"""Fetching pages and feeds over HTTP(S) with the standard library, within limits.

Only http and https (also after a redirect); a whole-request deadline (not
only per socket read), at most `max_bytes` read (a longer body is refused,
not cut), our user agent, and conditional requests (ETag / Last-Modified) for
feeds. Every failure is a `FetchError` whose message names the cause: DNS,
refused connection, HTTP status, timeout, too large.

Every connection (each redirect hop too) is opened by `ingest.netguard.Guard`: a
loopback, private, link-local or otherwise internal address is refused
(`AddressRefused`, naming NEWSRAG_FETCH_ALLOW) unless `FetchLimits.allow` allows
it. Proxies from the environment are not used: through a proxy the address
connected to could not be checked.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Callable
from urllib.parse import urlparse

from core.errors import IngestError
from ingest.netguard import Allow, Guard

SCHEMES = ("http", "https")
BLOCK = 65536


class FetchError(IngestError):
    """A URL that could not be fetched; the message says why."""


@dataclass(frozen=True)
class FetchLimits:
    """Built from Settings (`rag.factory.ingest_options`)."""

    timeout: float  # seconds for the whole request
    max_bytes: int
    user_agent: str
    # NEWSRAG_FETCH_ALLOW's entries: host names, addresses, networks that may be fetched
    # although private, loopback or link-local (ingest/netguard.py says how each matches)
    allow: tuple[str, ...] = ()
    allowed: Allow = field(default=Allow(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        allowed = Allow(self.allow)  # a ConfigError names a bad entry, when the options are built
        object.__setattr__(self, "allow", allowed.entries)
        object.__setattr__(self, "allowed", allowed)


@dataclass(frozen=True)
class Response:
    url: str  # as asked for
    final_url: str  # after redirects
    status: int  # 200, or 304 for a conditional request that found nothing new
    content_type: str  # lower case, without parameters
    charset: str
    data: bytes
    etag: str = ""
    last_modified: str = ""


def is_url(item: str) -> bool:
    return "://" in item[:12]


def check_url(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme.lower() not in SCHEMES:
        raise FetchError(f"not an http(s) URL ({parsed.scheme or 'no'} scheme): newsrag fetches only http:// and https://")
    if not parsed.hostname:
        raise FetchError("the URL has no host name")


class _Redirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        check_url(newurl)  # never follow a redirect to file:// or ftp:// (the new hop's address is checked when it connects)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _guarded(connection: type[http.client.HTTPConnection], guard: Guard, url: str) -> Callable[..., http.client.HTTPConnection]:
    """`connection`, opening its socket through `guard` (Host header and TLS SNI stay the URL's name)."""

    def make(host: str, **kwargs: Any) -> http.client.HTTPConnection:
        conn = connection(host, **kwargs)

        def create(address: tuple[str, int], timeout: Any = None, source_address: Any = None) -> socket.socket:
            return guard.connect(address[0], address[1], timeout, source_address, url)

        conn._create_connection = create  # type: ignore[attr-defined]  # http.client's own hook for opening the socket
        return conn

    return make


class _GuardedHTTP(urllib.request.HTTPHandler):
    def __init__(self, guard: Guard) -> None:
        super().__init__()
        self.guard = guard

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_guarded(http.client.HTTPConnection, self.guard, req.full_url), req)


class _GuardedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, guard: Guard) -> None:
        super().__init__()
        self.guard = guard

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_guarded(http.client.HTTPSConnection, self.guard, req.full_url), req, context=self._context)  # type: ignore[attr-defined]


def opener(guard: Guard) -> urllib.request.OpenerDirector:
    """urllib's opener with every connection through `guard`, redirects checked, no proxies."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _GuardedHTTP(guard), _GuardedHTTPS(guard), _Redirects())


def fetch(url: str, limits: FetchLimits, etag: str = "", last_modified: str = "", guard: Guard | None = None) -> Response:
    """The body of `url`; a FetchError naming the cause when there is none to read, an
    AddressRefused when `url` (or a redirect) leads to an address not allowed.
    `guard`: how hosts are resolved and connected to (by default the system's, with `limits.allowed`)."""
    check_url(url)
    headers = {"User-Agent": limits.user_agent, "Accept": "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,application/xml;q=0.9,*/*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + limits.timeout
    try:
        with opener(guard or Guard(limits.allowed)).open(urllib.request.Request(url, headers=headers), timeout=limits.timeout) as r:
            info: Message = r.headers
            data = _read(r, limits, deadline)
            return Response(
                url, r.geturl(), r.status, (info.get_content_type() or "").lower(), info.get_content_charset() or "",
                data, info.get("ETag", "") or "", info.get("Last-Modified", "") or "",
            )
    except urllib.error.HTTPError as e:
        if e.code == 304:
            return Response(url, url, 304, "", "", b"", etag, last_modified)
        raise FetchError(f"HTTP {e.code} {e.reason}" + (": the page does not exist" if e.code in (404, 410) else "")) from None
    except urllib.error.URLError as e:
        raise FetchError(_reason(e.reason, url, limits)) from None
    except (TimeoutError, socket.timeout):
        raise FetchError(f"timeout: no complete answer within {limits.timeout:g} s (NEWSRAG_FETCH_TIMEOUT)") from None
    except (ConnectionError, OSError) as e:
        raise FetchError(_reason(e, url, limits)) from None


def _read(r: http.client.HTTPResponse, limits: FetchLimits, deadline: float) -> bytes:
    """The body, read in blocks: refused as soon as it passes the size limit or the deadline."""
    length = r.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > limits.max_bytes:
        raise FetchError(_too_large(int(length), limits))
    data = bytearray()
    while block := r.read(BLOCK):
        data += block
        if len(data) > limits.max_bytes:
            raise FetchError(_too_large(None, limits))
        if time.monotonic() > deadline:
            raise FetchError(f"timeout: the page took over {limits.timeout:g} s to arrive (NEWSRAG_FETCH_TIMEOUT)")
    return bytes(data)


def _too_large(size: int | None, limits: FetchLimits) -> str:
    what = f"{size / 2**20:.1f} MB" if size else "larger than that"
    return f"too large: the page is {what}, over the {limits.max_bytes / 2**20:g} MB limit (NEWSRAG_FETCH_MAX_MB)"


def _reason(reason: object, url: str, limits: FetchLimits) -> str:
    host = urlparse(url).hostname or url
    if isinstance(reason, socket.gaierror):
        return f"DNS: cannot resolve the host name {host!r} (check the URL, or the network)"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"timeout: no answer from {host} within {limits.timeout:g} s (NEWSRAG_FETCH_TIMEOUT)"
    if isinstance(reason, ConnectionRefusedError):
        return f"connection refused by {host}: is the site up?"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error with {host}: {reason}"
    if isinstance(reason, FetchError):
        return str(reason)
    return f"cannot fetch from {host}: {reason}"
