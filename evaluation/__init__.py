"""`newsrag eval`: retrieval metrics on RGB-shaped data and QA accuracy on seed-QA-shaped data.

The public functions load lazily: `newsrag <any command>` imports this package
to register `eval`, and must not pay for the evaluation code.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "evaluate_retrieval": "evaluation.retrieval",
    "run_qa": "evaluation.runner",
    "evaluate_qa": "evaluation.qa",
    "evaluate_qa_retrieval": "evaluation.qa",
    "load_qa": "evaluation.qa",
    "score_answer": "evaluation.qa",
    "load_rgb": "evaluation.rgb",
    "first_relevant_rank": "evaluation.metrics",
    "hits_at": "evaluation.metrics",
    "mrr_at": "evaluation.metrics",
    "percentile": "evaluation.metrics",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'evaluation' has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)
