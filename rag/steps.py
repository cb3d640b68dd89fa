"""Answering as a list of steps over one state, the way retrieval is a list of stages.

The default list, built by `rag.factory.answer_steps` from Settings:

    gate        decline at once when nothing retrieved is about the question
    context     keep only the question's sentences of the passages, under a token budget
    prompt      the messages the model reads
    generate    stream the model's answer; parse its citations
    verify      is each sentence backed by the passage it cites? (no LLM call)
    revise      a flagged answer gets one more try; the one with fewer flags is kept
    freshness   how current the answer is, in one line

A step is a class with a `name`, `closing` and `__call__(state)`. It reads and writes the
`AnswerState` and writes its own typed part of the trace; a step that streams
returns an iterator of text pieces. A step that settles the answer early (a
decline, a failed backend) sets `state.settled`: the steps after it are
skipped, except those marked `closing` (freshness), which every answer gets.
Another answer mode is another list over the same retrieval.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Protocol

from core.errors import NewsragError
from core.models.base import GenerationRequest, Generator
from core.types import Answer, Passage, Revision, TimelineEvent
from rag.citations import make_citation, parse_citations, sentences_with_citations
from rag.context import ContextConfig, select_context
from rag.freshness import freshness
from rag.gate import relevance_gate
from rag.prompt import PROMPT_TOKENS_METHOD, build_messages, is_decline, prompt_tokens, revision_messages
from rag.retrieve import Query
from rag.verify import about_passages

log = logging.getLogger(__name__)

DECLINED = "The articles don't say. The closest passages are shown below."
Verifier = Callable[[Answer], Answer]


# --- each step's part of the trace


@dataclass
class GateTrace:
    best_dense_score: float
    min_relevance: float
    passed: bool
    reason: str
    declined_by: str | None  # "relevance" (this gate), "model" (the model declined), None


@dataclass
class PromptTrace:
    prompt_tokens: int
    prompt_tokens_method: str = PROMPT_TOKENS_METHOD


@dataclass
class StepTraces:
    gate: GateTrace | None = None
    context: dict[str, Any] | None = None  # what context selection kept (rag.context.select_context)
    prompt: PromptTrace | None = None
    llm: dict[str, float] | None = None  # the backend's own counts and rates (llama.cpp's timings)


@dataclass
class AnswerState:
    """What the steps share while one answer is made."""

    question: str  # as the reader asked it (the Answer keeps it)
    query: Query  # what retrieval ran: the standalone question, its as-of date and window
    retrieved: tuple[Passage, ...]  # as retrieval returned them (shown before the first word)
    model: Callable[[], Generator]  # the backend for this answer, loaded on first use
    t0: float  # when the question arrived (perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)  # what the model reads
    gen: Generator | None = None
    request: GenerationRequest | None = None
    raw: str = ""  # the model's text as written
    answer: Answer | None = None
    settled: bool = False
    trace: StepTraces = field(default_factory=StepTraces)
    timeline: tuple[TimelineEvent, ...] = ()  # a story answer's events (rag/timeline.py)

    def __post_init__(self) -> None:
        self.passages = self.passages or list(self.retrieved)

    def settle(self, answer: Answer) -> None:
        self.timings["total_s"] = time.perf_counter() - self.t0
        self.answer = replace(answer, timings=self.timings)
        self.settled = True

    def fail(self, message: str, model: str = "") -> None:
        """A backend failed: the answer names the fix and keeps the retrieved passages."""
        self.settle(Answer(self.question, "", False, passages=self.retrieved, model=model, error=message))


class Step(Protocol):
    name: str
    closing: bool  # runs even when an earlier step settled the answer
    # (optional) eager: True for a cheap step that runs when the stream is made, before the first
    # word is asked for, so its results (a timeline's events) can be shown at once

    def __call__(self, state: AnswerState) -> Iterable[str] | None: ...


# --- the steps


class Gate:
    name, closing = "gate", False

    def __init__(self, min_relevance: float, common: Callable[[str], bool] | None) -> None:
        self.min_relevance, self.common = min_relevance, common

    def __call__(self, state: AnswerState) -> None:
        asked = state.query.text
        if state.query.window is not None and state.query.window.phrase:  # "since March 8" names no one
            asked = asked.replace(state.query.window.phrase, " ")
        gate = relevance_gate(asked, state.passages, self.min_relevance, self.common)
        state.trace.gate = GateTrace(
            round(gate.best_dense, 4), self.min_relevance, gate.passed, gate.reason, None if gate.passed else "relevance",
        )
        if not gate.passed:
            state.settle(Answer(state.question, DECLINED, False, passages=state.retrieved, model="gate"))


class LoadModel:
    """The backend, loaded before any other work: a backend that cannot load fails the answer
    with the passages as retrieved."""

    name, closing = "model", False

    def __call__(self, state: AnswerState) -> None:
        try:
            state.gen = state.model()
        except NewsragError as e:
            state.fail(str(e))


class Context:
    name, closing = "context", False

    def __init__(self, config: ContextConfig) -> None:
        self.config = config

    def __call__(self, state: AnswerState) -> None:
        t1 = time.perf_counter()
        state.passages, state.trace.context = select_context(state.query.text, state.passages, self.config)
        state.timings["context_s"] = time.perf_counter() - t1


class Prompt:
    name, closing = "prompt", False

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens

    def __call__(self, state: AnswerState) -> None:
        messages = build_messages(state.query.text, state.passages, state.query.as_of)
        state.trace.prompt = PromptTrace(prompt_tokens(messages))
        state.request = GenerationRequest(messages, state.query.text, tuple(state.passages), self.max_tokens)


class Generate:
    """Streams the model's answer as it is written, then parses its citations."""

    name, closing = "generate", False

    def __call__(self, state: AnswerState) -> Iterable[str]:
        assert state.request is not None, "the prompt step runs before generate"
        if state.gen is None:
            LoadModel()(state)
            if state.gen is None:
                return
        gen = state.gen
        pieces: list[str] = []
        try:
            for piece in gen.stream(state.request):
                if not pieces:
                    state.timings["first_token_s"] = time.perf_counter() - state.t0
                pieces.append(piece)
                yield piece
        except NewsragError as e:
            state.fail(str(e), gen.name)
            return
        state.timings["generation_s"] = time.perf_counter() - state.t0 - state.timings.get("retrieval_s", 0.0)
        stats = state.request.stats
        for key in ("prompt_read_s", "decode_s"):
            if key in stats:
                state.timings[key] = stats[key]
        if stats:
            state.trace.llm = {k: round(v, 2) for k, v in stats.items() if not k.endswith("_s")}
        state.raw = "".join(pieces).strip()
        state.answer = build_answer(state.question, state.raw, list(state.request.passages), state.timings, gen.name)
        if not state.answer.answerable and state.trace.gate is not None:
            state.trace.gate.declined_by = "model"


class Verify:
    name, closing = "verify", False

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier

    def __call__(self, state: AnswerState) -> None:
        if state.answer is None or not state.answer.answerable:
            return
        t1 = time.perf_counter()
        state.answer = self.verifier(state.answer)
        state.timings["verify_s"] = time.perf_counter() - t1


class Revise:
    """Show the model what the verifier flagged and ask once more; keep whichever answer has
    fewer flagged sentences (a decline, an empty reply or a reply about the passages never
    replaces the draft). Not streamed: the reader saw the draft stream, and the final Answer
    replaces it."""

    name, closing = "revise", False

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier

    def __call__(self, state: AnswerState) -> None:
        draft = state.answer
        if draft is None or not draft.answerable or not draft.unsupported or state.request is None or state.gen is None:
            return
        t1 = time.perf_counter()
        messages = revision_messages(state.request.messages, state.raw, [u.reason for u in draft.unsupported])
        try:
            text = "".join(state.gen.stream(replace(state.request, messages=messages, purpose="revise", stats={}))).strip()
        except NewsragError as e:
            log.warning("revising the answer failed (%s): the first answer stands", e)
            text = ""
        second = build_answer(draft.question, text, list(draft.passages), draft.timings, draft.model)  # "" -> a decline
        if second.answerable:
            second = self.verifier(second)
        kept = (second.answerable and _says_something(second.text) and not about_passages(second.text)
                and len(second.unsupported) < len(draft.unsupported))
        revision = Revision(draft.text, draft.unsupported, second.text if text else "", kept)
        state.answer = replace(second if kept else draft, revision=revision)
        state.timings["revise_s"] = time.perf_counter() - t1


class Freshness:
    """How current the sources are, in one line: on every answer, declines too. A story answer's
    sources are its events, each cited on its own line, not only those its overview names."""

    name, closing = "freshness", True

    def __call__(self, state: AnswerState) -> None:
        a = state.answer
        if a is None:
            return
        shown = a
        if state.timeline and a.answerable:
            shown = replace(a, citations=tuple(e.citations[0] for e in state.timeline), passages=tuple(state.passages))
        state.answer = replace(a, freshness=freshness(shown, state.query.window))


def _says_something(text: str) -> bool:
    """More than citation markers and punctuation (the 1.5B model sometimes replies "[1]" alone)."""
    return re.search(r"\w", re.sub(r"\[[^\]]*\]", "", text)) is not None


def build_answer(question: str, raw: str, passages: list[Passage], timings: dict[str, float], model: str) -> Answer:
    """Turn the model's raw text into an Answer with parsed, renumbered citations."""
    if not raw or is_decline(raw):
        return Answer(question, DECLINED, False, passages=tuple(passages), timings=timings, model=model)
    parsed = parse_citations(raw, len(passages))
    claims = sentences_with_citations(parsed.text)
    citations = []
    for new_n, passage_n in enumerate(parsed.order, 1):
        claim = " ".join(s for s, nums in claims if new_n in nums)
        citations.append(make_citation(new_n, passages[passage_n - 1], claim or question))
    return Answer(
        question, parsed.text, True, citations=tuple(citations), passages=tuple(passages), timings=timings, model=model,
        dropped_citations=parsed.dropped,
    )
