"""RGB-shaped retrieval data, indexed two ways: newsrag's store and a llama-index-defaults baseline.

An RGB file (e.g. `en_fact.json` of the RGB benchmark) holds one JSON object a
line with a `query`, its `positive` snippets (holding the answer) and
`negative` ones (on-topic, without it). Every distinct snippet becomes one
document of the corpus; a query's relevant documents are its positives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from core.errors import ConfigError
from evaluation.jsonl import json_lines


@dataclass(frozen=True)
class RGBQuery:
    query: str
    positives: frozenset[int]  # indices into RGBData.snippets


@dataclass(frozen=True)
class RGBData:
    snippets: list[str]  # every distinct positive and negative snippet, first-seen order
    queries: list[RGBQuery]
    skipped: int = 0  # rows without a query or without a positive snippet


def load_rgb(path: Path | str) -> RGBData:
    """Read an RGB file (JSON lines, or one JSON list of rows); exact duplicate snippets are merged."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read the RGB file {path}: {e.strerror or e}; pass an existing file with --rgb") from None
    rows = _rows(text, path)
    index: dict[str, int] = {}
    queries: list[RGBQuery] = []
    skipped = 0
    for row in rows:
        pos = [_snippet(s) for s in row.get("positive") or [] if _snippet(s)]
        neg = [_snippet(s) for s in row.get("negative") or [] if _snippet(s)]
        for s in pos + neg:
            index.setdefault(s, len(index))
        query = str(row.get("query") or "").strip()
        if not query or not pos:
            skipped += 1
            continue
        queries.append(RGBQuery(query, frozenset(index[s] for s in pos)))
    if not queries:
        raise ConfigError(f"{path} has no rows with a `query` and `positive` snippets: is it an RGB file (like en_fact.json)?")
    return RGBData(list(index), queries, skipped)


def _rows(text: str, path: Path) -> list[dict[str, Any]]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path} is not valid JSON (line {e.lineno}): {e.msg}") from None
        return [r for r in data if isinstance(r, dict)]
    return [row for _, row in json_lines(text, path, "RGB")]


def _snippet(s: Any) -> str:
    # Some RGB variants nest lists of snippets; flatten one level by joining.
    if isinstance(s, list):
        s = " ".join(str(x) for x in s)
    return str(s).strip() if s is not None else ""


# --- newsrag's side: the real chunker, store (Chroma + BM25) and retriever


def snippet_articles(data: RGBData, source: str = "rgb") -> list[Any]:
    """One Article per snippet, no title; its url `rgb://i` keeps ids unique and maps hits back."""
    from core.articles import Article

    return [Article(text=s, path=f"{source}#{i}", body=[(0, len(s))], url=f"rgb://{i}") for i, s in enumerate(data.snippets)]


def build_store(
    articles: list[Any], home: Path, embedder: Any, chunk_tokens: int, overlap: int, batch_chunks: int = 256,
    timings: dict[str, float] | None = None,
) -> Any:
    """Articles chunked, embedded and written as `newsrag ingest` does (batched across
    articles, written beside the embedder), into a store under `home`. `timings` gets
    seconds by stage: chunk_s, embed_s, write_s (beside the embedder), write_wait_s, write_drain_s."""
    import time

    from ingest.batches import Batcher, Writer
    from ingest.chunking import chunk_article
    from store import Store

    count = getattr(embedder, "count_tokens", None) or (lambda t: int(len(t.split()) * 1.4) + 1)

    def fail(file: str, e: Exception) -> None:
        raise e

    # The writer thread opens the store (and holds its lock) while the first batch is embedded.
    writer = Writer(open_store=lambda: Store.open(home, embedder.identity, embedder.dimension, base="eval"))
    batcher = Batcher(embedder, writer, batch_chunks, on_failed=fail, on_embedded=lambda articles, chunks: None)
    chunk_s = 0.0
    try:
        for a in articles:
            t0 = time.perf_counter()
            chunks = chunk_article(a, count, chunk_tokens, overlap)
            chunk_s += time.perf_counter() - t0
            batcher.add(a, chunks, [embedding_text(a, c) for c in chunks], a.path, lambda: None)
        batcher.flush()
    finally:
        batcher.close()
        t0 = time.perf_counter()
        writer.close()  # the last batch, then the keyword check, then the lock goes
        drain = time.perf_counter() - t0
    if timings is not None:
        timings.update(chunk_s=round(chunk_s, 3), **batcher.timings(), write_drain_s=round(drain, 3))
    return writer.store


def embedding_text(article: Any, chunk: Any) -> str:
    """What ingest embeds for a chunk: the article header, then the quoted text (as ingest/pipeline.py)."""
    header = article.header()
    return f"{header}\n{chunk.text}" if header else chunk.text


def snippet_of(passage: Any) -> int:
    return int(passage.url.removeprefix("rgb://"))


# --- the baseline: what a user gets from llama-index's defaults with the same embedder


def build_baseline(data: RGBData, embedder: Any, top_k: int = 10) -> Callable[[str], list[int]]:
    """Dense only: `SentenceSplitter()` defaults, in-memory `VectorStoreIndex`, `similarity_top_k`.

    Everything is passed explicitly: llama-index's global Settings would build an OpenAI client.
    """
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    docs = [Document(text=s, id_=f"rgb://{i}") for i, s in enumerate(data.snippets)]
    index = VectorStoreIndex.from_documents(docs, embed_model=embedder, transformations=[SentenceSplitter()])
    retriever = index.as_retriever(similarity_top_k=top_k)

    def search(query: str) -> list[int]:
        return [int(n.node.ref_doc_id.removeprefix("rgb://")) for n in retriever.retrieve(query)]

    return search
