"""Names in a sentence, and whether a passage mentions them.

Shared by the relevance gate (does any passage name what the question asks
about?), the chat's follow-up detection and the citation verifier. Matching is
lenient on form: curly quotes, possessives, "Jan." / "January", spelling
variants of one name ("Zelenskyy" / "Zelensky") and a party's other names
("U.S." / "American") match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from core.text import FUNCTION_WORDS, MONTHS, normalise, numbers, straighten
from core.types import Passage

# Different words for one party: an answer may say "U.S." where the article says "American".
_ALIASES = [
    {"us", "u.s", "usa", "america", "american", "americans", "united states", "washington"},
    {"uk", "u.k", "britain", "british", "united kingdom"},
    {"eu", "european union", "europe", "european", "europeans"},
    {"uae", "emirates", "united arab emirates", "abu dhabi"},
    {"kremlin", "moscow", "russia", "russian", "russians"},
    {"kyiv", "kiev", "ukraine", "ukrainian", "ukrainians"},
]
# The answer's own frame ("the passage says", "one of them") is not content.
STOPWORDS = FUNCTION_WORDS | {"one", "ones", "answer", "question", "passage", "passages", "article", "articles"}
# Capitalised words that are not names: sentence openers and titles ("President" is not who).
_NOT_NAMES = STOPWORDS | set(
    """overall meanwhile still later earlier today yesterday instead both several many most some only although though
    since despite following after before during as additionally furthermore moreover reportedly previously currently
    finally first then thus therefore while president vice prime minister foreign secretary general gen mr mrs ms dr
    spokesman spokeswoman spokesperson chancellor adviser advisor head chief officials official tell list describe
    explain summarize summarise give show name compare please find""".split()
)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:\.[a-z0-9]+)*", normalise(text))


_MONTH_NAMES = frozenset(MONTHS.values())  # January to December but May, which is also a verb


def content_words(text: str) -> set[str]:
    return {w for w in _tokens(text) if w not in STOPWORDS and len(w) > 1 and not re.fullmatch(r"[\d.]+", w)}


def names(sentence: str, common: Callable[[str], bool] | None = None) -> dict[str, str]:
    """Capitalised words and acronyms (people, places, bodies, months, days): normalised -> as written.

    A capitalised word opening the sentence may be an ordinary word ("Hope this helps"):
    it is skipped when `common(word)` says it is one (the verifier asks its embedder's
    vocabulary: a single word-piece is a common word; "Medvedev" is three).
    """
    t = straighten(sentence)
    found: dict[str, str] = {}
    for m in re.finditer(r"[A-Z][\w'.-]*\w|[A-Z]", t):
        surface = re.sub(r"'s$", "", m.group(0))
        surface = re.sub(r"(?<=[A-Z]{2})s$", "", surface)  # an acronym's plural: "SUVs" is SUV
        opening = re.fullmatch(r"[\s\"(]*", t[: m.start()]) is not None or re.search(r"[.!?:]\s*[\"(]?\s*$", t[: m.start()]) is not None
        for part in re.split(r"-", surface):
            word = part.rstrip(".").lower()
            if len(word) < 2 or word in _NOT_NAMES or not re.search(r"[a-z]", word):
                continue
            if opening and common is not None and common(word) and MONTHS.get(word, word) not in _MONTH_NAMES:
                continue  # an ordinary word opening the sentence; a month opening it is a date ("September: prices soared")
            found.setdefault(MONTHS.get(word, word), part.rstrip("."))
            opening = False
    return found


def same_name(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    common = len(_prefix(a, b))
    return len(short) >= 4 and common >= 4 and common >= 0.8 * len(short) and len(long) - common <= 3


def _prefix(a: str, b: str) -> str:
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    return a[:i]


def name_in(name: str, text_norm: str, words: set[str]) -> bool:
    """Whether `name` (normalised) occurs in a passage, up to spelling variants and aliases."""
    variants = {name, name.replace(".", "")}
    for group in _ALIASES:
        if name in group or name.replace(".", "") in group:
            variants |= group
    for v in variants:
        if " " in v or "." in v:
            if v in text_norm:
                return True
        elif v in words or v + "s" in words or any(same_name(v, w) for w in words if w[:1] == v[:1]):
            return True
    return False


@dataclass(frozen=True)
class PassageView:
    """A passage prepared for matching (normalised once)."""

    n: int
    text: str
    norm: str
    words: frozenset[str]
    numbers: frozenset[float]
    sentences: tuple[str, ...]

    @classmethod
    def of(cls, p: Passage) -> "PassageView":
        """What the passage says: its text, and the headline and date the model is shown beside
        it (the date read out, "Saturday, February 1, 2025"), which an answer may state ("In
        February, Trump imposed...")."""
        said = f"{p.text}\n{p.title}\n{_date_words(p.date)}"
        norm = normalise(said)
        words = frozenset(_tokens(said)) | frozenset(w.replace(".", "") for w in _tokens(said))
        sents = tuple(s for s, _, _ in p.sentence_texts())
        return cls(p.n, p.text, norm, words, frozenset(numbers(said)), sents)


def _date_words(day: str) -> str:
    try:
        d = date.fromisoformat(day[:10])
    except ValueError:
        return ""
    return f"{d:%A, %B} {d.day}, {d.year}"


def common_words(embedder: Any) -> Callable[[str], bool] | None:
    """Whether a word is ordinary, asked of the embedder's vocabulary (a single word-piece:
    "Catastrophic" is one, "Medvedev" three), or None when the embedder has no tokenizer here."""
    count = getattr(embedder, "count_tokens", None)
    return (lambda word: bool(count(word) == 1)) if callable(count) else None
