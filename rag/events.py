"""Choosing a story's events: for each day (or week), the sentence that states what happened.

Pure functions over passages; `rag.timeline.Events` feeds them the retrieved passages, the rest of
the closest articles, and the lead of each article (news says what happened first).

A sentence tells its bucket's event when it
- holds the question's words (rare ones count more; "happened" or "develop" only ask for the story;
  "tariff" is a form of "tariffs", "governor" is not one of "government"),
- agrees with its article's headline (the headline states the news; the sentence that
  repeats it is the one that reports it),
- stands early in its article, or early in an update of a long one (a live page's later
  news sits under its own heading, which then stands for the headline), and
- holds what is *new* in its bucket: words that several of the bucket's articles share in
  their headline or lead and the rest of the window does not ("steel" the week steel
  tariffs were announced, "pneumonia" the week the pope was treated for it), and
- stands alone and reports: a sentence that leans on the one before it ("But given that...",
  "He also threatened...", "If tariffs don't...", "The suit is separate from...") or opens with
  a quotation (what someone thinks, often without saying who) tells no event on a line of its own.

A bucket's further events must tell other news than those taken: two articles of a week often
tell one event in their own words ("is telling the Treasury to stop minting pennies" and
"said he has told the U.S. Treasury Department to stop minting pennies"), and the outlets of
every telling are listed once, on the event.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date

from nltk.stem.snowball import EnglishStemmer  # nltk is pinned for core.text's sentence splitter; the stemmer needs no data

from core.text import after_dateline
from core.types import Passage
from rag.context import term, terms, words as written_words
from rag.stages import overlap, shingles
from rag.when import topic

SAME_EVENT = 0.5  # shingle overlap at which two sentences are copies (across buckets: a later week repeating an earlier one)
SAME_NEWS = 0.55  # share of the shorter sentence's word weight that another holds, at which a bucket's two sentences tell one event
SECOND = 0.6  # a bucket's further events must score this share of its best one
MOST_PER_BUCKET = 3
LEAD_SENTENCES = 3  # sentences of an article's lead considered
LEAD_BONUS = (0.9, 0.6, 0.4)  # by place in the lead; later sentences get LATE_BONUS
LATE_BONUS = 0.1
MIN_CHARS, MAX_CHARS = 40, 400  # what can be an event's sentence
HEADING_WORDS = 16  # a line this short without a sentence's closing mark heads an update of a live page
_CLOSES = tuple(".!?:;,\"'”’)…")
CHUNKS_PER_REPORT = 6  # a long article (a live page, a recap) counts as one report more for every this many chunks it has
LEAD_ONLY_MARGIN = 0.1  # a lead sentence without the question's words counts when its article is this close to the closest
LEANING = 0.5  # the share of its score a sentence that leans on the one before it, or opens with a quotation, keeps
_LEANS = re.compile(
    r"^[\"“‘']|^(?:but|and|or|so|yet|still|also|however|though|lately|even (?:though|so|if)|if|he|she|it|they|we|"
    r"this(?! (?:morning|afternoon|evening|week|weekend|month|year)\b)|that|these|those|such|its|his|her|their)\b"
    r"|^(?:\S+\s+){0,4}also\b",
    re.I,
)
# a bare common noun as the subject, refers back to what the sentence before named: "The comments, made on
# the same Fox Business show...", "The suit is separate from...", "The agreement was due to be signed..."
_BY_NOUN = re.compile(r"^[Tt]he ([a-z]+)(?:,| (?:is|was|are|were|has|have|had|will|would|could|can|may|comes|came|follows|followed)\b)")
# a page's note about itself, before its words: what follows is news ("White smoke ... has signaled a new
# pope") or about the page ("This page is a summary of news on..."), which then leans on it, as "this" does
_NOTE = re.compile(r"(?:editor(?:['’]s)? note|update|correction|clarification)\s*[:–—-]\s*", re.I)
_stem = functools.lru_cache(maxsize=1 << 16)(EnglishStemmer().stem)
_AKIN = ("ian", "ean", "an", "al", "ese", "ish")  # endings that make a name an adjective: Ukraine, Ukrainian
HEADLINE_WEIGHT = 1.5
NEWS_WEIGHT = 2.0
_DIGIT, _NAME = re.compile(r"\d"), re.compile(r"\s[A-Z][a-z]")
# the words that ask for a story, not what it is about: "How did the tariff fight develop?" is about
# the tariff fight, and "develop" must not make "the Grok chatbot developer" a sentence of it, nor
# "What changed in the shutdown?" make "the labor market may have changed" one
_ASKING = terms(
    "happened developed developments evolved unfolded progressed going gone changed timeline chronology latest recap "
    "catch bring speed new story visit"
)


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int
    passage: Passage
    place: int  # index in its article's lead or in an update's (after a heading), else LEAD_SENTENCES
    bucket: date
    relevance: float  # closeness to the question: its article's best, averaged with its own passage's past the lead
    score: float = 0.0
    heading: str = ""  # the update heading it follows within a long article, if any
    words: frozenset[str] = frozenset()  # its content words (`rag.context.terms`), once scored


def day_of(p: Passage) -> date | None:
    try:
        return date.fromisoformat(p.date[:10])
    except ValueError:
        return None


def bucket_of(d: date, weekly: bool) -> date:
    return d.fromordinal(d.toordinal() - d.weekday()) if weekly else d


def closest_per_article(passages: list[Passage]) -> dict[str, Passage]:
    """Each article's passage closest to the question."""
    best: dict[str, Passage] = {}
    for p in passages:
        if p.article_id not in best or p.closeness > best[p.article_id].closeness:
            best[p.article_id] = p
    return best


def candidates(passages: list[Passage], leads: dict[str, Passage], weekly: bool) -> list[Sentence]:
    """Every sentence that may tell an event: the first sentences of each article's lead, and
    the sentences of its retrieved passages, each once."""
    seen: set[tuple[str, int]] = set()
    out: list[Sentence] = []
    best = {a: p.closeness for a, p in closest_per_article(passages).items()}
    for p in passages:
        d = day_of(p)
        if d is None:
            continue
        lead = leads.get(p.article_id)
        sources = ([(lead, True)] if lead is not None else []) + [(p, False)]
        for src, is_lead in sources:
            place, heading = 0, ""
            for text, start, end in src.sentence_texts():
                if cut := after_dateline(text):  # "WASHINGTON – President Trump signed...": the event is what he did
                    text, start = text[cut:], start + cut
                if label := _NOTE.match(text):  # "Editor's note: White smoke ... signaled a new pope": the note's words tell it
                    text, start = text[label.end():], start + label.end()
                short = len(text) < MIN_CHARS  # a dateline or a byline, not a sentence of the story
                if is_lead and place >= LEAD_SENTENCES:
                    break
                if not is_lead and is_heading(text):
                    place, heading = 0, text  # a live page's update starts: its first sentences are its lead
                    continue
                if (p.article_id, start) not in seen and not short:
                    seen.add((p.article_id, start))
                    relevance = best[p.article_id] if is_lead else (best[p.article_id] + p.closeness) / 2
                    at = min(place, LEAD_SENTENCES) if is_lead or heading else LEAD_SENTENCES
                    out.append(Sentence(text, start, end, src, at, bucket_of(d, weekly), relevance, heading=heading))
                place += not short
    return out


def is_heading(text: str) -> bool:
    """An update's heading inside a long article: a short line that does not end as a sentence."""
    t = text.rstrip()
    return len(t) >= MIN_CHARS // 2 and len(t.split()) <= HEADING_WORDS and not t.endswith(_CLOSES)


def score(sentences: list[Sentence], question: str) -> list[Sentence]:
    """Each sentence scored (see the module's docstring); those that cannot tell an event dropped."""
    about = topic(question)
    q = terms(about) - _ASKING
    asked = _asked(about, q)
    written = {s.text: written_words(s.text) for s in sentences}  # each sentence read once
    stems = {text: {term(w) for w in ws} for text, ws in written.items()}
    arts: dict[str, tuple[date, set[str]]] = {}
    for s in sentences:  # an article's words that say its news: its headline and its first sentences
        b, words = arts.get(s.passage.article_id, (s.bucket, terms(s.passage.title)))
        if s.place < 2:
            words = words | stems[s.text]
        arts[s.passage.article_id] = (b, words)
    all_df = Counter(t for _, words in arts.values() for t in words)
    by_bucket: dict[date, Counter[str]] = {}
    in_bucket: Counter[date] = Counter()
    for b, words in arts.values():
        by_bucket.setdefault(b, Counter()).update(words)
        in_bucket[b] += 1
    n_all = len(arts)
    n_sent = max(1, len(sentences))
    hits = {text: _asked_in(ws, asked) for text, ws in written.items()}
    sent_df = Counter(t for s in sentences for t in hits[s.text])
    idf = {t: math.log(1 + n_sent / (1 + sent_df[t])) for t in q}
    best_rel = max((s.relevance for s in sentences), default=0.0)
    out = []
    for s in sentences:
        text = s.text
        if text.rstrip().endswith("?") or len(text) > MAX_CHARS:
            continue
        words = stems[text]
        title = terms(s.heading or s.passage.title)
        hit = sum(idf.get(t, 0.0) for t in hits[text])
        if hit == 0 and (s.place >= LEAD_SENTENCES or not (title & q) and s.relevance < best_rel - LEAD_ONLY_MARGIN):
            continue  # past the lead without the question's words; or a lead about it neither in its words nor its headline's, its article not among the closest
        head = len(words & title) / len(title) if title else 0.0
        n_b, df_b = in_bucket[s.bucket], by_bucket[s.bucket]
        news = sum(max(0.0, df_b[t] / n_b - all_df[t] / n_all) for t in words - q if df_b[t] >= 2) if n_all > n_b else 0.0
        lead = LEAD_BONUS[s.place] if s.place < LEAD_SENTENCES else LATE_BONUS if s.start < 1200 else 0.0
        facts = 0.2 * bool(_DIGIT.search(text)) + 0.1 * bool(_NAME.search(text[1:]))
        value = hit + HEADLINE_WEIGHT * head + NEWS_WEIGHT * news + lead + facts + s.relevance
        if leans(text, q):
            value *= LEANING
        out.append(replace(s, score=value, words=frozenset(words)))
    return out


def _asked(question: str, q: set[str]) -> dict[str, set[str]]:
    """The question's words as written, by their crude stem (`rag.context.term`)."""
    out: dict[str, set[str]] = {}
    for w in written_words(question):
        if term(w) in q:
            out.setdefault(term(w), set()).add(w)
    return out


def _asked_in(text_words: list[str], asked: dict[str, set[str]]) -> set[str]:
    """The question's words a sentence holds (`text_words`, as written), matched more strictly than by
    their first five letters: "the government shutdown" is not answered by "Candidates for governor"."""
    return {t for w in text_words if (t := term(w)) in asked and any(same_word(a, w) for a in asked[t])}


def same_word(asked: str, word: str) -> bool:
    """Whether `word` is a form of `asked`: the same Snowball stem ("tariffs", "tariff"), or its
    stem grown by an ending that makes a name an adjective ("Ukrainian" of "Ukraine",
    "presidential" of "president"); "governor" is not a form of "government"."""
    if asked == word or asked[0].isdigit() or word[0].isdigit():
        return asked == word
    a, w = _stem(asked), _stem(word)
    if a == w:
        return True
    if w.startswith(a):
        return word.endswith(_AKIN)
    return a.startswith(w) and asked.endswith(_AKIN)


def leans(text: str, topic_words: set[str] | frozenset[str]) -> bool:
    """Whether `text` leans on the sentence before it: a connective, a pronoun or "also" among its
    first words, an opening quotation, or a bare noun as its subject that is not the story's own
    ("The suit is..." leans; "The shutdown is causing..." does not in a story about the shutdown)."""
    if _LEANS.search(text):
        return True
    m = _BY_NOUN.match(text)
    return m is not None and not terms(m.group(1)) & topic_words


def picks(scored: list[Sentence], most: int) -> list[tuple[Sentence, list[Sentence]]]:
    """The events, oldest first, each with its bucket's sentences that tell the same news (for
    the outlets that also report it): each bucket's best sentence; then, while there is room,
    more when they score close to the best and tell other news (a busy week holds several
    developments: one more for every two reports, up to MOST_PER_BUCKET). A report is an
    article, or a share of a long one: a live page's later updates are news of their own, so
    one article may tell several events, each from another of its passages."""
    buckets: dict[date, list[Sentence]] = {}
    for s in scored:
        buckets.setdefault(s.bucket, []).append(s)
    alike = Likeness(scored)
    firsts, seconds = [], []
    told: list[str] = []
    for b in sorted(buckets):
        ranked = sorted(buckets[b], key=lambda s: -s.score)
        top = next((s for s in ranked if not any(alike.copies(s.text, t) for t in told)), None)
        if top is None:
            continue  # the bucket only repeats what an earlier one told
        told.append(top.text)
        reports = sum(1 + n // CHUNKS_PER_REPORT for n in {s.passage.article_id: s.passage.chunks for s in ranked}.values())
        taken = [top]
        for s in ranked[1:]:
            if len(taken) >= min(MOST_PER_BUCKET, 1 + reports // 2) or s.score < SECOND * top.score:
                break
            if all(s.passage.chunk_id != t.passage.chunk_id and not alike(s.text, t.text) for t in taken):
                taken.append(s)
                told.append(s.text)
        with_tellings = [(t, [s for s in ranked if s is not t and alike(s.text, t.text)]) for t in taken]
        firsts.append(with_tellings[0])
        seconds += with_tellings[1:]
    chosen = sorted(firsts, key=lambda e: -e[0].score)[:most]
    chosen += sorted(seconds, key=lambda e: -e[0].score)[: max(0, most - len(chosen))]
    return sorted(chosen, key=lambda e: (e[0].passage.date, -e[0].score))


class Likeness:
    """Whether two sentences tell the same news in their own words: the share of the shorter
    one's word weight (rare words among the candidates weigh more: "pennies", not "Trump")
    that the other holds, at SAME_NEWS or above; or copies by shingle overlap."""

    def __init__(self, sentences: list[Sentence]) -> None:
        self._terms = {s.text: s.words for s in sentences}
        df = Counter(t for words in self._terms.values() for t in words)
        self._weight = {t: math.log((1 + len(self._terms)) / c) for t, c in df.items()}
        self._mass = {x: self._weigh(words) for x, words in self._terms.items()}
        self._shingles: dict[str, set[str]] = {}

    def __call__(self, a: str, b: str) -> bool:
        shorter = min(self._mass[a], self._mass[b])
        if shorter > 0 and self._weigh(self._terms[a] & self._terms[b]) >= SAME_NEWS * shorter:
            return True
        return self.copies(a, b)

    def copies(self, a: str, b: str) -> bool:
        """Whether the two are copies (shingle overlap at SAME_EVENT or above)."""
        return overlap(self._shingled(a), self._shingled(b)) >= SAME_EVENT

    def _weigh(self, words: frozenset[str]) -> float:
        return sum(self._weight[t] for t in words)

    def _shingled(self, text: str) -> set[str]:
        if text not in self._shingles:
            self._shingles[text] = shingles(text)
        return self._shingles[text]
