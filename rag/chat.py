"""A chat session: follow-up questions over one-shot `answer()`.

A follow-up ("And what did the Kremlin say about it?") is condensed with the
recent history into a standalone question before retrieval: one short LLM
call (`GenerationRequest(purpose="condense")`). It is skipped when the message
already stands alone (`needs_context`), and replaced by a heuristic (the
message plus the previous question) when the backend has no real LLM
(`extractive`) or its rewrite is unusable. History is bounded by tokens
(`NEWSRAG_CHAT_HISTORY_TOKENS`: the oldest turns are dropped first, and the
answer's trace says how many under `history`); the standalone question is held
to `NEWSRAG_MAX_QUESTION_CHARS`. One-shot `answer()` stays stateless.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from datetime import date
from typing import Any

from core.filters import Filter
from core.text import estimated_tokens
from rag.engine import Engine
from core.models.base import GenerationRequest, Generator, as_generator
from rag.prompt import is_decline
from core.types import Answer
from rag.stream import AnswerStream
from core.names import names

log = logging.getLogger(__name__)

CONDENSE_SYSTEM = (
    "Rewrite the user's last question so it can be understood without the conversation: "
    "replace words like it, they, he, this or that with what they refer to. "
    "Keep its meaning. Reply with the rewritten question only."
)
CONDENSE_MAX_TOKENS = 48
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


def heuristic_condense(message: str, previous: str, limit: int | None = None) -> str:
    """No LLM to rewrite with: the message, with the previous question as context
    (cut so that the whole stays within `limit` characters)."""
    message, previous = message.strip(), previous.strip()
    if limit is not None:
        previous = previous[: max(0, limit - len(message) - len(" (follow-up to: )"))].strip()
    return f"{message} (follow-up to: {previous})" if previous else message


def clean_rewrite(text: str, message: str, limit: int | None = None) -> str | None:
    """The model's rewrite as a single question, or None when unusable (or over `limit` characters)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    q = re.sub(r"^(standalone|rewritten)?\s*(question)?\s*:\s*", "", lines[0], flags=re.I).strip().strip('"“”')
    if not re.search(r"[A-Za-z]", q) or is_decline(q) or re.search(r"\[\d+\]", q):
        return None
    if len(q) > max(300, 4 * len(message)) or (limit is not None and len(q) > limit):
        return None
    return q


class Chat:
    def __init__(
        self, engine: Engine | None = None, *, llm: Any = None, max_history_tokens: int | None = None,
        as_of: date | None = None, filters: Filter | None = None, mode: str | None = None,
    ) -> None:
        """`as_of`, `filters` and `mode` (the answer mode, see `Engine.stream`) hold for every question
        of the session (see `rag.answer`); `max_history_tokens` defaults to the engine's `NEWSRAG_CHAT_HISTORY_TOKENS`."""
        self.as_of = as_of
        self.filters = filters
        self.mode = mode
        if engine is None:
            from rag.api import default_engine

            engine = default_engine()
        self.engine = engine
        self.llm = llm
        self.max_history_tokens = max_history_tokens or engine.settings.chat_history_tokens
        self.history: list[tuple[str, Answer]] = []
        self.dropped = 0  # earlier turns no longer held (beyond the token budget)

    def stream(self, message: str, *, top_k: int | None = None) -> AnswerStream:
        """Condense and retrieve now; the stream yields the answer's text, then holds it."""
        given = self.dropped + len(self.history)
        kept = len(self.window())
        history = {"turns_given": given, "turns_kept": kept, "dropped": given - kept}
        t0 = time.perf_counter()
        standalone, how = self.condense(message)
        condense_s = time.perf_counter() - t0

        def finish(answer: Answer) -> Answer:
            answer = _with_condense(answer, how, condense_s, history)
            self._remember(message, answer)
            return answer

        return self.engine.stream(
            message, llm=self.llm, top_k=top_k, query=standalone, filters=self.filters, as_of=self.as_of, mode=self.mode
        ).then(finish)

    def ask(self, message: str, **kw: Any) -> Answer:
        return self.stream(message, **kw).answer

    def reset(self) -> None:
        self.history.clear()
        self.dropped = 0

    def condense(self, message: str) -> tuple[str, str]:
        """(standalone question, how it was made: none | standalone | llm | heuristic)."""
        if not self.history:
            return message, "none"
        if not needs_context(message):
            return message, "standalone"
        previous = self._previous_query()
        limit = self.engine.settings.max_question_chars
        gen = self._generator()
        if gen is None or gen.name == "extractive":
            return heuristic_condense(message, previous, limit), "heuristic"
        request = GenerationRequest(self._condense_messages(message), message, (), CONDENSE_MAX_TOKENS, purpose="condense")
        try:
            rewrite = clean_rewrite("".join(gen.stream(request)), message, limit)
        except Exception as e:  # a failed rewrite must not lose the question
            log.warning("condensing a follow-up failed (%s); using the heuristic", e)
            rewrite = None
        if rewrite is None:
            return heuristic_condense(message, previous, limit), "heuristic"
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
            cost = estimated_tokens(question + _plain(answer.text)) + 4
            if out and used + cost > self.max_history_tokens:
                break
            out.append((question, answer))
            used += cost
        return out[::-1]

    def _remember(self, message: str, answer: Answer) -> None:
        self.history.append((message, answer))
        drop = len(self.history) - len(self.window())
        self.dropped += drop
        del self.history[:drop]


def _plain(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text).strip()


def _with_condense(answer: Answer, how: str, seconds: float, history: dict[str, int] | None = None) -> Answer:
    """Condensing happens before the engine's clock starts: the reader waits for it too,
    so it is added to the first-token and total times. `history`: the earlier turns given,
    kept (within the token budget) and dropped."""
    timings = dict(answer.timings)
    if how in ("llm", "heuristic"):
        timings = {"condense_s": seconds, **{k: v + seconds if k in ("first_token_s", "total_s") else v for k, v in timings.items()}}
    trace = {**(answer.trace or {}), "condense": how, "timings": {k: round(v, 3) for k, v in timings.items()}}
    if history is not None:
        trace["history"] = history
    return replace(answer, timings=timings, trace=trace)
