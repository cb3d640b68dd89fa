"""What the `openai` and `openai-compatible` backends share: where to call,
with which key, and failures turned into one-line errors that name the fix and
the setting involved. Retries are the openai client's own (`max_retries`):
429, 408/409, 5xx, timeouts and lost connections, with exponential backoff
that honours Retry-After.

Keys stay `SecretStr` until the moment the client is built; no message, log
line or repr made here contains one (server replies are scrubbed of it too).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar
from urllib.parse import urlparse

from pydantic import SecretStr

from core.errors import BackendError, ConfigError
from core.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "not-needed"  # local servers ignore the key, but the client insists on one


@dataclass(frozen=True)
class Endpoint:
    """One configured OpenAI-style service, and the names of its settings."""

    backend: str  # "openai" | "openai-compatible"
    base_url: str
    model: str | None
    api_key: SecretStr | None = field(repr=False)
    timeout: float = 60.0
    retries: int = 2
    prefix: str = "NEWSRAG_LLM"  # or NEWSRAG_EMBED: settings are named after it
    custom_url: bool = False  # the base URL came from a setting

    @property
    def host(self) -> str:
        u = urlparse(self.base_url)
        return u.hostname + (f":{u.port}" if u.port else "") if u.hostname else self.base_url

    @property
    def fallback(self) -> str:
        return f"{self.prefix}=embedded"

    def key_value(self) -> str:
        return self.api_key.get_secret_value() if self.api_key else NO_KEY

    def scrub(self, text: str) -> str:
        """`text` without the key, cut to one short line."""
        key = self.api_key.get_secret_value() if self.api_key else ""
        if key:
            text = text.replace(key, "***")
        text = " ".join(str(text).split())
        return text if len(text) <= 200 else text[:199] + "…"


def endpoint_from_settings(s: Settings, kind: str, compatible: bool) -> Endpoint:
    """Validate the settings of the `llm` or `embed` backend; ConfigError names what to set."""
    prefix = "NEWSRAG_LLM" if kind == "llm" else "NEWSRAG_EMBED"
    base_url = getattr(s, f"{kind}_base_url")
    key: SecretStr | None = getattr(s, f"{kind}_api_key")
    model = getattr(s, f"{kind}_model")
    if key is not None and not key.get_secret_value().strip():
        key = None
    if base_url:
        base_url = base_url.strip().rstrip("/")
        if urlparse(base_url).scheme not in ("http", "https") or not urlparse(base_url).hostname:
            raise ConfigError(f"{prefix}_BASE_URL must look like http://127.0.0.1:11434/v1, not {base_url!r}")
    if compatible:
        if not base_url:
            raise ConfigError(
                f"{prefix}_BASE_URL is not set: give the server's address, e.g. http://127.0.0.1:11434/v1 (Ollama), "
                f"or use {prefix}=embedded"
            )
    else:
        if key is None:
            raise ConfigError(f"OPENAI_API_KEY is not set: put it in .env, or use {prefix}=embedded")
        model = model or ("gpt-4o-mini" if kind == "llm" else "text-embedding-3-small")
    return Endpoint(
        backend="openai-compatible" if compatible else "openai",
        base_url=base_url or OPENAI_URL,
        model=model,
        api_key=key,
        timeout=s.llm_timeout,
        retries=max(0, s.llm_retries),
        prefix=prefix,
        custom_url=bool(base_url),
    )


def make_client(ep: Endpoint) -> Any:
    import openai

    return openai.OpenAI(api_key=ep.key_value(), base_url=ep.base_url, timeout=ep.timeout, max_retries=ep.retries)


def call_api(call: Callable[[], T], ep: Endpoint) -> T:
    """`call()` on a `make_client` client (which has retried what is worth retrying);
    a failure becomes a one-line BackendError."""
    try:
        return call()
    except Exception as e:
        raise translate(e, ep, ep.retries) from None


def translate(e: BaseException, ep: Endpoint, retried: int = 0) -> BackendError:
    """One line naming the fix. Never the key, never a traceback."""
    import httpx
    import openai

    url, p = ep.base_url, ep.prefix
    if isinstance(e, BackendError):
        return e
    if isinstance(e, (openai.APITimeoutError, httpx.TimeoutException)):
        return BackendError(
            f"no reply from {url} within {ep.timeout:g} s (NEWSRAG_LLM_TIMEOUT): "
            "the server is busy or stuck; raise the timeout or check the server"
        )
    if isinstance(e, (openai.APIConnectionError, httpx.TransportError)):
        if ep.custom_url:
            return BackendError(f"cannot reach {url} ({p}_BASE_URL): is the server running?")
        return BackendError(f"cannot reach {url}: check the network connection, or use {ep.fallback} to run offline")
    if isinstance(e, openai.APIStatusError):
        return _status_error(e, ep, retried)
    return BackendError(f"the {ep.backend} backend at {url} failed: {ep.scrub(f'{type(e).__name__}: {e}')}")


def _status_error(e: Any, ep: Endpoint, retried: int) -> BackendError:
    url, p, code = ep.base_url, ep.prefix, e.status_code
    key_setting = "OPENAI_API_KEY (or " + p + "_API_KEY) in .env" if ep.backend == "openai" else p + "_API_KEY"
    if code == 401:
        return BackendError(f"the API key was rejected (401) by {url}: check {key_setting}")
    if code == 403:
        return BackendError(f"the API key may not use this model (403) at {url}: check {key_setting} and {p}_MODEL")
    if code == 404:
        served = list_models(ep)
        hint = f"choose one it serves: {', '.join(served[:8])}" if served else f"check {p}_MODEL and that {p}_BASE_URL ends in /v1"
        return BackendError(f"model {ep.model!r} is not served at {url} ({p}_MODEL): {hint}")
    if code == 429:
        if _code(e) == "insufficient_quota":
            return BackendError(f"the quota of this API key is used up (429 insufficient_quota) at {url}: check its billing, or use {ep.fallback}")
        return BackendError(
            f"rate limited (429) by {url} after {retried} retries (NEWSRAG_LLM_RETRIES): wait a minute and try again"
        )
    if code >= 500:
        return BackendError(
            f"{url} failed with HTTP {code} after {retried} retries: a server-side error; check the server's log or try again later"
        )
    return BackendError(f"{url} refused the request (HTTP {code}): {ep.scrub(_message(e))}")


def list_models(ep: Endpoint) -> list[str]:
    """Model ids the server lists at /models, or [] when it cannot say (quickly)."""
    try:
        import openai

        client = openai.OpenAI(api_key=ep.key_value(), base_url=ep.base_url, timeout=min(ep.timeout, 5.0), max_retries=0)
        return sorted(m.id for m in client.models.list())
    except Exception:
        log.debug("listing the models at %s failed", ep.base_url, exc_info=True)
        return []


def _code(e: Any) -> str:
    body = e.body if isinstance(getattr(e, "body", None), dict) else {}
    err = body.get("error", body) if isinstance(body.get("error", body), dict) else body
    return str(err.get("code") or getattr(e, "code", "") or "")


def _message(e: Any) -> str:
    body = e.body if isinstance(getattr(e, "body", None), dict) else {}
    err = body.get("error", body)
    if isinstance(err, dict) and err.get("message"):
        return str(err["message"])
    return str(getattr(e, "message", "") or e)
