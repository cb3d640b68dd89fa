"""Figures in sentences: a number with its unit, who gives it, and how it changed.

"Russia's military claimed close to 200 square miles in January, while
open-source think tanks put it at nearly 60" holds two figures of one unit
(square miles) from two speakers. Two figures are of the same thing when their
units match ("60" borrows the unit of the figure it is set against in the same
sentence). Pure functions; no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.text import MONTHS
from rag.context import terms

_NUM = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s+(million|billion|thousand))?(?![\w])", re.I)
_HEDGE = r"(?:(?:close to|nearly|almost|about|around|roughly|more than|over|at least|some|up to|fewer than|less than)\s+)?"
_UNIT_WORDS = r"([a-z][a-z-]{1,}(?: [a-z][a-z-]{2,})?)"
_SKIP_UNITS = {"percent", "and", "the", "of", "in", "on", "a", "to", "for", "from", "was", "were", "is", "are", "has", "had",
               "that", "this", "with", "by", "at", "or", "as", "per", "after", "before", "since", "than", "am", "pm"}
_SPEAKER_VERB = re.compile(
    r"\b(?:has |have |had )?(?:said|says|say|claimed|claims|claim|estimated|estimates|estimate|reported|reports|counted|counts|put|puts|stated|states|told)\b", re.I
)
_WHEN = re.compile(r"^\s*(?:on|in|by|last|this|early|late)\b[^,]{0,30},\s*", re.I)
_CLAUSE = re.compile(r",\s*(?:while|whereas|but|and)\s+|;\s*|\s+while\s+|\s+whereas\s+|\s+but\s+")
_MONTHS = frozenset(MONTHS.values()) | {"may"}  # the full names ("may" is no abbreviation of one)
_MONTH_BEFORE = re.compile(r"\b(?:" + "|".join([*_MONTHS, *MONTHS]) + r")\.?\s+$", re.I)  # "Nov. 9"
SAME_THING = 0.4  # share of the shorter sentence's words the other holds, at which two sentences' figures count the same thing


@dataclass(frozen=True)
class Figure:
    written: str  # "close to 200 square miles"
    value: float
    unit: str  # normalised: "square mile"
    speaker: str  # "" when the sentence names none


def _unit(word: str) -> str:
    w = word.lower().strip("-")
    return " ".join(p[:-1] if p.endswith("s") and len(p) > 3 else p for p in w.split())


def figures(sentence: str) -> list[Figure]:
    """The figures of a sentence with their units and speakers, clause by clause."""
    out: list[Figure] = []
    last_unit = ""
    for clause in _CLAUSE.split(sentence):
        speaker = _speaker(clause)
        for m in re.finditer(_HEDGE + _NUM.pattern + r"(?:\s+" + _UNIT_WORDS + r")?", clause, re.I):
            value = float(m.group(1).replace(",", "")) * {"million": 1e6, "billion": 1e9, "thousand": 1e3}.get((m.group(2) or "").lower(), 1)
            unit_word = _unit_words(m.group(3) or "")
            first = unit_word.split()[0].lower() if unit_word else ""
            dollars = clause[max(0, m.start(1) - 1) : m.start(1)] == "$"
            if 1900 <= value <= 2100 and not unit_word and re.fullmatch(r"\d{4}", m.group(1)) and not dollars:
                continue  # a year ("$2,000" is none)
            if first in _MONTHS or re.fullmatch(r"\d{1,2}", m.group(1)) and _MONTH_BEFORE.search(clause[: m.start()]):
                continue  # a date
            if dollars:
                unit = "dollar"
            elif _is_deaths(clause, m, unit_word):
                unit = "death"
            else:
                unit = _unit(unit_word) if unit_word and first not in _SKIP_UNITS else last_unit
            if not unit:
                continue
            number_end = (m.end(2) if m.group(2) else m.end(1)) - m.start(0)
            if unit == "dollar":
                written = "$" + m.group(0)[:number_end]
            elif unit_word and first not in _SKIP_UNITS:
                written = m.group(0)[: m.start(3) - m.start(0) + len(unit_word)]
            else:
                written = m.group(0)[:number_end]
            last_unit = unit
            out.append(Figure(written.strip(), value, unit, speaker))
    return out


# A count of the dead is one thing however it is told: "at least 81 people have died", "more than 120
# people killed", "floods have killed 12 people", "the death toll rose to 19 people", "52 dead". Told as
# "people" alone it would be set against any other count of people ("250 people gathered").
_DEAD_WORDS = {"dead", "death", "deaths", "fatalities", "fatality"}
_PERSONS = {"people", "person", "persons", "residents", "victims", "children", "campers", "civilians", "soldiers"}
_DIED_AFTER = re.compile(r"(?:\s+(?:have|has|had|were|was|are|is)(?:\s+been)?)?\s+(?:killed|died|dead)\b", re.I)
_KILLED_BEFORE = re.compile(r"\b(?:killed|killing|kills|kill|death toll\b.*)\s+$", re.I)


def _is_deaths(clause: str, m: re.Match[str], unit_word: str) -> bool:
    words = unit_word.lower().split()
    if words and words[0] in _DEAD_WORDS:
        return True
    if not words or words[0] not in _PERSONS:
        return False
    rest = clause[m.start(3) + len(words[0]):]
    return bool(_DIED_AFTER.match(rest)) or bool(_KILLED_BEFORE.search(clause[: m.start()]))


def _unit_words(words: str) -> str:
    """The unit's words: "square miles", "federal workers", "people"; a second word only when it
    is part of the unit, not the next clause ("12 people on Monday" is people)."""
    parts = words.split()
    if len(parts) == 2 and parts[1].lower() in _SKIP_UNITS | {"said", "says", "were", "have", "has", "will", "would"}:
        return parts[0]
    return words


def _speaker(clause: str) -> str:
    """Who gives the figures of a clause: the words before its reporting verb ("open-source think
    tanks have put it at"), or after "according to"; an appositive is kept ("Gen. Valery
    Gerasimov, head of the Russian military")."""
    m = re.search(r"according to ((?:the )?[\w'.-]+(?: [\w'.-]+){0,4}?)(?=,|\.|$| said| says)", clause, re.I)
    if m:
        return m.group(1).strip()
    m = _SPEAKER_VERB.search(clause)
    if not m:
        return ""
    before = _WHEN.sub("", clause[: m.start()]).strip(" ,")
    parts = before.split(", ")
    last = parts[-1]
    if len(parts) > 1 and last[:1].islower() and not last.startswith(("the ", "officials", "police")):
        last = parts[-2] + ", " + last  # "Gen. Valery Gerasimov, head of the Russian military"
    words = last.split()[-9:]
    while words and words[0].lower() in {"the", "and", "but", "while", "that", "which", "as", "a"}:
        words = words[1:]
    return " ".join(words).strip(" ,")


@dataclass(frozen=True)
class Change:
    unit: str
    before: str  # as written
    before_date: str
    after: str
    after_date: str
    before_sentence: str = ""  # the sentences that hold them
    after_sentence: str = ""


def changes(dated: list[tuple[str, str]]) -> list[Change]:
    """Figures of one unit that differ between dates: (date, sentence) pairs in, oldest first out.
    The latest figure of a unit is set against the earliest one whose sentence tells of the same
    thing and does not state the latest value too: a unit alone does not say what is counted
    ("$300 billion a year" of tariff revenue is no earlier value of "a $2,000 check")."""
    by_unit: dict[str, list[tuple[str, Figure, str]]] = {}
    for day, sentence in sorted(dated):
        for f in figures(sentence):
            by_unit.setdefault(f.unit, []).append((day, f, sentence))
    out = []
    for unit, seen in by_unit.items():
        last = seen[-1]
        told = {(day, sentence) for day, f, sentence in seen if f.value == last[1].value}  # a sentence holding the later value too sets no earlier one
        first = next((x for x in seen if x[0] != last[0] and x[1].value != last[1].value and (x[0], x[2]) not in told
                      and same_thing(x[2], last[2])), None)
        if first is not None:
            out.append(Change(unit, first[1].written, first[0], last[1].written, last[0], first[2], last[2]))
    return out


def same_thing(a: str, b: str) -> bool:
    """Whether two sentences tell of the same thing: the other holds SAME_THING of the shorter
    one's content words (`rag.context.terms`, numbers aside)."""
    wa, wb = (_words(x) for x in (a, b))
    shorter = min(len(wa), len(wb))
    return shorter > 0 and len(wa & wb) >= SAME_THING * shorter


def _words(sentence: str) -> set[str]:
    return {t for t in terms(sentence) if not t[0].isdigit()}


def dated_label(day: str) -> str:
    """"2026-01-05" as a reader says it with the weekday: "Mon 5 Jan"."""
    from datetime import date

    try:
        d = date.fromisoformat(day[:10])
    except ValueError:
        return day
    return f"{d.strftime('%a')} {d.day} {d.strftime('%b')}"
