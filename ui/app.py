"""The chat page: a thin Gradio client of the same Engine as the CLI.

`create_app(engine, settings)` lays out the page over injected services (the
event handlers are `ui.handlers.Page`); `launch(demo, settings)` starts it with
the house defaults (system fonts, no analytics, no share link, the queue's
concurrency from Settings); `serve()` is the edge that builds the engine from
Settings, ingests the sample corpus into an empty store, and launches the page
while the model loads in the background (`ui.warmup.ModelLoader`).
"""

from __future__ import annotations

import os

# Before gradio is imported anywhere: the page sends nothing outside the host.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import html  # noqa: E402
import logging  # noqa: E402
from typing import Any  # noqa: E402

from rag.engine import Engine  # noqa: E402
from core.settings import Settings  # noqa: E402
from ui import corpus, visits  # noqa: E402
from ui.access import Access, LoginBrake  # noqa: E402
from ui.backends import Registry  # noqa: E402
from ui.guard import PageGuard, discard_uploads, file_events, page_blocks  # noqa: E402
from ui.handlers import MODES, Page  # noqa: E402
from ui.warmup import ModelLoader  # noqa: E402
from ui.html import CSS, HEAD, WELCOME, sources_html, trace_html  # noqa: E402

log = logging.getLogger(__name__)

SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]
ARTICLE_HEADERS = ["Title", "Date", "Outlet", "Chunks", "Id", "URL"]


def create_app(engine: Engine, settings: Settings, llms: Registry | None = None, loader: ModelLoader | None = None) -> Any:
    """The page over `engine` (shared by every session); `llms` replaces the LLM registry (tests);
    `loader`: the model loading in the background, shown on the page until it is ready."""
    import gradio as gr

    page = Page(engine, settings, llms)
    backends = page.backends

    # Gradio passes the request (the logged-in user, the session) to a parameter typed gr.Request.
    def add_files(files, request, progress=gr.Progress()):  # type: ignore[no-untyped-def]
        try:
            return page.add_files(files, progress, user=_user(request))
        finally:  # refused, failed or added: Gradio's copies go (an added file is kept under NEWSRAG_HOME/uploads)
            discard_uploads(files)

    def remove_article(article_id, request):  # type: ignore[no-untyped-def]
        return page.remove_article(article_id, user=_user(request))

    def respond(message, history, session, backend, model, top_k, as_of, since, until, outlets, mode, last_visit, request):  # type: ignore[no-untyped-def]
        yield from page.respond(
            message, history, session, backend, model, top_k, as_of, since, until, outlets, client=_client(request), user=_user(request),
            mode=mode, last_visit=last_visit,
        )

    def add_watch(history, request):  # type: ignore[no-untyped-def]
        return page.add_watch(history, user=_user(request))

    def editor_controls(request):  # type: ignore[no-untyped-def]
        return page.editor_controls(_user(request))

    def backend_controls(request):  # type: ignore[no-untyped-def]
        return page.backend_controls(_user(request))

    def add_urls(text, request, progress=gr.Progress()):  # type: ignore[no-untyped-def]
        return page.add_urls(text, progress, user=_user(request))

    for fn in (add_files, add_urls, remove_article, respond, editor_controls, backend_controls, add_watch):
        fn.__annotations__ = {"request": gr.Request}

    with page_blocks()(title="newsrag", analytics_enabled=False) as demo:  # gr.Blocks with the login page's lockout notice
        session = gr.State(None)
        kept_visits = gr.BrowserState(None, storage_key=visits.STORAGE_KEY, secret=visits.SECRET)  # ui.visits
        last_visit = gr.State(None)
        with gr.Row():
            gr.Markdown("## newsrag — ask the articles", elem_id="nr-heading")
            status = gr.Markdown(page.status_line(len(engine.store.manifest.articles())), elem_id="nr-status")
        model_state = gr.HTML(model_html(loader), elem_id="nr-model")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label="Conversation", min_height=380, max_height="70vh", placeholder=WELCOME, elem_id="nr-chat", feedback_options=None,
                            sanitize_html=True, buttons=[],  # no share (it posts to Hugging Face); "Copy answer" copies plain text
                        )
                        box = gr.Textbox(show_label=False, placeholder="Ask about the articles… (Enter sends)", lines=1, elem_id="nr-question", autofocus=True)
                        with gr.Row():
                            ask = gr.Button("Ask", variant="primary", elem_id="nr-ask")
                            copy = gr.Button("Copy answer", elem_id="nr-copy")
                            clear_btn = gr.Button("Clear conversation", elem_id="nr-clear")
                            watch_btn = gr.Button("Watch this", elem_id="nr-watch")
                        with gr.Row(equal_height=True):
                            answer_mode = gr.Radio(list(MODES), value="Auto", label="Answer as", scale=3, elem_id="nr-mode",
                                                   info="Auto: the question decides (“what happened…”, “timeline of…” ask for a timeline)")
                            visit_note = gr.Markdown(elem_id="nr-visit")
                        questions = corpus.example_questions(engine.store.manifest.articles())
                        examples = gr.Dataset(label="Example questions", components=[box], samples=[[q] for q in questions], visible=bool(questions), elem_id="nr-examples")
                        with gr.Accordion("When and where: as-of date, date range, outlets", open=False, elem_id="nr-when"):
                            with gr.Row():
                                ask_as_of = gr.DateTime(value="", include_time=False, type="string", label="As of (empty = today)", elem_id="nr-ask-asof")
                                ask_since = gr.DateTime(value="", include_time=False, type="string", label="Since", elem_id="nr-ask-since")
                                ask_until = gr.DateTime(value="", include_time=False, type="string", label="Until", elem_id="nr-ask-until")
                            ask_outlets = gr.Textbox(value="", label="Outlets or web hosts, comma-separated (empty = all)", elem_id="nr-ask-outlets")
                        with gr.Accordion("Trace: how the answer was made", open=False, elem_id="nr-trace"):
                            trace = gr.HTML(trace_html(None))
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources")
                        sources = gr.HTML(sources_html([]), elem_id="nr-sources")
                plain = gr.Textbox(visible="hidden", elem_id="nr-plain")
            with gr.Tab("Corpus", id="corpus"):
                summary = gr.Markdown()
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2):
                        files = gr.File(
                            label=f"Add articles ({' '.join(corpus.allowed_suffixes())}, at most {settings.max_file_mb:g} MB each)",
                            file_count="multiple", elem_id="nr-upload",  # types are checked per file, with reasons
                        )
                        urls = gr.Textbox(label="Add by URL: web pages or RSS/Atom feeds, one per line", lines=2, elem_id="nr-urls",
                                          placeholder="https://example.com/news/story.html")
                        fetch_btn = gr.Button("Fetch and add", elem_id="nr-fetch")
                        report = gr.HTML(elem_id="nr-report")
                        pick = gr.Dropdown(label="Remove an article (from the page shown)", choices=[], elem_id="nr-pick")
                        remove_btn = gr.Button("Remove article", variant="stop", elem_id="nr-remove")
                    with gr.Column(scale=3):
                        with gr.Row():
                            grep = gr.Textbox(label="Search titles, outlets and URLs", scale=3, elem_id="nr-search")
                            outlets = gr.Dropdown(label="Outlets", choices=[], multiselect=True, scale=2, elem_id="nr-outlet")
                        with gr.Row():
                            since = gr.Textbox(label="From (YYYY-MM-DD)", scale=1, elem_id="nr-since")
                            until = gr.Textbox(label="To (YYYY-MM-DD)", scale=1, elem_id="nr-until")
                            sort = gr.Dropdown(label="Sort", choices=list(corpus.SORTS), value="Newest first", scale=1, elem_id="nr-sort")
                        story = gr.Dropdown(label="Story (articles about one developing event; type to search)", choices=[corpus.ALL_STORIES],
                                            value="", elem_id="nr-story")
                        count = gr.Markdown(elem_id="nr-count")
                        table = gr.Dataframe(
                            headers=ARTICLE_HEADERS, interactive=False, wrap=True, elem_id="nr-articles",
                            column_widths=["38%", "11%", "15%", "7%", "11%", "18%"], max_chars=160,
                        )
                        with gr.Row():
                            prev_btn = gr.Button("← Previous", size="sm", elem_id="nr-prev")
                            page_no = gr.Number(value=1, precision=0, minimum=1, label="Page", elem_id="nr-page", scale=0, min_width=90)
                            next_btn = gr.Button("Next →", size="sm", elem_id="nr-next")
            with gr.Tab("Settings", id="settings"):
                # what the least trusted visitor may pick; each login's own choices arrive on load, and the server checks the pick
                may_choose = page.access.can_edit(None)
                backend = gr.Dropdown(choices=backends.choices(editor=may_choose), value=settings.llm, label="LLM backend", elem_id="nr-backend",
                                      allow_custom_value=True)
                about = gr.Markdown(page.describe_backend(settings.llm))
                model = gr.Textbox(label="Model name (openai / openai-compatible; empty = the configured one)", value=settings.llm_model or "", elem_id="nr-model",
                                   interactive=may_choose)
                top_k = gr.Slider(1, 12, value=settings.top_k, step=1, label="Passages given to the model (top-k)", elem_id="nr-topk")
                gr.Markdown(
                    f"Embedder: `{engine.embedder.identity}` · answers generated at once: {settings.concurrency} (others wait in a queue). "
                    "These choices apply to this browser tab only; every backend is loaded once per server process."
                )

        chat_outputs = [chatbot, box, sources, trace, plain, session]
        chat_inputs = [box, chatbot, session, backend, model, top_k, ask_as_of, ask_since, ask_until, ask_outlets, answer_mode, last_visit]
        answer_kw = dict(concurrency_limit=settings.concurrency, concurrency_id="answer")
        ask.click(respond, chat_inputs, chat_outputs, api_name="ask", **answer_kw)
        box.submit(respond, chat_inputs, chat_outputs, api_name=False, **answer_kw)
        examples.click(lambda x: x[0], examples, box, api_name=False, queue=False).then(respond, chat_inputs, chat_outputs, api_name=False, **answer_kw)
        clear_btn.click(page.clear, session, chat_outputs, api_name=False)
        watch_btn.click(add_watch, chatbot, visit_note, api_name=False, queue=False)
        chatbot.clear(page.clear, session, chat_outputs, api_name=False)
        copy.click(None, plain, None, js="(text) => { window.nrCopy && window.nrCopy(text); }", api_name=False)
        backend.change(page.describe_backend, backend, about, api_name=False)

        corpus_outputs = [summary, table, pick, examples, status]
        filters = [grep, outlets, since, until, sort, story]

        def search(grep_, outlets_, since_, until_, sort_, story_, page_=1):  # type: ignore[no-untyped-def]
            return page.search(grep_, outlets_, since_, until_, sort_, page_, story=story_)
        listing = [table, count, pick, page_no]
        fast = dict(api_name=False, concurrency_limit=None, trigger_mode="always_last")  # a manifest query: milliseconds

        def refresh(event: Any) -> None:
            """After the store changed: the outlets and the page under the current filters."""
            event.then(page.outlet_choices, outlets, outlets, api_name=False).then(page.story_choices, story, story, api_name=False).then(
                search, [*filters, page_no], listing, api_name=False)

        refresh(files.upload(add_files, files, [report, *corpus_outputs], api_name="add_files", concurrency_limit=1, concurrency_id="ingest"))
        refresh(fetch_btn.click(add_urls, urls, [report, *corpus_outputs], api_name="add_urls", concurrency_limit=1, concurrency_id="ingest"))
        refresh(remove_btn.click(remove_article, pick, [report, *corpus_outputs], api_name="remove", concurrency_limit=1, concurrency_id="ingest"))
        refresh(demo.load(page.corpus_view, None, corpus_outputs, api_name=False))
        for control in (grep, outlets, since, until, sort, story):  # a new filter starts at its first page
            control.change(lambda *f: search(*f, 1), filters, listing, **fast)
        grep.submit(lambda *f: search(*f, 1), filters, listing, **fast)
        page_no.submit(search, [*filters, page_no], listing, **fast)
        prev_btn.click(lambda *f: search(*f[:-1], max(1, int(f[-1] or 1) - 1)), [*filters, page_no], listing, **fast)
        next_btn.click(lambda *f: search(*f[:-1], int(f[-1] or 1) + 1), [*filters, page_no], listing, **fast)
        demo.load(editor_controls, None, [files, pick, remove_btn, urls, fetch_btn], api_name=False)
        demo.load(page.visit, kept_visits, [kept_visits, last_visit, visit_note], api_name=False, queue=False, show_progress="hidden")
        demo.load(backend_controls, None, [backend, model], api_name=False)
        if loader is not None:
            poll = gr.Timer(0.5, active=loader.state() == "loading")
            poll.tick(lambda: (model_html(loader), gr.Timer(active=loader.state() == "loading")), None, [model_state, poll],
                      api_name=False, queue=False, show_progress="hidden")
            demo.load(lambda: (model_html(loader), gr.Timer(active=loader.state() == "loading")), None, [model_state, poll],
                      api_name=False, queue=False, show_progress="hidden")
    return demo


def model_html(loader: ModelLoader | None) -> str:
    """The model's state on the page: a line while it loads (or failed to), nothing once ready."""
    if loader is None or loader.state() == "ready":
        return ""
    if loader.state() == "failed":
        return f'<div class="nr-model nr-model-failed">The model did not load: {html.escape(loader.error or "")}</div>'
    return ('<div class="nr-model nr-model-loading">Loading the model… questions are welcome: '
            "their passages show at once, and the answer starts as soon as the model is ready.</div>")


def theme() -> Any:
    """Gradio's default look with the system's fonts: nothing is fetched from a font service."""
    import gradio as gr

    return gr.themes.Default(font=SYSTEM_FONTS, font_mono=MONO_FONTS)


def auth_pair(settings: Settings) -> tuple[str, str] | None:
    """The first login (user, password); every login is `Access(settings).logins()`."""
    logins = Access(settings).logins()
    return logins[0] if logins else None


def _user(request: Any) -> str | None:
    return getattr(request, "username", None)


def _client(request: Any) -> str | None:
    """Whose share of the queue a question takes: the login's, else the browser session's."""
    user = _user(request)
    return f"user:{user}" if user else getattr(request, "session_hash", None)


def launch(demo: Any, settings: Settings, brake: LoginBrake | None = None, **kw: Any) -> Any:
    """Start the page with the house defaults; `kw` overrides (tests pass a port and prevent_thread_lock).

    The queue holds at most NEWSRAG_MAX_QUEUE events; each waiting browser sees its place in it.
    `ui.guard.PageGuard` stands in front: failed logins go through `brake` (from Settings unless
    given: tests pass one with a fake clock), and only editors may send files."""
    from starlette.middleware import Middleware

    access = Access(settings)
    auth = access.logins()
    guard = Middleware(PageGuard, access=access, brake=brake or LoginBrake.from_settings(settings), file_events=file_events(demo))
    if settings.host not in ("127.0.0.1", "localhost", "::1") and auth is None:
        log.warning("the chat page is reachable from other machines at %s without a login; set NEWSRAG_AUTH=user:password", settings.host)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.max_queue)
    options: dict[str, Any] = dict(
        server_name=settings.host,
        server_port=settings.port,
        auth=auth,
        share=False,
        show_error=False,
        max_file_size=int(settings.max_file_mb * 2**20),
        theme=theme(),
        css=CSS,
        head=HEAD,
        pwa=False,
        mcp_server=False,
        ssr_mode=False,
        enable_monitoring=False,
        footer_links=["api", "settings"],
        app_kwargs={"middleware": [guard]},
    )
    return demo.launch(**(options | kw))


def ensure_sample(engine: Engine, settings: Settings) -> None:
    """An empty store gets the bundled sample articles, so a fresh clone has something to ask."""
    if not engine.store.is_empty() or not settings.sample_corpus.exists():
        return
    from ingest import ingest

    report = ingest([settings.sample_corpus], engine.store, engine.embedder, corpus.ingest_options(settings), progress=True)
    print(f"ingested the sample corpus from {settings.sample_corpus}: {report.summary()}")


def serve(settings: Settings, ingest_sample: bool = True) -> None:
    auth_pair(settings)  # a malformed NEWSRAG_AUTH fails before anything loads
    engine = Engine.from_settings(settings)
    if ingest_sample:
        ensure_sample(engine, settings)
    loader = ModelLoader(engine).start()  # loads while the page is served; the page shows it loading
    launch(create_app(engine, settings, loader=loader), settings)
