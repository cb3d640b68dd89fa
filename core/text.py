"""The text toolkit: one sentence splitter, one keyword tokenizer, one stopword list (and
its extension for content words), one number and date normaliser. Chunking, BM25,
retrieval, the gate, the verifier and citations use it.

Sentences come from NLTK's Punkt with the English parameters that llama-index ships
(no download), plus the abbreviations news text needs ("No. 1", "Gov.", "Sept."):
chosen over pysbd and the regex splitter newsrag had for accuracy and speed
(`bench/sentence_splitters.py`, figures in bench/README.md).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Any

# --- sentences

# Added to the abbreviations Punkt learned (it knows mr, dr, u.s, jan, gen, ... but not these).
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof gen lt col maj capt sgt adm sen rep gov pres sec st jr sr inc ltd co corp no nos vs etc
    approx dept est jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.u d.c a.m p.m fig vol mt ft
    rev sq pop e.g i.e""".split()
)
_ALNUM = re.compile(r"\w")
_PUNKT = "_static/nltk_cache/tokenizers/punkt_tab/english"


@lru_cache(maxsize=1)
def _punkt() -> Any:
    """Punkt with llama-index's English parameters, read directly (NLTK's own loader refuses
    paths outside its data folders, and nothing may be downloaded)."""
    from nltk.tabdata import PunktDecoder
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    folder = resources.files("llama_index.core") / _PUNKT
    params, dec = PunktParameters(), PunktDecoder()
    with (folder / "collocations.tab").open(encoding="utf-8") as f:
        params.collocations = set(dec.tab2tups(f))
    with (folder / "sent_starters.txt").open(encoding="utf-8") as f:
        params.sent_starters = dec.txt2set(f)
    with (folder / "abbrev_types.txt").open(encoding="utf-8") as f:
        params.abbrev_types = dec.txt2set(f) | ABBREVIATIONS
    with (folder / "ortho_context.tab").open(encoding="utf-8") as f:
        params.ortho_context = dec.tab2intdict(f)
    return PunktSentenceTokenizer(params)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans (absolute offsets, no surrounding white space) within text[start:end]."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for s, e in _punkt().span_tokenize(text[start:end]):
        s, e = _strip(text, start + s, start + e)
        if s >= e:
            continue
        if spans and not _ALNUM.search(text, s, e):
            spans[-1] = (spans[-1][0], e)  # Punkt leaves the `".` of `"Why?".` on its own
        else:
            spans.append((s, e))
    return spans


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def _strip(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


# A dateline opening a story's first sentence: where it was filed, not what happened ("WASHINGTON –",
# "VATICAN CITY, Feb 18 -", "RIVERSIDE, Calif., Jan. 12, 2026 (AP) —"). A dash joined to a word ("AI-assisted") is none.
_DATELINE = re.compile(
    r"^[A-Z][A-Z.'’]+(?: [A-Z][A-Z.'’]*){0,3}(?:, [A-Z][A-Za-z.]*(?: [A-Z][A-Za-z.]*)?)?"
    r"(?:,? [A-Z][a-z]{2,8}\.? \d{1,2}(?:, \d{4})?)?(?: \([^()]{1,40}\))? ?[-–—−] +"
)


def after_dateline(sentence: str) -> int:
    """Where `sentence`'s own words begin: past an opening dateline, else 0."""
    m = _DATELINE.match(sentence)
    return m.end() if m else 0


# --- words

# Words that say nothing about the topic, dropped from keyword tokens (BM25). Measured on RGB:
# also dropping the longer list below costs Hits@1 0.49 -> 0.47 (bench/README.md).
STOPWORDS = frozenset(
    """a an the and or but of to in on at for with by from as is are was were be been being it its this that these
    those he she they them his her their we our you your i me my what which who whom whose when where why how do does
    did has have had not no so than then there here if into over about after before up down out will would can could
    should may might must said says say also""".split()
)
# Every function word, for telling whether an answer's wording is in a passage (the verifier,
# the extractive backend): "between" or "most" there is not a claim.
FUNCTION_WORDS = STOPWORDS | frozenset(
    """above according again against all am any because below between both doing during each few further having hers
    herself him himself however itself just more most myself nor now off once only other ours own same shall some still
    such theirs themselves through told too under until very while yes""".split()
)

# Numbers written as words or ordinals read as digits, so "season 4" finds "the fourth season".
# "one" and "first" stay words: they are mostly not numbers ("one of the", "first round").
_CARDINALS = "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"
_ORDINALS = "second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
NUMBER_WORDS: dict[str, int] = {
    **{w: n for n, w in enumerate(_CARDINALS.split(), 2)},
    **{w: n for n, w in enumerate(_ORDINALS.split(), 2)},
    **{w: 10 * n for n, w in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), 3)},
    "hundred": 100,
}
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_WORD = re.compile(r"\w+")
_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)")


def words(text: str) -> list[str]:
    """Lower-cased word tokens, in order."""
    return _WORD.findall(text.lower())


def tokenize(text: str) -> list[str]:
    """Keyword tokens: lower-cased words without stop words; number words and ordinals as digits."""
    out = []
    for t in words(text):
        if t in STOPWORDS:
            continue
        if (m := _ORDINAL.fullmatch(t)) is not None:
            t = m.group(1)
        n = NUMBER_WORDS.get(t)
        out.append(str(n) if n is not None else t)
    return out


def number_tokens(text: str) -> set[str]:
    """The keyword tokens that hold a digit ("2019", "q1", "5a", "4" for "fourth"): what retrieval
    matches a question's numbers by, as BM25 sees them. For the values a text states, see `numbers`
    (on RGB, values instead of tokens lose "Q1 2021"'s quarter: Hits@1 0.49 -> 0.48)."""
    return {t for t in tokenize(text) if any(ch.isdigit() for ch in t)}


# --- normal forms

_ID_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})
_STRAIGHT = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-", "\u00a0": " "})
MONTHS = {
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june", "jul": "july",
    "aug": "august", "sep": "september", "sept": "september", "oct": "october", "nov": "november", "dec": "december",
}


def fold(text: str) -> str:
    """Case-, space- and quote-insensitive form for ids and content hashes.
    Frozen: article ids and stored hashes are made from it."""
    text = unicodedata.normalize("NFKC", text).translate(_ID_QUOTES)
    return re.sub(r"\s+", " ", text).strip().lower()


def straighten(text: str) -> str:
    """Straight quotes and dashes, plain spaces; case and length kept."""
    return text.translate(_STRAIGHT)


def normalise(text: str) -> str:
    """The form facts are matched in: `fold` of `straighten`, no possessives, full month names."""
    t = fold(straighten(text))
    t = re.sub(r"(\w)'s\b", r"\1", t)
    return re.sub(r"\b([a-z]{3,4})\.(?=\s*\d)", lambda m: MONTHS.get(m.group(1), m.group(1)), t)


# --- numbers

_NUMBER = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(?:st|nd|rd|th)\b)?(?:\s+(thousand|million|billion|trillion)\b)?"
)


def number_mentions(text: str) -> list[tuple[str, float]]:
    """(as written, value) of each number stated in `text`: digits, number words, ordinals,
    scales ("1.2 million" is 1,200,000)."""
    t = normalise(text)
    out = []
    for m in _NUMBER.finditer(t):
        value = float(m.group(1).replace(",", ""))
        out.append((m.group(0), round(value * _SCALES[m.group(2)], 3) if m.group(2) else value))
    out += [(w, float(NUMBER_WORDS[w])) for w in re.findall(r"[a-z]+", t) if w in NUMBER_WORDS]
    return out


def numbers(text: str) -> set[float]:
    """Every value a reader could take from `text`: "1.2 million" gives 1.2 and 1,200,000;
    "the fourth season" and "season 4" both give 4; "2019-05-03" gives 2019, 5 and 3."""
    out = {v for _, v in number_mentions(text)}
    out |= {float(m.group(1).replace(",", "")) for m in _NUMBER.finditer(normalise(text))}
    return out


# The LLM's tokens in a text, estimated from its length: Qwen2.5's tokenizer reads about
# 4.7 characters of English news a token (within 3% of its own count on the seed prompts).
CHARS_PER_TOKEN = 4.7


def estimated_tokens(text: str) -> float:
    return len(text) / CHARS_PER_TOKEN
