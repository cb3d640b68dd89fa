"""The `extractive` backend: no model at all. It answers with the sentences of
the top passages that best match the question, each cited as [n], and
declines ("NOT IN THE ARTICLES") when no sentence matches enough. Instant,
for machines too small for an LLM.

Matching: question words (stop words dropped, light suffix stemming) weighted
by how rare they are among the passages' sentences, so "Trump" in every
sentence counts for little and "spokesman" for much.
"""

from __future__ import annotations

import math
import re
from typing import Iterator, Sequence

from core.models.base import DECLINE, GenerationRequest
from core.text import FUNCTION_WORDS

STOP = FUNCTION_WORDS | {"tell", "current", "currently"}  # "Tell me the current ..." asks, it does not match
MIN_COVER = 0.34  # share of the question's weight the best sentence must hold, or we decline
SECOND = 0.75  # a second sentence is added when it scores this close to the best,
NEW_WORDS = 0.15  # or when it holds this share of the question's weight the first lacks
HALF = 0.5  # (and scores at least half as well)


def stem(word: str) -> str:
    for suffix in ("ies", "ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def terms(text: str) -> set[str]:
    return {stem(w) for w in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower()) if w not in STOP and len(w) > 1}


class ExtractiveLLM:
    name = "extractive"

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        if request.purpose == "revise":  # the same sentences again would change nothing
            return
        if request.purpose != "answer":  # e.g. follow-up condensing: keep the question as asked
            yield request.question or request.messages[-1]["content"]
            return
        yield answer_from(request.question, request.passages)


def answer_from(question: str, passages: Sequence[object]) -> str:
    """Best-matching sentences with their passage numbers, or the decline marker."""
    q = terms(question)
    sentences = [(p.n, s) for p in passages for s, _, _ in p.sentence_texts() if s.strip()]  # type: ignore[attr-defined]
    if not q or not sentences:
        return DECLINE
    bags = [terms(s) for _, s in sentences]
    df = {t: sum(t in b for b in bags) for t in q}
    weight = {t: math.log(1 + len(bags) / (1 + df[t])) for t in q}
    total = sum(weight.values())
    scored = []
    for i, ((n, s), bag) in enumerate(zip(sentences, bags)):
        hit = sum(weight[t] for t in q & bag)
        # Among equals prefer earlier passages (better ranked) and earlier sentences.
        scored.append((hit, -i, n, s, bag))
    scored.sort(key=lambda c: (c[0], c[1]), reverse=True)
    first = scored[0]
    if first[0] < MIN_COVER * total:
        return DECLINE
    picked = [first]
    # A second sentence: nearly as good, or one that covers question words the first missed.
    covered = q & first[4]
    seconds = []
    for cand in scored[1:]:
        gain = sum(weight[t] for t in (q & cand[4]) - covered)
        close = cand[0] >= SECOND * first[0]
        complements = gain >= NEW_WORDS * total and cand[0] >= HALF * first[0]
        if (close or complements) and cand[4] != first[4]:  # not a repeat (overlapping chunks)
            seconds.append((gain, cand[0], cand[1], cand))
    if seconds:
        picked.append(max(seconds)[3])
    picked.sort(key=lambda c: -c[1])  # reading order
    return " ".join(_cite(s, n) for _, _, n, s, _ in picked)


def _cite(sentence: str, n: int) -> str:
    """`Peskov said so [2].`: the marker before a final full stop, else after the sentence."""
    s = " ".join(sentence.split())
    if s.endswith("."):
        return f"{s[:-1]} [{n}]."
    return f"{s} [{n}]" if s[-1:] in "!?\"'”’)" else f"{s} [{n}]."
