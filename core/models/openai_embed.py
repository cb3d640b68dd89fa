"""Embeddings from OpenAI or any OpenAI-compatible /v1/embeddings server.

Its `identity` (backend, model, server host) names its own Chroma collection,
so vectors from two embedders never mix. The dimension comes from a table of
OpenAI's models or from one probe call, made once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from core.errors import BackendError, ConfigError
from core.models.openai_common import Endpoint, call_api, endpoint_from_settings, make_client
from core.settings import Settings

log = logging.getLogger(__name__)

KNOWN_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
BATCH = 64  # texts per request: OpenAI takes up to 2,048; local servers like smaller batches


class OpenAIEmbedder(BaseEmbedding):
    """llama-index embedding over the official `openai` client; batched."""

    model_name: str = "unknown"
    embed_batch_size: int = BATCH
    _endpoint: Endpoint = PrivateAttr()
    _client: Any = PrivateAttr()
    _dim: int | None = PrivateAttr(default=None)
    _lock: Any = PrivateAttr()

    def __init__(self, endpoint: Endpoint, *, client: Any = None, **kwargs: Any) -> None:
        if not endpoint.model:
            raise ConfigError(
                f"{endpoint.prefix}_MODEL is not set: name the embedding model the server serves "
                "(e.g. nomic-embed-text for Ollama)"
            )
        super().__init__(model_name=endpoint.model, **kwargs)
        self._endpoint = endpoint
        self._client = client or make_client(endpoint)
        self._dim = KNOWN_DIMENSIONS.get(endpoint.model) if endpoint.backend == "openai" else None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, compatible: bool, **kw: Any) -> "OpenAIEmbedder":
        return cls(endpoint_from_settings(settings, "embed", compatible), **kw)

    @classmethod
    def class_name(cls) -> str:
        return "NewsragOpenAIEmbedder"

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(identity={self.identity!r})"

    __str__ = __repr__

    @property
    def identity(self) -> str:
        """Stored with the collection: another backend, model or server is another collection."""
        return f"{self._endpoint.backend}:{self.model_name}:{self._endpoint.host}"

    @property
    def dimension(self) -> int:
        if self._dim is None:
            with self._lock:
                if self._dim is None:
                    self._dim = len(self._embed(["dimension probe"])[0])
        return self._dim

    def _embed(self, texts: list[str]) -> list[list[float]]:
        ep = self._endpoint
        # OpenAI rejects empty strings; a lone space embeds as "nothing" everywhere.
        inputs = [t if t.strip() else " " for t in texts]
        log.debug("embeddings: %s model=%s texts=%d", ep.base_url, self.model_name, len(inputs))
        res = call_api(lambda: self._client.embeddings.create(model=self.model_name, input=inputs), ep)
        data = sorted(res.data, key=lambda d: d.index)
        if len(data) != len(inputs):
            raise BackendError(f"{ep.base_url} returned {len(data)} embeddings for {len(inputs)} texts: is {self.model_name!r} an embedding model?")
        vectors = [list(d.embedding) for d in data]
        if self._dim is not None and any(len(v) != self._dim for v in vectors):
            raise BackendError(
                f"{ep.base_url} returned {len(vectors[0])}-dimensional vectors, not {self._dim}: "
                f"did the model behind {ep.prefix}_MODEL change? Re-ingest with `newsrag ingest`"
            )
        return vectors

    # llama-index interface
    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), BATCH):
            out.extend(self._embed(texts[i : i + BATCH]))
        return out

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)
