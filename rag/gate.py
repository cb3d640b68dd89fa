"""The answerability gate before generation: is anything retrieved relevant enough?

Measured on the sample corpus (41 answerable and 36 unanswerable questions,
all-MiniLM-L6-v2 cosine of the best passage; figures in the README):

- answerable questions without a name in them scored 0.234-0.716; off-topic
  ones -0.064-0.192 (one, "Is it going to snow tomorrow?", 0.240): hence
  `min_relevance` 0.20;
- short questions about a name score low ("What is ISW?" 0.103): a question
  below the threshold passes when every name it asks about is in the passages;
- a question naming something no retrieved passage mentions ("What did the
  Pope say about Ukraine?" 0.509) is declined whatever its score: the
  passages cannot be about it. A name of several words counts as mentioned
  when its last word is: news calls "President Donald Trump" Trump (RealTimeQA
  dev-small: 1 of 85 questions was declined over a first name alone).

Questions that pass can still be declined by the model (`rag.prompt.is_decline`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from core.text import straighten
from core.types import Passage
from core.names import PassageView, name_in, names


@dataclass(frozen=True)
class GateResult:
    passed: bool
    best_dense: float
    reason: str  # why it passed or not, for the trace


def relevance_gate(
    question: str, passages: Sequence[Passage], min_relevance: float, common: Callable[[str], bool] | None = None
) -> GateResult:
    """`common`: tells an ordinary word opening the question ("Catastrophic flooding…") from a name."""
    best = max((p.dense_score for p in passages if p.dense_score is not None), default=0.0)
    if not passages:
        return GateResult(False, best, "nothing retrieved")
    asked = names(question, common)
    views = [PassageView.of(p) for p in passages]
    missing = [n for n in asked if not any(name_in(n, v.norm, v.words) for v in views)]
    excused = _named_by_last_word(question, asked, set(missing)) if missing else set()
    unknown = [asked[n] for n in missing if n not in excused]
    if unknown:
        return GateResult(False, best, f"no retrieved passage mentions {', '.join(unknown)}")
    if best >= min_relevance:
        return GateResult(True, best, f"best dense score {best:.3f} >= min_relevance {min_relevance}")
    if asked:
        return GateResult(True, best, f"best dense score {best:.3f} < min_relevance {min_relevance}, but the passages mention {', '.join(asked.values())}")
    return GateResult(False, best, f"best dense score {best:.3f} < min_relevance {min_relevance}")


def _named_by_last_word(question: str, asked: dict[str, str], missing: set[str]) -> set[str]:
    """The first names of runs of capitalised names ("Donald" in "President Donald Trump")
    whose last name the passages mention ("Trump")."""
    out: set[str] = set()
    for run in re.finditer(r"[A-Z][\w'.-]*\w(?:\s+[A-Z][\w'.-]*\w)+", straighten(question)):
        parts = [n for n in names(run.group(0)) if n in asked]
        if parts and parts[-1] not in missing:
            out.update(parts[:-1])
    return out
