"""The chat page: a thin Gradio client of the same Engine as the CLI.

Built by `create_app(engine, settings)` (injected, testable); `serve()` is the
edge that builds the engine from Settings, ingests the sample corpus into an
empty store, and launches on 127.0.0.1 by default.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator

from rag.engine import Engine
from rag.settings import Settings
from rag.types import Answer
from ui.render import CSS, answer_html, sources_html

log = logging.getLogger(__name__)

EXAMPLES = [
    "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?",
    "Which shortages are forcing Ukrainian units to give ground?",
    "How much territory did open-source think tanks say Russia took in January?",
]


def create_app(engine: Engine, settings: Settings, examples: list[str] | None = None) -> Any:
    import gradio as gr

    def respond(message: str, history: list[dict[str, Any]]) -> Iterator[tuple[list[dict[str, Any]], str, str]]:
        history = list(history or [])
        message = (message or "").strip()
        if not message:
            yield history, "", sources_html(None)
            return
        history.append({"role": "user", "content": message})
        history.append({"role": "assistant", "content": "…"})
        yield history, "", sources_html(None)
        text = ""
        for item in engine.stream(message):
            if isinstance(item, Answer):
                history[-1] = {"role": "assistant", "content": answer_html(item)}
                yield history, "", sources_html(item)
            else:
                text += item
                history[-1] = {"role": "assistant", "content": text}
                yield history, "", sources_html(None)

    with gr.Blocks(title="newsrag") as demo:
        gr.Markdown("## newsrag — ask the articles\nEvery answer cites the passages it comes from.")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Answers", height=480, sanitize_html=True)
                box = gr.Textbox(label="Question", placeholder="Ask about the articles…", lines=1)
                with gr.Row():
                    send = gr.Button("Ask", variant="primary")
                    clear = gr.Button("Clear")
                gr.Examples(examples or EXAMPLES, inputs=box)
            with gr.Column(scale=2):
                sources = gr.HTML(sources_html(None), label="Sources")
        send.click(respond, [box, chat], [chat, box, sources], api_name="ask")
        box.submit(respond, [box, chat], [chat, box, sources], api_name=False)
        clear.click(lambda: ([], "", sources_html(None)), None, [chat, box, sources], api_name=False)
    return demo


def ensure_sample(engine: Engine, settings: Settings) -> None:
    """An empty store gets the bundled sample articles, so a fresh clone has something to ask."""
    if not engine.store.is_empty() or not settings.sample_corpus.exists():
        return
    from ingest import IngestOptions, ingest

    opts = IngestOptions(settings.chunk_tokens, settings.chunk_overlap, int(settings.max_file_mb * 2**20), settings.max_article_chars)
    report = ingest([settings.sample_corpus], engine.store, engine.embedder, opts, progress=True)
    print(f"ingested the sample corpus from {settings.sample_corpus}: {report.summary()}")


def serve(settings: Settings, ingest_sample: bool = True) -> None:
    engine = Engine.from_settings(settings)
    if ingest_sample:
        ensure_sample(engine, settings)
    engine.llm  # load the model before the first visitor waits for it
    demo = create_app(engine, settings)
    auth = None
    if settings.auth is not None:
        user, _, password = settings.auth.get_secret_value().partition(":")
        auth = (user, password)
    demo.queue(default_concurrency_limit=settings.concurrency).launch(
        server_name=settings.host, server_port=settings.port, auth=auth, share=False, css=CSS, show_error=False
    )
