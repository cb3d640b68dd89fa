"""The one Settings object. Only this module reads the environment and `.env`.

Built once at the edge (CLI `main()`, `ui.create_app()`, or the first call of
`rag.answer()`) and passed down explicitly.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

LLMBackend = Literal["embedded", "openai", "openai-compatible", "extractive", "fake"]
EmbedBackend = Literal["embedded", "openai", "openai-compatible"]


# Settings that were removed, each with how to get the same from the ones that stay
# (a data file, so that the old names live only where a user who still sets one is told).
RETIRED: dict[str, str] = json.loads((Path(__file__).with_name("retired_settings.json")).read_text())


def defaults(**overrides: Any) -> "Settings":
    """The documented defaults, with `overrides`, reading neither the environment nor `.env`:
    what a component built without explicit settings (a test's Engine, a benchmark arm) runs with."""
    return Settings.model_construct(**overrides)


def available_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS
        return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSRAG_", env_file=".env", env_file_encoding="utf-8", extra="ignore",
        validate_by_name=True,  # Settings(llm_api_key=...) works too, not only the env aliases
    )

    # --- where things live
    home: Path = Field(Path(".newsrag"), description="Folder holding the store, keyword index, manifest and caches.")
    model_dir: Path | None = Field(None, description="Where the embedded LLM is assembled (default: HOME/models).")
    chroma_url: str | None = Field(None, description="URL of a Chroma server (http://host:8000); unset = embedded on-disk Chroma under HOME.")
    collection: str = Field("articles", description="Base name of the Chroma collection (the embedder id is appended).")
    sample_corpus: Path = Field(Path("data/articles"), description="Articles ingested by `newsrag chat` when the store is empty.")

    # --- answering model
    llm: LLMBackend = Field("embedded", description=f"LLM backend: {' | '.join(get_args(LLMBackend))}.")
    llm_model: str | None = Field(None, description="Model name for openai / openai-compatible (default gpt-4o-mini for openai).")
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1.")
    llm_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("NEWSRAG_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key for the LLM backend (falls back to OPENAI_API_KEY).",
    )
    llm_model_path: Path | None = Field(None, description="A GGUF file to run instead of the bundled Qwen2.5-1.5B.")
    llm_context: int = Field(4096, description="Context window (tokens) of the embedded LLM.")
    llm_threads: int = Field(0, description="CPU threads for the embedded LLM; 0 = all available cores.")
    llm_max_tokens: int = Field(200, description="Most tokens an answer may have.")
    llm_timeout: float = Field(60.0, description="Seconds before a call to a hosted LLM or embedder is abandoned.")
    llm_retries: int = Field(2, description="Retries (the openai client's, with backoff) on 429/5xx, timeouts and lost connections of a hosted LLM or embedder.")

    # --- embedder
    embed: EmbedBackend = Field("embedded", description=f"Embedding backend: {' | '.join(get_args(EmbedBackend))}.")
    embed_model: str | None = Field(None, description="Embedding model for openai / openai-compatible (default text-embedding-3-small).")
    embed_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible embeddings server.")
    embed_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("NEWSRAG_EMBED_API_KEY", "OPENAI_API_KEY"),
        description="API key for the embedding backend (falls back to OPENAI_API_KEY).",
    )

    # --- chunking and retrieval
    chunk_tokens: int = Field(160, description="Target chunk size in embedder tokens (the embedder reads at most 256).")
    chunk_overlap: int = Field(1, description="Sentences repeated between neighbouring chunks.")
    dense_k: int = Field(40, description="Candidates taken from the vector search.")
    keyword_k: int = Field(20, description="Candidates taken from the BM25 keyword search.")
    top_k: int = Field(4, description="Passages given to the LLM.")
    min_relevance: float = Field(0.20, description="Cosine similarity below which the best passage counts as irrelevant (question declined unless the passages name what it asks about).")
    retrieval_stages: str = Field(
        "dense,keyword,fuse,filter,numbers,window,recency,collapse",
        description="Retrieval stages in order (rag/stages.py): sources, fusion, filters, boosts, copy collapse. Without window,recency the ranking ignores dates.",
    )
    rrf_k: int = Field(60, description="Reciprocal rank fusion constant: each list adds 1 / (rrf_k + rank).")
    rerank_depth: int = Field(20, description="Fused candidates the later stages consider (room for collapsed copies).")
    number_boost: float = Field(1.0, description="Fused score x (1 + this x share of the question's numbers a passage holds); 0 turns it off.")
    dedupe_jaccard: float = Field(0.8, description="Word 3-gram overlap at which a passage counts as a copy of a better one (collapse stage).")

    # --- time
    as_of: date | None = Field(None, description="Answer as of this date (YYYY-MM-DD): nothing published later is read; unset = today.")
    window_k: int = Field(12, description="Candidates taken from inside a question's time window (\"this week\"), per source.")
    window_margin: float = Field(0.1, description="The window boost applies to passages whose cosine is within this of the best one's.")
    window_boost: float = Field(1.0, description="Fused score x (1 + this) for passages inside the window a question names (\"this week\").")
    recency_weight: float = Field(0.2, description="Recency prior: fused score x (1 + weight x 2^(-age / half-life)); 0 turns it off.")
    recency_latest_weight: float = Field(1.0, description="The recency weight when a question asks for the latest (\"latest\", \"currently\", \"now\").")
    recency_half_life_days: float = Field(30.0, description="Age in days at which the recency boost halves.")
    # --- what the model reads (docs/decisions: context selection)
    context_budget: int = Field(220, description="Estimated prompt tokens of passage text (headers included) the model reads: the question's sentences and their neighbours; 0 = whole passages.")
    context_neighbours: int = Field(1, description="Sentences kept either side of a chosen one while the context budget lasts.")
    chat_history_tokens: int = Field(1000, description="Estimated tokens of earlier turns a follow-up question is read with (oldest dropped first).")
    timeline_passages: int = Field(60, description="Passages a timeline answer reads from inside its window (its events are chosen from them).")
    timeline_per_slice: int = Field(4, description="A timeline reads this many nearest passages from each day of its window (each week, for windows over two weeks).")
    timeline_events: int = Field(24, description="Most events a timeline shows: the best sentence of each day (each week, for windows over 45 days), then up to two more from a busy one.")
    timeline_overview_tokens: int = Field(120, description="Most tokens of the timeline's overview, written by the LLM over the events that fit NEWSRAG_CONTEXT_BUDGET, spread from the first to the last.")
    revise: bool = Field(True, description="When the verifier flags a sentence, show the model the flags and ask once more; the answer with fewer flags is kept.")

    # --- ingest limits
    max_file_mb: float = Field(50.0, description="Files larger than this are skipped with a reason.")
    max_article_chars: int = Field(200_000, description="Article text beyond this many characters is cut off.")
    ingest_batch: int = Field(256, description="Chunks embedded together during an ingest, across articles (sorted by length).")
    progress_every: float = Field(10.0, description="Seconds between ingest progress lines when stderr is not a terminal.")
    lock_timeout: float = Field(0.0, description="Seconds an ingest waits for another one on the same store (0 = refuse at once).")

    # --- fetching pages and feeds (`newsrag ingest URL`, `newsrag update`)
    fetch_timeout: float = Field(20.0, description="Seconds a page or feed may take to arrive in full before it is given up.")
    fetch_max_mb: float = Field(10.0, description="Pages and feeds larger than this are refused with a reason.")
    fetch_allow: str = Field("", description="Hosts or networks that URL ingest may fetch although they are private, loopback or link-local (comma-separated: intranet.example, 10.1.0.0/16, 127.0.0.1); every other such address is refused.")
    user_agent: str = Field("newsrag/0.1 (news question answering)", description="User-Agent sent when fetching pages and feeds (only http:// and https:// URLs are fetched).")

    # --- watches: saved topics, run after each ingest or update, delivered by feed, webhook or e-mail
    watch_days: int = Field(7, description="A watch run reads the articles published in this many days up to its day; an event it sent before is never sent again, so an article ingested late still counts.")
    webhook_attempts: int = Field(4, description="Tries of a watch's webhook POST before the delivery is left pending (the next run tries again).")
    webhook_backoff_s: float = Field(1.0, description="Seconds before a webhook's second try, doubling for each later one.")
    webhook_timeout_s: float = Field(10.0, description="Seconds a webhook receiver may take to answer.")
    smtp_host: str = Field("", description="SMTP server that watches send e-mail through (empty: e-mail delivery is refused with this name).")
    smtp_port: int = Field(587, description="Port of the SMTP server.")
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS before logging in.")
    smtp_user: str = Field("", description="SMTP login (empty: no login).")
    smtp_password: SecretStr | None = Field(None, description="SMTP password (a secret: never printed).")
    smtp_from: str = Field("newsrag@localhost", description="Sender address of watch e-mails.")

    # --- chat page
    host: str = Field("127.0.0.1", description="Address the chat page binds to.")
    port: int = Field(7860, description="Port of the chat page.")
    auth: SecretStr | None = Field(
        None,
        description="Logins for the chat page: user:password (one editor), or user:password:role,... with role editor or reader.",
    )
    readonly: bool = Field(False, description="Make the whole page read-only: nobody can upload, ingest or remove articles.")
    reader_backends: str = Field("", description="LLM backends a reader may choose on the page (comma-separated, e.g. extractive,embedded); editors choose any. Empty: readers get the configured one.")
    login_max_failures: int = Field(5, description="Failed logins for one user or one client address before it is locked out.")
    login_lockout_s: float = Field(300.0, description="Seconds a locked-out user or address must wait; each failure before the lockout also waits a little longer.")
    concurrency: int = Field(2, description="Answers generated at once by the chat page and by the API server (others queue).")

    # --- serving a team: the OpenAI-compatible API (`newsrag serve`) and limits
    api_host: str = Field("127.0.0.1", description="Address `newsrag serve` (the OpenAI-compatible API) binds to.")
    api_port: int = Field(7861, description="Port of `newsrag serve`.")
    api_keys: SecretStr | None = Field(None, description="Comma-separated keys; when set, the API requires `Authorization: Bearer KEY`.")
    max_question_chars: int = Field(2000, description="Longest question (characters) the page and the API accept.")
    max_session_queue: int = Field(2, description="Questions one page session or one API key may have waiting or running at once.")
    max_queue: int = Field(64, description="Questions that may wait in all, page and API each; beyond it new ones are refused.")
    max_upload_files: int = Field(20, description="Files one upload on the page may add (each at most NEWSRAG_MAX_FILE_MB).")

    def model_post_init(self, _context: Any) -> None:
        for name, how in RETIRED.items():
            if name in os.environ:
                log.warning("%s is no longer read: %s", name, how)

    def resolved_model_dir(self) -> Path:
        return self.model_dir or self.home / "models"

    def threads(self) -> int:
        return self.llm_threads or available_cores()

    def describe(self) -> list[tuple[str, str, str]]:
        """(env var, default, description) rows, for the README and `.env.example`."""
        rows = []
        for name, field in type(self).model_fields.items():
            rows.append((f"NEWSRAG_{name.upper()}", repr(field.default), field.description or ""))
        return rows
