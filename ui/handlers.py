"""What the page's events do: plain methods over the injected engine and settings.

The layout (`ui.app.create_app`) wires these to Gradio events. Each browser
session keeps a `Session` in a `gr.State`: its own `rag.chat.Chat` (the
follow-up context) and its answers, numbered as turns. The engine, the store
and the models are shared by every session of the process.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterator

from rag.chat import Chat
from rag.engine import Engine
from core.errors import NewsragError
from core.settings import Settings
from core.types import Answer
from store import space
from ui import corpus
from ui.access import Access, Limiter, question_too_long
from ui.backends import Backends, Registry, key_status
from ui.render import answer_html, message_html, plain_text, report_html, sources_html, streaming_html, trace_html

log = logging.getLogger(__name__)


@dataclass
class Session:
    """One browser session: its follow-up context and its answers (numbered turns)."""

    chat: Chat
    answers: list[Answer] = field(default_factory=list)

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
        backend: str | None = None, model: str | None = None, top_k: float | None = None, client: str | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """`client`: the browser session (Gradio's session hash), for the per-session limit."""
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
            yield from self._respond(message, history, session, backend, model, top_k)
        finally:
            self.limiter.release(client or str(id(session)))

    def _respond(
        self, message: str, history: list[dict[str, Any]], session: Session, backend: str | None, model: str | None, top_k: float | None
    ) -> Iterator[tuple[Any, ...]]:
        import gradio as gr

        history += [{"role": "user", "content": message}, {"role": "assistant", "content": streaming_html("")}]
        yield self._turn(history, session)
        text = ""
        try:
            session.chat.llm = self.backends.get(backend, model)
            stream = session.chat.stream(message, top_k=int(top_k) if top_k else None)
            for piece in stream:  # only the chat changes while the text streams in
                text += piece
                history[-1] = {"role": "assistant", "content": streaming_html(text)}
                yield history, gr.skip(), gr.skip(), gr.skip(), gr.skip(), session
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
        return history, "", sources_html(session.answers), trace_html(session.last), plain_text(session.last), session

    def clear(self, session: Session | None) -> tuple[Any, ...]:
        if session is not None:
            session.chat.reset()
            session.answers.clear()
        return [], "", sources_html([]), trace_html(None), "", session

    # --- corpus: outputs are (summary, table, remove dropdown, example questions, status line)
    def corpus_view(self) -> tuple[Any, ...]:
        import gradio as gr

        articles = self.engine.store.manifest.articles()
        chunks = sum(a.n_chunks for a in articles)
        summary = f"**{len(articles)} articles** in the store ({chunks} chunks)." if articles else "**The store is empty.** Add articles below."
        questions = corpus.example_questions(articles)
        return (
            summary,
            corpus.article_rows(articles),
            gr.Dropdown(choices=corpus.article_choices(articles), value=None),
            gr.Dataset(samples=[[q] for q in questions], visible=bool(questions)),
            self.status_line(len(articles)),
        )

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

    def editor_controls(self, user: str | None = None) -> tuple[Any, ...]:
        """The upload and remove controls, shown to editors only (the server checks again on use)."""
        import gradio as gr

        show = self.access.can_edit(user)
        return gr.update(visible=show), gr.update(visible=show), gr.update(visible=show)

    # --- settings
    def describe_backend(self, name: str | None) -> str:
        name = name or self.settings.llm
        return f"{self.backends.describe(name)}. For hosted backends: {key_status(self.settings)}; keys come only from the environment or `.env`."
