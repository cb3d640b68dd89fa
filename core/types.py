"""What `answer()` returns. Frozen dataclasses, JSON-ready via `to_dict()`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, numbered as the LLM saw it."""

    n: int
    chunk_id: str
    article_id: str
    title: str
    source: str
    date: str
    text: str
    start: int  # character span in the article
    end: int
    score: float  # fused (RRF) score
    dense_score: float | None = None
    dense_rank: int | None = None
    keyword_score: float | None = None
    keyword_rank: int | None = None
    byline: str = ""
    url: str = ""
    path: str = ""
    sentences: tuple[tuple[int, int], ...] = ()  # sentence spans in the article
    also_in: tuple[str, ...] = ()  # outlets that ran a copy of this passage (collapsed into it)
    boosts: tuple[tuple[str, float], ...] = ()  # retrieval stage -> factor it applied to the score
    page: int = 0  # page of a PDF the passage starts on (1-based); 0 when the source has no pages
    cosine: float | None = None  # closeness to the question, also for a keyword-only hit
    chunks: int = 0  # how many chunks its article has (0: not known)

    @property
    def closeness(self) -> float:
        """Closeness to the question: the dense score, else the cosine fetched with the text."""
        return self.dense_score if self.dense_score is not None else self.cosine or 0.0

    def sentence_texts(self) -> list[tuple[str, int, int]]:
        """(sentence, start, end) in article offsets; chunk text joins sentences with one space."""
        out, pos = [], 0
        for s, e in self.sentences:
            n = e - s
            out.append((self.text[pos : pos + n], s, e))
            pos += n + 1
        return out or [(self.text, self.start, self.end)]


@dataclass(frozen=True)
class Citation:
    n: int  # the number shown in the answer text, in order of first use
    passage: int  # the passage number the model cited
    article_id: str
    title: str
    source: str
    date: str
    quote: str  # the sentence of the passage that best supports the claim
    start: int  # span of `quote` in the article
    end: int
    path: str = ""
    page: int = 0  # page of a PDF the cited passage starts on (1-based); 0 when the source has no pages
    url: str = ""  # the article's URL, when it came from the web or a feed


@dataclass(frozen=True)
class Unsupported:
    sentence: str
    reason: str
    citations: tuple[int, ...] = ()


@dataclass(frozen=True)
class Repair:
    """A citation the verifier moved: the model's passage lacked the sentence's facts, another held them all."""

    n: int  # the citation number in the answer text
    from_passage: int
    to_passage: int
    reason: str


@dataclass(frozen=True)
class Revision:
    """The verifier flagged the model's first answer, and another may be shown: the model's second
    try, after it was shown the flags, or (a story's overview) the first without the flagged sentences."""

    draft: str  # the first answer, as the reader saw it stream
    flagged: tuple[Unsupported, ...]  # what the verifier said of it
    revised: str  # the second answer ("" when the backend failed)
    kept: bool  # the second answer replaced the first: it has fewer flagged sentences


@dataclass(frozen=True)
class TimelineEvent:
    """One dated step of a story: the sentence that says what happened, cited where it stands."""

    date: str  # the reporting article's date (ISO)
    text: str
    citations: tuple[Citation, ...]
    outlets: tuple[str, ...]  # every outlet that reported it, once each
    story: str = ""  # the story's id (store/stories.py)


@dataclass(frozen=True)
class Claim:
    """A figure as one source gives it: who says it (the speaker in the sentence, else the outlet)."""

    speaker: str
    figure: str  # as written: "close to 200 square miles"
    value: float
    unit: str
    date: str
    citation: int  # the [n] it is cited as in the answer text


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    answerable: bool
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    dropped_citations: tuple[int, ...] = ()
    unsupported: tuple[Unsupported, ...] = ()
    error: str | None = None
    trace: dict[str, Any] | None = None
    repaired_citations: tuple[Repair, ...] = ()
    revision: Revision | None = None
    as_of: str = ""  # the date the question was asked as of (ISO); nothing published later was read
    window: dict[str, Any] | None = None  # the time window the question's words named, if any
    freshness: str = ""  # how current the answer is: "Newest source: 2026-01-07 (The Washington Post)"
    mode: str = "factoid"  # "factoid" (one fact) or "timeline" (how a story developed)
    timeline: tuple[TimelineEvent, ...] = ()  # a timeline answer's events, oldest first
    claims: tuple[Claim, ...] = ()  # figures for one thing that the sources give differently (who says what)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kw)
