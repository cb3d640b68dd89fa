"""The OpenAI-compatible API's shapes: messages in, a chat with history; an Answer out.

Pure functions, tested without a server. The reply's content is the answer
with its `[n]` markers followed by a short sources list; the top-level
`citations` array carries, for each n, the title, source, date, URL and quote;
the `newsrag` object carries `answerable`, `unsupported` and `freshness`, and
`mode` with a story answer's `timeline` (its dated events). A request may ask
for an answer mode with `"newsrag": {"mode": "timeline"}` (`requested_mode`).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Iterable

from core.types import Answer, TimelineEvent
from rag.chat import Chat
from rag.citations import parse_citations
from rag.engine import Engine
from rag.prompt import is_decline

MODEL_ID = "newsrag"
SOURCES_HEADING = "\n\nSources:\n"
REVISED_NOTE = "\n\nChecked against the passages, the answer reads:\n\n"


def message_text(content: Any) -> str:
    """A message's text: a string, or OpenAI's typed parts ([{"type": "text", "text": ...}])."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type", "text") == "text")
    return ""


def answer_part(content: str) -> str:
    """An earlier assistant reply without its sources list or correction note: what the answer said."""
    text = content.split(SOURCES_HEADING, 1)[0]
    if REVISED_NOTE in text:
        text = text.split(REVISED_NOTE, 1)[1]
    return text.strip()


def chat_from_messages(engine: Engine, messages: list[dict[str, Any]], mode: str | None = None) -> tuple[Chat, str]:
    """A `Chat` holding the earlier user/assistant turns as its history, and the last user message.

    System messages are ignored (the answering prompt is newsrag's own). A user turn without an
    assistant reply after it stays in the history as a question without an answer."""
    turns = [(m.get("role"), message_text(m.get("content")).strip()) for m in messages]
    chat = Chat(engine, mode=mode)
    pending: str | None = None
    for role, text in turns[:-1]:
        if role == "user":
            if pending:
                chat.history.append((pending, _replayed(pending, "")))
            pending = text
        elif role == "assistant" and pending is not None:
            chat.history.append((pending, _replayed(pending, answer_part(text))))
            pending = None
    if pending:
        chat.history.append((pending, _replayed(pending, "")))
    # all of it: the chat reads only the turns within NEWSRAG_CHAT_HISTORY_TOKENS, and its trace says how many it dropped
    return chat, turns[-1][1] if turns else ""


def _replayed(question: str, text: str) -> Answer:
    answerable = bool(text) and not is_decline(text)
    return Answer(question, text, answerable, trace={"standalone_query": question})


def citations(answer: Answer) -> list[dict[str, Any]]:
    by_n = {p.n: p for p in answer.passages}
    out = []
    for c in answer.citations:
        p = by_n.get(c.passage)
        out.append({
            "n": c.n, "title": c.title, "source": c.source, "date": c.date, "url": p.url if p else "",
            "quote": c.quote, "article_id": c.article_id,
        })
    return out


def sources_list(answer: Answer) -> str:
    lines = []
    for c in citations(answer):
        where = ", ".join(x for x in (c["source"], c["date"]) if x)
        lines.append(f"[{c['n']}] {c['title'] or '(untitled)'}" + (f" — {where}" if where else "") + (f" <{c['url']}>" if c["url"] else ""))
    return SOURCES_HEADING + "\n".join(lines) if lines else ""


def content(answer: Answer) -> str:
    return answer.text + sources_list(answer)


def extras(answer: Answer) -> dict[str, Any]:
    return {
        "answerable": answer.answerable,
        "unsupported": [{"sentence": u.sentence, "reason": u.reason} for u in answer.unsupported],
        "freshness": answer.freshness or None,
        "as_of": answer.as_of or None,
        "mode": answer.mode,
        "timeline": [timeline_event(e) for e in answer.timeline],
    }


def timeline_event(e: TimelineEvent) -> dict[str, Any]:
    """One event of a story answer: its day, its sentence, the outlets that reported it, its passage."""
    cited = [{"title": c.title, "source": c.source, "date": c.date, "url": c.url, "quote": c.quote, "article_id": c.article_id}
             for c in e.citations]
    return {"date": e.date, "text": e.text, "outlets": list(e.outlets), "story": e.story, "citations": cited}


def requested_mode(extra: dict[str, Any] | None, modes: Iterable[str]) -> str | None:
    """The answer mode a request's `"newsrag": {"mode": ...}` asks for; None for "auto" (the default:
    the question's words decide). ValueError names the choices."""
    asked = (extra or {}).get("newsrag") or {}
    choices = ["auto", *modes]
    mode = asked.get("mode") or "auto" if isinstance(asked, dict) else None
    if mode not in choices:
        raise ValueError(f'"newsrag": {{"mode": ...}} must be one of {", ".join(map(repr, choices))}, not {mode!r}')
    return None if mode == "auto" else str(mode)


def completion(answer: Answer, cid: str | None = None) -> dict[str, Any]:
    """A non-streamed `chat.completion`."""
    return {
        "id": cid or new_id(), "object": "chat.completion", "created": int(time.time()), "model": MODEL_ID,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content(answer)}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": citations(answer),
        "newsrag": extras(answer),
    }


def chunk(cid: str, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    """One streamed `chat.completion.chunk`."""
    return {
        "id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra,
    }


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


class LiveText:
    """The model's pieces as the reader should see them while they stream: citation markers
    renumbered in order of first use, as the final Answer numbers them.

    Text is released up to the last space outside an open `[`, so a marker is never split.
    `finish(answer)` returns what is left to send: the rest of the final text when it
    continues what was sent, else a note and the final (verified or revised) text.
    """

    def __init__(self, n_passages: int) -> None:
        self.n = n_passages
        self.raw = ""
        self.sent = ""

    def feed(self, piece: str) -> str:
        self.raw += piece
        cut = self.raw.rfind(" ")
        opened = self.raw.rfind("[")
        if opened > self.raw.rfind("]"):
            cut = min(cut, opened - 1)
        if cut <= 0:
            return ""
        shown = parse_citations(self.raw[:cut], self.n).text
        if not shown.startswith(self.sent):
            return ""
        delta, self.sent = shown[len(self.sent):], shown
        return delta

    def finish(self, answer: Answer) -> str:
        final = answer.text
        if final.startswith(self.sent):
            rest = final[len(self.sent):]
        else:
            rest = REVISED_NOTE + final if self.sent.strip() else final
        return rest + sources_list(answer)
