"""The one Settings object. Only this module reads the environment and `.env`.

Built once at the edge (CLI `main()`, `ui.create_app()`, or the first call of
`rag.answer()`) and passed down explicitly.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LLMBackend = Literal["embedded", "openai", "openai-compatible", "extractive", "fake"]
EmbedBackend = Literal["embedded", "openai", "openai-compatible"]


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
    llm: LLMBackend = Field("embedded", description="LLM backend: embedded | openai | openai-compatible | extractive | fake.")
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
    llm_retries: int = Field(2, description="Retries (with backoff) on 429/5xx from a hosted LLM or embedder.")

    # --- embedder
    embed: EmbedBackend = Field("embedded", description="Embedding backend: embedded | openai | openai-compatible.")
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
        description="Retrieval stages in order (rag/stages.py): sources, fusion, filters, boosts, copy collapse.",
    )

    # --- time
    as_of: date | None = Field(None, description="Answer as of this date (YYYY-MM-DD): nothing published later is read; unset = today.")
    time_features: bool = Field(True, description="Read dates: the as-of limit, time words in questions (\"this week\") and the recency prior. 0 = the old, timeless ranking.")
    window_boost: float = Field(1.0, description="Fused score x (1 + this) for passages inside the window a question names (\"this week\").")
    recency_weight: float = Field(0.2, description="Recency prior: fused score x (1 + weight x 2^(-age / half-life)); 0 turns it off.")
    recency_latest_weight: float = Field(1.0, description="The recency weight when a question asks for the latest (\"latest\", \"currently\", \"now\").")
    recency_half_life_days: float = Field(30.0, description="Age in days at which the recency boost halves.")
    # --- speed (bench/README.md, "Latency")
    profile: Literal["fast", "baseline"] = Field("fast", description="fast: the model reads only the question's sentences of the passages (NEWSRAG_CONTEXT_*); baseline: whole passages, the pipeline before issue 14, kept for comparison.")
    context_budget: int = Field(220, description="fast profile: estimated prompt tokens of passage text (headers included) the model reads; 0 = whole passages.")
    context_neighbours: int = Field(1, description="fast profile: sentences kept either side of a chosen one while the budget lasts.")
    revise: bool = Field(True, description="When the verifier flags a sentence, show the model the flags and ask once more; the answer with fewer flags is kept.")

    # --- ingest limits
    max_file_mb: float = Field(50.0, description="Files larger than this are skipped with a reason.")
    max_article_chars: int = Field(200_000, description="Article text beyond this many characters is cut off.")
    lock_timeout: float = Field(0.0, description="Seconds an ingest waits for another one on the same store (0 = refuse at once).")

    # --- chat page
    host: str = Field("127.0.0.1", description="Address the chat page binds to.")
    port: int = Field(7860, description="Port of the chat page.")
    auth: SecretStr | None = Field(None, description="user:password to require a login on the chat page.")
    concurrency: int = Field(2, description="Answers generated at once by the chat page (others queue).")

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
