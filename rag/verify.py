"""Citation verification: is each answer sentence backed by the passage it cites?

No extra LLM call. For each sentence (with its renumbered `[n]` citations):

1. Facts it states (names, numbers, dates) must appear in a cited passage: its text, or the
   headline and date the model reads it under.
   A fact found in no retrieved passage at all is always flagged; one found
   only in another retrieved passage means the citation is wrong.
2. Otherwise the sentence must share enough with its cited passage: content
   words (lexical) or embedding similarity to the passage's best sentence.
3. A sentence with factual content and no citation is flagged.

Matching is lenient on form, strict on substance: curly quotes, possessives,
"Jan." / "January", "4" / "four", "1.2 million" / "1,200,000" and spelling
variants of one name ("Zelenskyy" / "Zelensky", "Ukraine" / "Ukrainian") match.

Pure functions (`sentence_facts`, `check_sentence`, `verify`) do the work;
`CitationVerifier` adds the embedder and is the Engine's `verifier` hook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Sequence

from core.text import number_mentions, numbers, straighten
from core.types import Answer, Repair, Unsupported
from rag.citations import make_citation, sentences_with_citations
from core.names import PassageView, common_words, content_words, name_in, names, same_name
from rag.when import without_asked_dates

# A sentence is backed by a cited passage when half its content words are in it, or when
# its embedding is close to one of the passage's sentences. Measured (all-MiniLM-L6-v2) on
# 8 faithful paraphrases with few shared words: cosine 0.44-0.79; on 8 claims the passage
# does not make: -0.04-0.42 (the highest, 0.42, a contradiction: "Europe refused to send
# any forces" against "there would be European forces", which no similarity can catch).
MIN_OVERLAP = 0.5
MIN_SIMILARITY = 0.45

Similarity = Callable[[str, Sequence[str]], float]  # sentence, passage sentences -> best cosine

_META = re.compile(r"\b(the |these )?(passages?|articles?|sources?|text)\b.*\b(do not|don't|does not|doesn't|not)\b", re.I)
_ABOUT_PASSAGES = re.compile(r"\b(?:cited|retrieved|numbered|given|these|other|the) passages?\b(?! of\b)|\bpassages? \[?\d", re.I)


def about_passages(text: str) -> bool:
    """A reply about the passages, not the news: the 1.5B model's second try sometimes says the
    verifier's finding back ("October is not in the cited passage. [1]") instead of answering."""
    return _ABOUT_PASSAGES.search(text) is not None


@dataclass(frozen=True)
class Fact:
    """A checkable detail of a sentence: a name ("Financial Times": each word must be found)
    or a number, with its wording."""

    label: str
    names: tuple[str, ...] = ()
    number: float | None = None

    def found_in(self, v: PassageView) -> bool:
        if self.number is not None:
            return self.number in v.numbers
        return all(name_in(n, v.norm, v.words) for n in self.names)


def facts(sentence: str, common: Callable[[str], bool] | None = None) -> list[Fact]:
    """Names (runs of capitalised words, as one fact each) and numbers stated in `sentence`."""
    found = names(sentence, common)
    out: list[Fact] = []
    for run in re.finditer(r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*", sentence):
        parts = tuple(n for n in names(run.group(0)) if n in found)
        if parts:
            shown = [found[n] for n in parts]
            label = " ".join(shown) if " ".join(shown) in sentence else ", ".join(shown)
            out.append(Fact(label, names=parts))
    seen: dict[float, str] = {}
    for surface, value in number_mentions(sentence):
        seen.setdefault(value, surface)
    out += [Fact(surface, number=value) for value, surface in seen.items()]
    return out


def _has_facts(sentence: str, common: Callable[[str], bool] | None) -> bool:
    """Anything beyond "Yes." or "No.": even a lone "banana" is a claim when it answers a question."""
    return bool(facts(sentence, common)) or bool(content_words(sentence))


def check_sentence(
    sentence: str,
    cited: Sequence[PassageView],
    retrieved: Sequence[PassageView],
    similarity: Similarity | None = None,
    common: Callable[[str], bool] | None = None,
) -> str | None:
    """Why `sentence` is not supported by its `cited` passages, or None when it is."""
    if _META.search(sentence):
        return None  # "The passages do not say when." is about the sources, not a claim
    if not cited:
        return "cites no passage" if _has_facts(sentence, common) else None
    missing = [f for f in facts(sentence, common) if not any(f.found_in(v) for v in cited)]
    nowhere = [f for f in missing if not any(f.found_in(v) for v in retrieved)]
    if nowhere:
        return f"{_list(nowhere)} {'is' if len(nowhere) == 1 else 'are'} in no retrieved passage"
    if missing:
        where = ", ".join(str(n) for n in sorted({v.n for f in missing for v in retrieved if f.found_in(v)}))
        return f"{_list(missing)} not in the cited passage but in another retrieved one (passage {where} in the trace)"
    weak = [v for v in cited if not _supports(sentence, v, similarity)]
    if len(weak) == len(cited):
        return "the cited passage does not support it"
    if weak:
        return f"one cited passage does not support it (passage {', '.join(str(v.n) for v in weak)} in the trace)"
    return None


def _overlap(sentence: str, v: PassageView) -> float:
    """Share of the sentence's content words found in the passage (spelling variants count)."""
    words = content_words(sentence)
    if not words:
        return 1.0
    found = sum(1 for w in words if w in v.words or any(same_name(w, x) for x in v.words if x[:1] == w[:1]))
    return found / len(words)


def _supports(sentence: str, v: PassageView, similarity: Similarity | None) -> bool:
    if _overlap(sentence, v) >= MIN_OVERLAP:
        return True
    return similarity is not None and similarity(sentence, v.sentences) >= MIN_SIMILARITY


def _list(items: Iterable[Fact]) -> str:
    return ", ".join(f"‘{f.label}’" for f in items)


def verify(
    answer: Answer, similarity: Similarity | None = None, common: Callable[[str], bool] | None = None
) -> tuple[Unsupported, ...]:
    """Every sentence of `answer` its cited passages do not back, with the reason."""
    if not answer.answerable or not answer.text:
        return ()
    by_n = {p.n: PassageView.of(p) for p in answer.passages}
    to_passage = {c.n: c.passage for c in answer.citations}
    retrieved = list(by_n.values())
    out = []
    for i, (sentence, nums) in enumerate(sentences_with_citations(answer.text)):
        cited = [by_n[to_passage[n]] for n in dict.fromkeys(nums) if n in to_passage and to_passage[n] in by_n]
        reason = check_sentence(without_asked_dates(answer.question, sentence), cited, retrieved, similarity, common)
        if i == 0 and not reason and _YES.match(sentence) and _YES_NO.match(answer.question):
            if found := denial(answer.question, retrieved):
                reason = f"it answers yes, but passage {found[0]} says “{found[1]}”"
        if reason:
            out.append(Unsupported(sentence, reason, tuple(dict.fromkeys(nums))))
    if not out and restates(answer.question, answer.text):
        sentence, nums = sentences_with_citations(answer.text)[0]
        out.append(Unsupported(sentence, "it repeats the question without answering it", tuple(dict.fromkeys(nums))))
    return tuple(out)


def restates(question: str, text: str) -> bool:
    """The answer says nothing the question did not: no word, name or number of its own.
    The 1.5B model does this when it cannot find the answer ("Which type of outbreak was linked
    to the recalled meals?" -> "The outbreak has been linked to recalled pasta meals [1]."; RealTimeQA
    dev-small: 3 of 85 answers, all wrong). Flagged, the reader is told; the second try gave the same
    words back (2 of 2 tried). A yes/no question's "No, …" adds its answer in one short word."""
    if _YES_NO.match(question):
        return False
    said = re.sub(r"\[[^\]]*\]", " ", text)
    words = content_words(said)
    return bool(words) and not (words - content_words(question)) and not (numbers(said) - numbers(question))


# "Will American troops be sent?" answered "Yes, …" while a passage says "there will be no
# American troops": the 1.5B model does this (seed d06), and no word overlap or similarity
# sees a flipped polarity. A yes/no question's "Yes" is checked for a retrieved denial.
_YES_NO = re.compile(r"\s*(will|would|is|are|was|were|do|does|did|can|could|has|have|had|should|shall)\b", re.I)
_YES = re.compile(r"\s*yes\b", re.I)
_NEGATION = re.compile(r"\b(?:no|not|never|none|without|won't|isn't|aren't|wasn't|weren't|doesn't|didn't|hasn't|haven't)\b((?:\W+\w+){1,3})", re.I)


def denial(question: str, passages: Sequence[PassageView]) -> tuple[int, str] | None:
    """(passage number, words) of a retrieved sentence that negates what a yes/no question asks:
    a negation followed, within three words, by two of the question's content words."""
    asked = content_words(question)
    for v in passages:
        for sentence in v.sentences:
            for m in _NEGATION.finditer(straighten(sentence)):
                if len(content_words(m.group(1)) & asked) >= 2:
                    return v.n, m.group(0).strip()
    return None


def repair_citations(
    answer: Answer, similarity: Similarity | None = None, common: Callable[[str], bool] | None = None
) -> Answer:
    """Re-point a citation whose passage lacks the sentence's names or numbers to the retrieved
    passage that holds them all and supports the sentence (a small model often misnumbers).
    Likewise a sentence copied from another passage: the cited one shares under half its
    words (passing, if at all, on embedding similarity), the other holds every one.

    Only a citation used by that one sentence alone is moved; the move is recorded in
    `Answer.repaired_citations`. Anything else is left for `verify()` to flag.
    """
    if not answer.answerable or not answer.citations:
        return answer
    views = {p.n: PassageView.of(p) for p in answer.passages}
    passages = {p.n: p for p in answer.passages}
    citations = {c.n: c for c in answer.citations}
    claims = sentences_with_citations(answer.text)
    uses: dict[int, int] = {}
    for _, nums in claims:
        for n in set(nums):
            uses[n] = uses.get(n, 0) + 1
    repairs = []
    for sentence, nums in claims:
        if len(set(nums)) != 1 or uses[nums[0]] != 1 or nums[0] not in citations:
            continue
        n = nums[0]
        cited = views.get(citations[n].passage)
        said = without_asked_dates(answer.question, sentence)  # the reader's own dates are not the passage's to hold
        fs = facts(said, common)
        if cited is None:
            continue
        missing = [f for f in fs if not f.found_in(cited)]
        copied = not missing and _overlap(said, cited) < MIN_OVERLAP
        if not (missing or copied):
            continue
        candidates = [
            v for v in views.values()
            if v is not cited and all(f.found_in(v) for f in fs)
            and (_supports(said, v, similarity) if missing else _overlap(said, v) == 1.0)
        ]
        if not candidates:
            continue
        best = max(candidates, key=lambda v: (_overlap(said, v), -v.n))
        citations[n] = make_citation(n, passages[best.n], sentence)
        why = f"{_list(missing)} not in passage {cited.n}" if missing else f"its words are in passage {best.n}, not {cited.n}"
        repairs.append(Repair(n, cited.n, best.n, why))
    if not repairs:
        return answer
    return replace(answer, citations=tuple(citations[n] for n in sorted(citations)), repaired_citations=tuple(repairs))


def attribute(sentence: str, views: Sequence[PassageView], common: Callable[[str], bool] | None = None) -> int | None:
    """The number of the passage an uncited sentence restates: the one that holds every name and
    number of the sentence and the largest share of its words, at MIN_OVERLAP or more. None when
    no passage does, or when two do equally (which one the sentence restates is then a guess)."""
    fs = facts(sentence, common)
    fits = sorted(((_overlap(sentence, v), v.n) for v in views if all(f.found_in(v) for f in fs)), reverse=True)
    fits = [(share, n) for share, n in fits if share >= MIN_OVERLAP]
    if not fits or len(fits) > 1 and fits[1][0] == fits[0][0]:
        return None
    return fits[0][1]


class CitationVerifier:
    """The Engine's `verifier`: `verify()` with embedding similarity from the engine's embedder."""

    def __init__(self, embedder: Any = None, cache_size: int = 2048) -> None:
        self.embedder = embedder
        self.common = common_words(embedder)  # asked once, not per answer
        self._cache: dict[str, Any] = {}
        self._cache_size = cache_size

    def __call__(self, answer: Answer) -> Answer:
        similarity = self.similarity if self.embedder is not None else None
        answer = repair_citations(answer, similarity, self.common)
        return replace(answer, unsupported=verify(answer, similarity, self.common))

    def similarity(self, sentence: str, candidates: Sequence[str]) -> float:
        if not candidates:
            return 0.0
        vecs = self._embed([sentence, *candidates])
        s = vecs[0]
        return max(sum(a * b for a, b in zip(s, c)) for c in vecs[1:])

    def _embed(self, texts: list[str]) -> list[Any]:
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            if len(self._cache) + len(todo) > self._cache_size:
                self._cache.clear()
            for t, v in zip(todo, self.embedder.get_text_embedding_batch(todo)):
                self._cache[t] = v
        return [self._cache[t] for t in texts]
