"""A deterministic LLM for tests: records every request, replies from a queue."""

from __future__ import annotations

from collections import deque
from typing import Callable, Iterator

from core.models.base import GenerationRequest


class FakeLLM:
    name = "fake"

    def __init__(self, replies: list[str] | None = None, default: str | Callable[[GenerationRequest], str] = "[1]") -> None:
        self.replies = deque(replies or [])
        self.default = default
        self.requests: list[GenerationRequest] = []

    def queue(self, *replies: str) -> "FakeLLM":
        self.replies.extend(replies)
        return self

    @property
    def last_prompt(self) -> str:
        return "\n".join(m["content"] for m in self.requests[-1].messages)

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        self.requests.append(request)
        if self.replies:
            reply = self.replies.popleft()
        else:
            reply = self.default(request) if callable(self.default) else self.default
        # Word-sized pieces, like a real stream.
        for i, word in enumerate(reply.split(" ")):
            yield word if i == 0 else " " + word
