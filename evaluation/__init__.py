"""`newsrag eval`: retrieval metrics on RGB-shaped data and QA accuracy on seed-QA-shaped data.

The public functions load lazily: `newsrag <any command>` imports this package
to register `eval`, and must not pay for the evaluation code.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "evaluate_retrieval": "rag.evaluate.retrieval",
    "run_qa": "rag.evaluate.runner",
    "evaluate_qa": "rag.evaluate.qa",
    "evaluate_qa_retrieval": "rag.evaluate.qa",
    "load_qa": "rag.evaluate.qa",
    "score_answer": "rag.evaluate.qa",
    "load_rgb": "rag.evaluate.rgb",
    "first_relevant_rank": "rag.evaluate.metrics",
    "hits_at": "rag.evaluate.metrics",
    "mrr_at": "rag.evaluate.metrics",
    "percentile": "rag.evaluate.metrics",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'rag.evaluate' has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)
