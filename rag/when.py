"""Time words in a question, resolved against the as-of date into a window.

"this week" as of 2026-01-07 is 2026-01-01 … 2026-01-07. The phrases are a
closed set that news readers use, matched with patterns: a general date parser
(dateparser) turns "this week" into one instant, not a range, and guesses at
words like "may" and "now", so it would add cost and errors here.

Windows (A = the as-of date, both ends included):
- today: A; yesterday: A-1 … A (reported yesterday or today)
- this week: A-6 … A (the last seven days); last week: A-13 … A-7
- on Tuesday (a weekday): the last such day … A
- this month / so far this month: the 1st … A; last month: the calendar month before
- in March [2025]: that month (the latest one not after A when no year is given)
- since January [2025]: the 1st of that month … A; since March 8 / since 2026-03-08: that day … A
- since Monday: the last Monday before A … A
- in / between February and May 2025: 1 February … 31 May (not past A)
- so far this year / this year: 1 January … A; last year: the year before; in 2025: that year
- recently / lately / in recent days / these days: A-30 … A
- latest, most recent, newest, currently, now, current, still: no window, but the
  newest relevant passages win (`latest=True`).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
MONTHS.pop("may", None)  # "may" is mostly the verb; "in May" is matched by its own pattern below
WEEKDAYS = {d.lower(): i for i, d in enumerate(calendar.day_name)}
_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?"
_YEAR = r"((?:19|20)\d\d)"

_LATEST = re.compile(
    r"\b(latest|most recent(?:ly)?|newest|currently|current|right now|now|at present|presently|still|as of today|up to date)\b", re.I
)


@dataclass(frozen=True)
class Window:
    """When a question asks about: [since, until] (either may be open) and how the reader is told."""

    since: date | None
    until: date | None
    phrase: str  # the words that set it, as written
    latest: bool = False  # the question asks for the newest state of things

    @property
    def label(self) -> str:
        if self.since is None and self.until is None:
            return self.phrase
        span = f"{self.since or '…'} to {self.until or '…'}" if self.since != self.until else f"{self.since}"
        return f"{self.phrase} ({span})"

    def contains(self, d: date | None) -> bool:
        if d is None:
            return False
        return (self.since is None or d >= self.since) and (self.until is None or d <= self.until)

    def describe(self) -> dict[str, object]:
        return {
            "phrase": self.phrase,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "latest": self.latest,
        }


def _month_window(month: int, year: int | None, as_of: date) -> tuple[date, date]:
    if year is None:
        year = as_of.year if month <= as_of.month else as_of.year - 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, 1), min(date(year, month, last), as_of) if year == as_of.year and month == as_of.month else date(year, month, last)


def _day_in(month: int, day: int, year: int | None, as_of: date) -> date:
    """Day `day` of `month` in `year`, or in the latest year that puts it on or before `as_of`."""
    year = year or (as_of.year if (month, day) <= (as_of.month, as_of.day) else as_of.year - 1)
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _month_number(word: str) -> int:
    w = word.lower().rstrip(".")
    return 5 if w == "may" else MONTHS.get(w, MONTHS.get(w[:3], 0))


def _rules(as_of: date) -> list[tuple[re.Pattern[str], object]]:
    A = as_of

    def fixed(since: date, until: date) -> object:
        return lambda m: (since, until)

    first_this_month = A.replace(day=1)
    last_month_end = first_this_month - timedelta(days=1)
    return [
        (re.compile(r"\bsince (\d{4}-\d\d-\d\d)\b"), lambda m: (date.fromisoformat(m.group(1)), A)),
        (re.compile(rf"\bsince {_MONTH} (\d{{1,2}})(?:st|nd|rd|th)?(?:,? {_YEAR})?\b", re.I),
         lambda m: (_day_in(_month_number(m.group(1)), int(m.group(2)), int(m.group(3)) if m.group(3) else None, A), A)),
        (re.compile(r"\bsince (?:last )?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I),
         lambda m: (A - timedelta(days=(A.weekday() - WEEKDAYS[m.group(1).lower()]) % 7 or 7), A)),
        (re.compile(rf"\b(?:in|between|from) {_MONTH} (?:and|to|through|until) {_MONTH},? {_YEAR}\b", re.I),
         lambda m: (_month_window(_month_number(m.group(1)), int(m.group(3)), A)[0],
                    min(_month_window(_month_number(m.group(2)), int(m.group(3)), A)[1], A))),
        (re.compile(r"\b(so far this year|this year|year to date)\b", re.I), fixed(date(A.year, 1, 1), A)),
        (re.compile(r"\blast year\b", re.I), fixed(date(A.year - 1, 1, 1), date(A.year - 1, 12, 31))),
        (re.compile(r"\b(so far this month|this month)\b", re.I), fixed(first_this_month, A)),
        (re.compile(r"\blast month\b", re.I), fixed(last_month_end.replace(day=1), last_month_end)),
        (re.compile(r"\b(this week|this past week|past week)\b", re.I), fixed(A - timedelta(days=6), A)),
        (re.compile(r"\blast week\b", re.I), fixed(A - timedelta(days=13), A - timedelta(days=7))),
        (re.compile(r"\b(today|tonight|this morning)\b", re.I), fixed(A, A)),
        (re.compile(r"\byesterday\b", re.I), fixed(A - timedelta(days=1), A)),
        (re.compile(r"\b(recently|lately|in recent days|these days|in recent weeks)\b", re.I), fixed(A - timedelta(days=30), A)),
        (re.compile(rf"\bsince {_MONTH}(?:,? {_YEAR})?\b", re.I),
         lambda m: (_month_window(_month_number(m.group(1)), int(m.group(2)) if m.group(2) else None, A)[0], A)),
        (re.compile(rf"\b(?:in|during|throughout) {_MONTH}(?:,? {_YEAR})?\b", re.I),
         lambda m: _month_window(_month_number(m.group(1)), int(m.group(2)) if m.group(2) else None, A)),
        (re.compile(rf"\bsince {_YEAR}\b", re.I), lambda m: (date(int(m.group(1)), 1, 1), A)),
        (re.compile(rf"\b(?:in|during|throughout) {_YEAR}\b", re.I),
         lambda m: (date(int(m.group(1)), 1, 1), min(date(int(m.group(1)), 12, 31), A))),
        (re.compile(r"\b(?:on|last|this) (monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I),
         lambda m: (A - timedelta(days=(A.weekday() - WEEKDAYS[m.group(1).lower()]) % 7), A)),
    ]


def resolve(question: str, as_of: date) -> Window | None:
    """The window the question's time words ask for, or None when it has none."""
    for pattern, make in _rules(as_of):
        if (m := pattern.search(question)) is not None:
            since, until = make(m)  # type: ignore[operator]
            if since > as_of:  # "in 2027" as of 2026: nothing can be in it; keep the window, the reader is told
                until = since
            latest = _LATEST.search(question) is not None
            return Window(since, until, m.group(0), latest)
    if (m := _LATEST.search(question)) is not None:
        return Window(None, None, m.group(0), latest=True)
    return None


# A month takes its day and year along ("since Oct. 20, 2025"): left behind, "20" would be a word
# of the topic, and the events step would prefer every sentence that says "Oct. 20" or "20%".
_TIME_WORD = re.compile(
    r"\b(?:(?:since|between|from|until|till|through|during|in|on|of|and|to|the|early|late|mid)\s+)*"
    r"(?:\d{4}-\d\d-\d\d\b|"
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
    r"\b(?:\.(?!\w))?(?:\s+\d{1,2}(?:st|nd|rd|th)?\b)?(?:,?\s+(?:19|20)\d\d\b)?|"
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|spring|summer|autumn|fall|winter|(?:19|20)\d\d|"
    r"(?:this|last|past|next)\s+(?:week|month|year|weekend)|today|yesterday|tonight|recently|lately)\b)",
    re.I,
)


def topic(question: str) -> str:
    """The question without its time words ("the Vatican between February and May 2025" ->
    "the Vatican"): what a story is about, once its window is a filter of its own."""
    text = re.sub(r"\s{2,}", " ", _TIME_WORD.sub(" ", question)).strip()
    text = re.sub(r"\s+([?.!,])", r"\1", text)
    return text if re.search(r"\w", text) else question


def without_asked_dates(question: str, text: str) -> str:
    """`text` without the dates it repeats from the question's time words: "Since October 20,
    the shutdown..." answering "What changed since Oct. 20?" restates what the reader asked, not
    a figure its cited passage must hold."""
    keys = [_date_key(m.group(0)) for m in _TIME_WORD.finditer(question)]
    asked = {k for key in keys for k in (key, tuple(x for x in key if len(x) != 4)) if any(k)}  # with its year or without
    return _TIME_WORD.sub(lambda m: " " if _date_key(m.group(0)) in asked else m.group(0), text) if asked else text


def _date_key(phrase: str) -> tuple[str, ...]:
    """What a time phrase names, however written: its month as a number ("Oct." and "October"),
    its weekday and its digits; () when it names none of them ("recently")."""
    words = re.findall(r"[a-z]+|\d+", phrase.lower())
    month = next((str(_month_number(w)) for w in words if w in MONTHS or w in ("may", "sept")), "")
    day = next((w for w in words if w in WEEKDAYS), "")
    digits = tuple(w for w in words if w.isdigit())
    return (month, day, *digits) if month or day or digits else ()
