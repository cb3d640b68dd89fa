"""Embedding backends by name. Each has an `identity` stored with its collection."""

from __future__ import annotations

from typing import Any, Callable

from core.errors import ConfigError
from core.settings import Settings


def _embedded(s: Settings) -> Any:
    from core.models.minilm import MiniLMEmbedding

    return MiniLMEmbedding(threads=s.threads())


def _openai(s: Settings) -> Any:
    from core.models.openai_embed import OpenAIEmbedder

    return OpenAIEmbedder.from_settings(s, compatible=False)


def _openai_compatible(s: Settings) -> Any:
    from core.models.openai_embed import OpenAIEmbedder

    return OpenAIEmbedder.from_settings(s, compatible=True)


EMBEDDERS: dict[str, tuple[Callable[[Settings], Any], str]] = {
    "embedded": (_embedded, "all-MiniLM-L6-v2 int8 ONNX, 384 dims, offline, the default"),
    "openai": (_openai, "OpenAI embeddings (NEWSRAG_EMBED_MODEL, OPENAI_API_KEY)"),
    "openai-compatible": (_openai_compatible, "any OpenAI-compatible /v1/embeddings server (NEWSRAG_EMBED_BASE_URL)"),
}


def make_embedder(settings: Settings, name: str | None = None) -> Any:
    name = name or settings.embed
    if name not in EMBEDDERS:
        raise ConfigError(f"unknown embedder {name!r} (NEWSRAG_EMBED); choose one of: {', '.join(EMBEDDERS)}")
    return EMBEDDERS[name][0](settings)
