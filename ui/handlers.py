"""What the page's events do: plain methods over the injected engine and settings.

The layout (`ui.app.create_app`) wires these to Gradio events. Each browser
session keeps a `Session` in a `gr.State`: its own `rag.chat.Chat` (the
follow-up context) and its answers, numbered as turns. The engine, the store
and the models are shared by every session of the process.
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime
from dataclasses import dataclass, field
from typing import Any, Iterator

from rag.chat import Chat
from rag.engine import Engine
from core.errors import ConfigError, NewsragError
from core.filters import Filter
from core.settings import Settings
from core.types import Answer, Passage
from store import space
from ui import corpus, visits
from ui.access import Access, Limiter, question_too_long
from ui.backends import Backends, Registry, key_status
from ui.html import (
    answer_html, message_html, pending_sources_html, plain_text, report_html, sources_html, streaming_html, trace_html,
)

log = logging.getLogger(__name__)


@dataclass
class Session:
    """One browser session: its follow-up context and its answers (numbered turns)."""

    chat: Chat
    answers: list[Answer] = field(default_factory=list)
    retrieved: dict[int, tuple[Passage, ...]] = field(default_factory=dict)  # turn -> its passages (a story's event cards)

    @property
    def last(self) -> Answer | None:
        return self.answers[-1] if self.answers else None


class Page:
    def __init__(self, engine: Engine, settings: Settings, llms: Registry | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.backends = Backends(engine, settings, llms)
        self.uploads = settings.home / "uploads"
        self.access = Access(settings)
        self.limiter = Limiter(settings.max_session_queue, settings.max_queue)

    # --- chat: outputs are (chatbot, question box, sources, trace, copy text, session)
    def respond(
        self, message: str, history: list[dict[str, Any]] | None, session: Session | None,
        backend: str | None = None, model: str | None = None, top_k: float | None = None,
        as_of: Any = None, since: Any = None, until: Any = None, sources: str | None = None, client: str | None = None,
        mode: str | None = None, last_visit: str | None = None, user: str | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """`as_of`, `since`, `until`, `sources`: the *When and where* panel.
        `client`: whose share of the queue (the login, else Gradio's session hash), for the per-session limit.
        `user`: the logged-in user; a reader gets the server's backend and model (`Backends.get(reader=True)`).
        `mode`: a label of MODES (default Auto); `last_visit`: the reader's last visit (ISO day, `Page.visit`)."""
        session = session or Session(Chat(self.engine))
        history = list(history or [])
        message = (message or "").strip()
        if not message:
            yield self._turn(history, session)
            return
        refused = question_too_long(message, self.settings) or self.limiter.acquire(client or str(id(session)))
        if refused:  # the question is not asked; the box keeps it so it can be shortened
            history += [{"role": "user", "content": message[:200] + ("…" if len(message) > 200 else "")},
                        {"role": "assistant", "content": message_html(refused[0].upper() + refused[1:] + ".")}]
            yield history, message, *self._turn(history, session)[2:]
            return
        try:
            when = (as_of, since, until, sources)
            yield from self._respond(message, history, session, backend, model, top_k, when, MODES.get(mode or "", None), last_visit, user)
        finally:
            self.limiter.release(client or str(id(session)))

    def _respond(
        self, message: str, history: list[dict[str, Any]], session: Session, backend: str | None, model: str | None,
        top_k: float | None, when: tuple[Any, Any, Any, str | None], mode: str | None = None, last_visit: str | None = None,
        user: str | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        import gradio as gr

        history += [{"role": "user", "content": message}, {"role": "assistant", "content": streaming_html("")}]
        yield self._turn(history, session)
        text = ""
        try:
            session.chat.llm = self.backends.get(backend, model, reader=not self.access.can_edit(user))
            as_of, since, until, sources = when
            session.chat.as_of = page_date(as_of, "As of")
            session.chat.filters = Filter(page_date(since, "Since"), page_date(until, "Until"), tuple(_outlets(sources)))
            asked = message
            if visits.asks_since_last_visit(message):  # a timeline from the reader's last visit on
                asked, mode = visits.with_last_visit(message, page_date(last_visit, "Last visit")), "timeline"
            session.chat.mode = mode
            stream = session.chat.stream(asked, top_k=int(top_k) if top_k else None)
            # the passages (a story's events) are known before the model starts: show them at once
            turn, events = len(session.answers) + 1, stream.timeline
            pending = pending_sources_html(asked, stream.passages, session.answers, events, session.retrieved)
            if events:
                history[-1] = {"role": "assistant", "content": streaming_html("", events, turn)}
            yield history, gr.skip(), pending, gr.skip(), gr.skip(), session
            for piece in stream:  # only the chat changes while the text streams in
                text += piece
                history[-1] = {"role": "assistant", "content": streaming_html(text, events, turn)}
                yield history, gr.skip(), gr.skip(), gr.skip(), gr.skip(), session
            session.retrieved[turn] = stream.passages
            session.answers.append(stream.answer)
            history[-1] = {"role": "assistant", "content": answer_html(stream.answer, len(session.answers))}
            yield self._turn(history, session)
        except NewsragError as e:
            history[-1] = {"role": "assistant", "content": message_html(str(e))}
            yield self._turn(history, session)
        except Exception as e:  # the page shows a message, the log keeps the traceback
            full = space.explain(e, self.settings.home, then="ask again", writing=False)
            if full is None:
                log.exception("answering %r failed", message)
            text = str(full) if full else f"Something went wrong while answering ({type(e).__name__}: {e})."
            history[-1] = {"role": "assistant", "content": message_html(text)}
            yield self._turn(history, session)

    def _turn(self, history: list[dict[str, Any]], session: Session) -> tuple[Any, ...]:
        return history, "", sources_html(session.answers, session.retrieved), trace_html(session.last), plain_text(session.last), session

    def clear(self, session: Session | None) -> tuple[Any, ...]:
        if session is not None:
            session.chat.reset()
            session.answers.clear()
            session.retrieved.clear()
        return [], "", sources_html([]), trace_html(None), "", session

    # --- corpus: outputs are (summary, table, remove dropdown, example questions, status line)
    def corpus_view(self) -> tuple[Any, ...]:
        """The store at a glance, and its first page of articles (newest first, no filter)."""
        import gradio as gr

        store = self.engine.store
        n, chunks = store.manifest.count(), store.chunks.count()
        summary = f"**{n:,} articles** in the store ({chunks:,} chunks)." if n else "**The store is empty.** Add articles below."
        rows, _ = store.manifest.search(corpus.corpus_query("", [], "", "", "", 1))
        questions = corpus.example_questions(rows)
        return (
            summary,
            corpus.article_rows(rows),
            gr.Dropdown(choices=corpus.article_choices(rows), value=None),
            gr.Dataset(samples=[[q] for q in questions], visible=bool(questions)),
            self.status_line(n),
        )

    def outlet_choices(self, chosen: list[str] | None = None) -> Any:
        import gradio as gr

        outlets = self.engine.store.manifest.outlets()
        return gr.Dropdown(choices=[(f"{o} ({k:,})", o) for o, k in outlets], value=[c for c in chosen or [] if c in dict(outlets)])

    # --- corpus search: outputs are (table, count line, remove dropdown, page number)
    def search(
        self, grep: str | None, outlets: list[str] | None, since: str | None, until: str | None, sort: str | None, page: float | None = 1,
        story: str | None = None,
    ) -> tuple[Any, ...]:
        """One page of the articles matching the Corpus tab's controls, and how many match.
        `story`: a story's id (the story filter; empty = all articles)."""
        import gradio as gr

        try:
            q = corpus.corpus_query(grep, outlets, since, until, sort, int(page or 1))
        except ValueError:
            return gr.skip(), "Dates are written YYYY-MM-DD, e.g. 2026-01-28.", gr.skip(), gr.skip()
        store = self.engine.store
        rows, total = corpus.story_page(store, q, story) if story else store.manifest.search(q)
        last = max(1, (total + corpus.PAGE_SIZE - 1) // corpus.PAGE_SIZE)
        if q.offset and not rows and total:  # past the end (the corpus shrank): show the last page
            return self.search(grep, outlets, since, until, sort, last, story)
        filtered = bool(q.grep or q.sources or q.since or q.until or story)
        page_no = q.offset // corpus.PAGE_SIZE + 1
        return (
            corpus.article_rows(rows),
            corpus.count_line(total, page_no, len(rows), filtered),
            gr.Dropdown(choices=corpus.article_choices(rows), value=None),
            page_no,
        )

    def story_choices(self, chosen: str | None = None) -> Any:
        """The story filter's choices (newest stories first); a chosen story that is gone falls back to all."""
        import gradio as gr

        choices = corpus.story_choices(self.engine.store.stories.list(limit=corpus.STORY_CHOICES))
        return gr.Dropdown(choices=choices, value=chosen if chosen in {v for _, v in choices} else "")

    # --- visits: the browser keeps the reader's last visit (ui.visits)
    def visit(self, stored: Any) -> tuple[dict[str, str], str | None, str]:
        """On opening the page: (what the browser keeps now, the last visit as an ISO day, the line shown)."""
        kept, last = visits.record(stored, self.engine.as_of or date.today())
        return kept, last.isoformat() if last else None, visits.note(last)

    def add_urls(self, text: str | None, progress: Any = None, user: str | None = None) -> tuple[Any, ...]:
        if not self.access.can_edit(user):
            return (message_html(self.access.refusal(user)), *self.corpus_view())
        if not (text or "").strip():
            return (message_html("Paste one or more URLs of pages or RSS/Atom feeds first.", "empty"), *self.corpus_view())

        def on_file(i: int, n: int, name: str) -> None:
            if progress is not None:
                progress((i, n), desc=f"Fetching {name[:80]}", unit="pages")

        try:
            report = corpus.ingest_urls(text or "", self.engine.store, self.engine.embedder, self.settings, on_file)
        except NewsragError as e:
            return (message_html(str(e)), *self.corpus_view())
        return (report_html(report), *self.corpus_view())

    def status_line(self, n_articles: int) -> str:
        return f"{n_articles} articles in the store · answers by the **{self.settings.llm}** backend unless you pick another in *Settings*."

    def add_files(self, files: list[Any] | None, progress: Any = None, user: str | None = None) -> tuple[Any, ...]:
        """`user`: the logged-in user (Gradio's `request.username`); only editors may add."""
        if not self.access.can_edit(user):
            return (message_html(self.access.refusal(user)), *self.corpus_view())
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        if not paths:
            return (message_html("Choose one or more files first.", "empty"), *self.corpus_view())
        if len(paths) > self.settings.max_upload_files:
            note = (f"{len(paths)} files is more than one upload may add ({self.settings.max_upload_files}, NEWSRAG_MAX_UPLOAD_FILES): "
                    "upload them in smaller batches.")
            return (message_html(note), *self.corpus_view())
        saved = corpus.save_uploads(paths, self.uploads, int(self.settings.max_file_mb * 2**20))

        def on_file(i: int, n: int, path: str) -> None:
            if progress is not None:
                progress((i, n), desc=f"Embedding {os.path.basename(path)}", unit="files")

        try:
            report = corpus.ingest_uploads(saved, self.engine.store, self.engine.embedder, self.settings, on_file)
        except NewsragError as e:
            return (message_html(str(e)), *self.corpus_view())
        return (report_html(report), *self.corpus_view())

    def remove_article(self, article_id: str | None, user: str | None = None) -> tuple[Any, ...]:
        from ingest import remove

        if not self.access.can_edit(user):
            return (message_html(self.access.refusal(user)), *self.corpus_view())
        if not article_id:
            return (message_html("Pick an article to remove.", "empty"), *self.corpus_view())
        try:
            removed = remove([article_id], self.engine.store)
        except NewsragError as e:
            return (message_html(str(e)), *self.corpus_view())
        note = f"Removed {len(removed)} article." if removed else "That article was already gone."
        return (message_html(note, "report"), *self.corpus_view())

    def add_watch(self, history: list[dict[str, Any]] | None, user: str | None = None) -> str:
        """A watch on the conversation's last question (editors only: a watch runs and delivers for everyone)."""
        from store.watchlist import Watchlist

        if not self.access.can_edit(user):
            return self.access.refusal(user)
        asked = next((_message_text(m.get("content")) for m in reversed(history or []) if isinstance(m, dict) and m.get("role") == "user"), "")
        if not asked.strip():
            return "Ask something first: a watch saves the conversation's last question."
        w = Watchlist(self.settings.home).add(asked.strip(), [("atom", "")])
        return (f"Watching “{w.topic}” (watch `{w.id}`): after each ingest its new events go to `/watches/{w.id}.atom` "
                "on `newsrag serve`; `newsrag watch list` shows it.")

    def backend_controls(self, user: str | None = None) -> tuple[Any, ...]:
        """The backend dropdown and the model name as this user may use them: a reader picks among the
        reader's backends only, and cannot name a model (the server checks again on every answer)."""
        import gradio as gr

        editor = self.access.can_edit(user)
        return gr.update(choices=self.backends.choices(editor=editor), value=self.settings.llm), gr.update(interactive=editor)

    def editor_controls(self, user: str | None = None) -> tuple[Any, ...]:
        """The upload, add-by-URL and remove controls, shown to editors only (the server checks again on use)."""
        import gradio as gr

        show = self.access.can_edit(user)
        return tuple(gr.update(visible=show) for _ in range(5))

    # --- settings
    def describe_backend(self, name: str | None) -> str:
        name = name or self.settings.llm
        return f"{self.backends.describe(name)}. For hosted backends: {key_status(self.settings)}; keys come only from the environment or `.env`."


MODES = {"Auto": None, "Fact": "factoid", "Timeline": "timeline"}  # the page's answer-mode switch -> Engine.stream(mode=)


def page_date(value: Any, label: str) -> date | None:
    """A date from the page's date control (a "YYYY-MM-DD" string, a timestamp, or empty)."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value).date()
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ConfigError(f"{label}: {value!r} is not a date; pick one or write it as YYYY-MM-DD") from None


def _message_text(content: Any) -> str:
    """A chat message's text: the page's chatbot sends a string or a list of parts ({"type": "text", "text": ...})."""
    if isinstance(content, list):
        return " ".join(_message_text(part) for part in content).strip()
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return str(content or "")


def _outlets(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]
