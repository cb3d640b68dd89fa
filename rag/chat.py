"""A chat session: follow-up questions over one-shot `answer()`.

A follow-up ("And what did the Kremlin say about it?") is condensed with the
recent history into a standalone question before retrieval: one short LLM
call (`GenerationRequest(purpose="condense")`). It is skipped when the message
already stands alone (`needs_context`), and replaced by a heuristic (the
message plus the previous question) when the backend has no real LLM
(`extractive`) or its rewrite is unusable. History is bounded by tokens;
one-shot `answer()` stays stateless.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from datetime import date
from typing import Any

from core.filters import Filter
from rag.engine import Engine
from core.models.base import GenerationRequest, Generator, as_generator
from rag.prompt import is_decline
from core.types import Answer
from rag.stream import AnswerStream
from rag.verify import names

log = logging.getLogger(__name__)

CONDENSE_SYSTEM = (
    "Rewrite the user's last question so it can be understood without the conversation: "
    "replace words like it, they, he, this or that with what they refer to. "
    "Keep its meaning. Reply with the rewritten question only."
)
CONDENSE_MAX_TOKENS = 48
CHARS_PER_TOKEN = 4.7  # as rag.prompt.prompt_tokens
_REFERRING = frozenset("it its they them their theirs he him his she her hers this these those such same former latter".split())
_CUES = re.compile(r"^\s*(and|but|also|so|then|what about|how about|what else|anything else|why|and why|more on)\b", re.I)


def needs_context(message: str) -> bool:
    """Whether `message` leans on earlier turns (so must be condensed before retrieval).

    Cheap and conservative: a continuation cue ("And ...", "What about ..."), a
    very short message without a name, or a pronoun that nothing named in the
    message can refer to (or that ends it: "... about it?").
    """
    if _CUES.search(message):
        return True
    words = re.findall(r"[\w'’-]+", message)
    if len(words) <= 3 and not names(message):
        return True
    lowered = [w.lower() for w in words]
    for i, w in enumerate(lowered):
        ending = i >= len(words) - 2
        if w in _REFERRING or (w in ("that", "there", "then") and i == len(words) - 1):
            if ending or not names(" ".join(words[:i])):
                return True
    return False


def heuristic_condense(message: str, previous: str) -> str:
    """No LLM to rewrite with: the message, with the previous question as context."""
    return f"{message.strip()} (follow-up to: {previous.strip()})" if previous else message.strip()


def clean_rewrite(text: str, message: str) -> str | None:
    """The model's rewrite as a single question, or None when unusable."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    q = re.sub(r"^(standalone|rewritten)?\s*(question)?\s*:\s*", "", lines[0], flags=re.I).strip().strip('"“”')
    if not re.search(r"[A-Za-z]", q) or is_decline(q) or re.search(r"\[\d+\]", q):
        return None
    if len(q) > max(300, 4 * len(message)):
        return None
    return q


class Chat:
    def __init__(
        self, engine: Engine | None = None, *, llm: Any = None, max_history_tokens: int = 1000,
        as_of: date | None = None, filters: Filter | None = None,
    ) -> None:
        """`as_of` and `filters` hold for every question of the session (see `rag.answer`)."""
        self.as_of = as_of
        self.filters = filters
        if engine is None:
            from rag.api import default_engine

            engine = default_engine()
        self.engine = engine
        self.llm = llm
        self.max_history_tokens = max_history_tokens
        self.history: list[tuple[str, Answer]] = []

    def stream(self, message: str, *, top_k: int | None = None) -> AnswerStream:
        """Condense and retrieve now; the stream yields the answer's text, then holds it."""
        t0 = time.perf_counter()
        standalone, how = self.condense(message)
        condense_s = time.perf_counter() - t0

        def finish(answer: Answer) -> Answer:
            answer = _with_condense(answer, how, condense_s)
            self._remember(message, answer)
            return answer

        return self.engine.stream(
            message, llm=self.llm, top_k=top_k, query=standalone, filters=self.filters, as_of=self.as_of
        ).then(finish)

    def ask(self, message: str, **kw: Any) -> Answer:
        return self.stream(message, **kw).answer

    def reset(self) -> None:
        self.history.clear()

    def condense(self, message: str) -> tuple[str, str]:
        """(standalone question, how it was made: none | standalone | llm | heuristic)."""
        if not self.history:
            return message, "none"
        if not needs_context(message):
            return message, "standalone"
        previous = self._previous_query()
        gen = self._generator()
        if gen is None or gen.name == "extractive":
            return heuristic_condense(message, previous), "heuristic"
        request = GenerationRequest(self._condense_messages(message), message, (), CONDENSE_MAX_TOKENS, purpose="condense")
        try:
            rewrite = clean_rewrite("".join(gen.stream(request)), message)
        except Exception as e:  # a failed rewrite must not lose the question
            log.warning("condensing a follow-up failed (%s); using the heuristic", e)
            rewrite = None
        if rewrite is None:
            return heuristic_condense(message, previous), "heuristic"
        return rewrite, "llm"

    def _generator(self) -> Generator | None:
        try:
            return as_generator(self.llm) if self.llm is not None else self.engine.llm
        except Exception as e:
            log.warning("no LLM to condense with (%s)", e)
            return None

    def _previous_query(self) -> str:
        message, answer = self.history[-1]
        return str((answer.trace or {}).get("standalone_query") or message)

    def _condense_messages(self, message: str) -> list[dict[str, str]]:
        lines = []
        for question, answer in self.window():
            lines.append(f"User: {question}")
            if answer.answerable:
                lines.append(f"Assistant: {_plain(answer.text)}")
        user = "Conversation:\n" + "\n".join(lines) + f"\n\nLast question: {message}\nRewritten question:"
        return [{"role": "system", "content": CONDENSE_SYSTEM}, {"role": "user", "content": user}]

    def window(self) -> list[tuple[str, Answer]]:
        """The most recent turns that fit in `max_history_tokens` (at least the last one)."""
        out: list[tuple[str, Answer]] = []
        used = 0.0
        for question, answer in reversed(self.history):
            cost = (len(question) + len(_plain(answer.text))) / CHARS_PER_TOKEN + 4
            if out and used + cost > self.max_history_tokens:
                break
            out.append((question, answer))
            used += cost
        return out[::-1]

    def _remember(self, message: str, answer: Answer) -> None:
        self.history.append((message, answer))
        keep = len(self.window())
        del self.history[: len(self.history) - keep]


def _plain(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text).strip()


def _with_condense(answer: Answer, how: str, seconds: float) -> Answer:
    """Condensing happens before the engine's clock starts: the reader waits for it too,
    so it is added to the first-token and total times."""
    timings = dict(answer.timings)
    if how in ("llm", "heuristic"):
        timings = {"condense_s": seconds, **{k: v + seconds if k in ("first_token_s", "total_s") else v for k, v in timings.items()}}
    trace = {**(answer.trace or {}), "condense": how, "timings": {k: round(v, 3) for k, v in timings.items()}}
    return replace(answer, timings=timings, trace=trace)
