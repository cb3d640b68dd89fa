"""Answers from OpenAI, or from any OpenAI-compatible server (vLLM, Ollama,
LM Studio, llama.cpp's server, a LiteLLM proxy), through the official client.

Streaming, a timeout per call, the client's retries (429/5xx, timeouts); every failure
is a `BackendError` (or `ConfigError`) whose one line names the fix.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Iterator

from core.errors import BackendError, ConfigError
from core.models.base import GenerationRequest
from core.models.openai_common import Endpoint, call_api, endpoint_from_settings, list_models, make_client, translate
from core.settings import Settings

log = logging.getLogger(__name__)


class OpenAIChat:
    """A newsrag `Generator` over the chat completions API."""

    def __init__(self, endpoint: Endpoint, *, client: Any = None) -> None:
        self.endpoint = endpoint
        self._client = client or make_client(endpoint)
        self._model = endpoint.model
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, compatible: bool, **kw: Any) -> "OpenAIChat":
        return cls(endpoint_from_settings(settings, "llm", compatible), **kw)

    @property
    def name(self) -> str:
        return f"{self.endpoint.backend}:{self._model or '?'}"

    def __repr__(self) -> str:
        return f"OpenAIChat(backend={self.endpoint.backend!r}, model={self._model!r}, base_url={self.endpoint.base_url!r})"

    def model(self) -> str:
        """The configured model, or the first one the server lists (llama.cpp, LM Studio)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    served = list_models(self.endpoint)
                    if not served:
                        # Distinguish "down" from "lists nothing": the first gives the usual message.
                        call_api(lambda: self._client.models.list(), self.endpoint)
                        raise ConfigError(f"{self.endpoint.base_url} lists no models: set NEWSRAG_LLM_MODEL")
                    self._model = served[0]
                    log.info("using model %s, the first listed by %s", self._model, self.endpoint.base_url)
        return self._model

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        ep = self.endpoint
        model = self.model()
        # OpenAI's newer models accept only max_completion_tokens; other servers know max_tokens.
        limit = {"max_completion_tokens" if ep.backend == "openai" else "max_tokens": request.max_tokens}
        log.debug("chat completion: %s model=%s messages=%d", ep.base_url, model, len(request.messages))
        response = call_api(
            lambda: self._client.chat.completions.create(
                model=model, messages=request.messages, temperature=0, stream=True, **limit  # type: ignore[arg-type]
            ),
            ep,
        )
        try:
            for chunk in response:
                for choice in getattr(chunk, "choices", None) or []:
                    text = getattr(choice.delta, "content", None) if choice.delta else None
                    if text:
                        yield text
        except BackendError:
            raise
        except Exception as e:  # the stream broke off, or stalled past the timeout
            raise translate(e, ep) from None
        finally:
            response.close()  # also when the caller stops early: frees the server's slot
