"""LLM backends by name. Optional ones import lazily, when chosen."""

from __future__ import annotations

from typing import Callable

from core.errors import ConfigError
from core.models.base import Generator
from core.settings import Settings


def _embedded(s: Settings) -> Generator:
    from core.models.embedded_llm import EmbeddedLLM
    from core.models.gguf import ensure_model

    path = s.llm_model_path or ensure_model(s.resolved_model_dir())
    return EmbeddedLLM.shared(path, threads=s.threads(), context=s.llm_context)


def _openai(s: Settings) -> Generator:
    from core.models.openai_llm import OpenAIChat

    return OpenAIChat.from_settings(s, compatible=False)


def _openai_compatible(s: Settings) -> Generator:
    from core.models.openai_llm import OpenAIChat

    return OpenAIChat.from_settings(s, compatible=True)


def _extractive(s: Settings) -> Generator:
    from core.models.extractive import ExtractiveLLM

    return ExtractiveLLM()


def _fake(s: Settings) -> Generator:
    from core.models.fake import FakeLLM

    return FakeLLM()


Registry = dict[str, tuple[Callable[[Settings], Generator], str]]  # name -> (factory, description)

# The names are Settings' `LLMBackend` (tests/test_settings.py checks that each has an entry here);
# the page's backend list is this registry.
LLMS: Registry = {
    "embedded": (_embedded, "Qwen2.5-Coder-1.5B-Instruct Q4_K_M in-process (llama.cpp), offline, the default"),
    "openai": (_openai, "OpenAI's API (NEWSRAG_LLM_MODEL, OPENAI_API_KEY)"),
    "openai-compatible": (_openai_compatible, "any OpenAI-compatible server: vLLM, Ollama, LM Studio, llama.cpp (NEWSRAG_LLM_BASE_URL)"),
    "extractive": (_extractive, "no model: cites the best-matching sentences of the top passages, instant"),
    "fake": (_fake, "deterministic test double"),
}


def make_llm(settings: Settings, name: str | None = None) -> Generator:
    name = name or settings.llm
    if name not in LLMS:
        raise ConfigError(f"unknown LLM backend {name!r} (NEWSRAG_LLM); choose one of: {', '.join(LLMS)}")
    return LLMS[name][0](settings)
