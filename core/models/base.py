"""What an answering backend must do: stream text for a request.

A request carries both the chat messages (for LLMs) and the structured
question and passages (for the `extractive` backend, which has no model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, Sequence, runtime_checkable

from core.errors import BackendError

# What a generator replies when the passages do not answer the question (the prompt asks for it).
DECLINE = "NOT IN THE ARTICLES"


@dataclass(frozen=True)
class GenerationRequest:
    messages: list[dict[str, str]]
    question: str = ""
    passages: Sequence[Any] = field(default_factory=tuple)  # core.types.Passage
    max_tokens: int = 200
    purpose: str = "answer"  # or "condense" (follow-up rewriting), "revise" (a flagged answer's second try)
    # Filled in by backends that measure their own work (the embedded LLM: llama.cpp's per-request
    # timings: prompt tokens read and from cache, prompt and generation milliseconds). One dict per request.
    stats: dict[str, float] = field(default_factory=dict, compare=False)


@runtime_checkable
class Generator(Protocol):
    name: str

    def stream(self, request: GenerationRequest) -> Iterator[str]: ...


class LlamaIndexGenerator:
    """Adapts any llama-index LLM (`answer(q, llm=OpenAI(...))` works)."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self.name = f"llama-index:{type(llm).__name__}"

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        from llama_index.core.llms import ChatMessage

        msgs = [ChatMessage(role=m["role"], content=m["content"]) for m in request.messages]
        try:
            for chunk in self.llm.stream_chat(msgs):
                if chunk.delta:
                    yield chunk.delta
        except Exception as e:  # shown like any backend failure: a line in Answer.error, not a traceback
            detail = " ".join(str(e).split())[:200]
            raise BackendError(f"{self.name} failed: {type(e).__name__}: {detail}") from e


def as_generator(llm: Any) -> Generator:
    if isinstance(llm, Generator):
        return llm
    if hasattr(llm, "stream_chat"):
        return LlamaIndexGenerator(llm)
    raise TypeError(f"llm must be a newsrag Generator or a llama-index LLM, not {type(llm).__name__}")
