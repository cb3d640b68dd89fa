"""newsrag's retrieval as a llama-index retriever, for llama-index query engines and agents.

    retriever = NewsragRetriever(engine, as_of=date(2025, 2, 1), sources=("Reuters",), top_k=5)
    RetrieverQueryEngine(retriever, get_response_synthesizer(llm=my_llm)).query("...")

Each node is one passage of `Engine.retrieve`: the same hybrid, date-aware search,
filters, as-of cut-off and copy collapse as `answer()`, not a second index. Its id is
the chunk id, its text the passage, its source node the article; its metadata holds
the title, outlet (`source`), date, URL, article id and the passage's character span.
The LLM sees the title, outlet and date above each passage, not the ids and offsets.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any, Sequence

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from core.filters import Filter
from core.settings import Settings
from core.types import Passage
from rag.api import default_engine
from rag.engine import Engine

__all__ = ["NewsragRetriever", "passage_node"]

# Node metadata the LLM is not shown (it reads title, source and date above each passage).
_HIDDEN = ["article_id", "url", "start", "end", "page", "also_in"]


class NewsragRetriever(BaseRetriever):
    """A llama-index `BaseRetriever` over an `Engine`'s retrieval.

    `engine`: the Engine to search; when None, one is built on first use: from `settings`
    when given (`Engine.from_settings`), else the process's default engine (`rag.api`).
    `as_of` hides everything published after it (default: the engine's, else today) and is
    the day the question's time words are read against; `since`, `until` and `sources`
    (outlets or hosts) narrow what is searched. `top_k`: passages returned (default: Settings.top_k).
    """

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        settings: Settings | None = None,
        top_k: int | None = None,
        as_of: date | None = None,
        since: date | None = None,
        until: date | None = None,
        sources: Sequence[str] = (),
        callback_manager: Any = None,
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self._engine = engine
        self._settings = settings
        self._lock = threading.Lock()
        self.top_k = top_k
        self.as_of = as_of
        self.filters = Filter(since, until, (sources,) if isinstance(sources, str) else tuple(sources))

    @property
    def engine(self) -> Engine:
        """The engine searched; built (models loaded, store opened) on first use when none was given."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    if self._settings is not None:
                        self._engine = Engine.from_settings(self._settings)
                    else:
                        self._engine = default_engine()
        return self._engine

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        passages = self.engine.retrieve(query_bundle.query_str, top_k=self.top_k, filters=self.filters, as_of=self.as_of)
        return [passage_node(p) for p in passages]


def passage_node(p: Passage) -> NodeWithScore:
    """A newsrag passage as a llama-index node, scored by retrieval's fused score."""
    node = TextNode(
        id_=p.chunk_id,
        text=p.text,
        metadata={
            "title": p.title, "source": p.source, "date": p.date, "url": p.url, "article_id": p.article_id,
            "start": p.start, "end": p.end, "page": p.page, "also_in": list(p.also_in),
        },
        start_char_idx=p.start,
        end_char_idx=p.end,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=p.article_id)},
        excluded_llm_metadata_keys=list(_HIDDEN),
        excluded_embed_metadata_keys=list(_HIDDEN),
    )
    return NodeWithScore(node=node, score=p.score)
