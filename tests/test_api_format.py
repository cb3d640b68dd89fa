"""The API's shapes, without a server: history replayed into a Chat, the live text renumbered
as the final answer numbers it, and what a stream adds when the checked answer differs."""

from __future__ import annotations

from core.types import Answer, Citation, Passage
from ui import openai_format as fmt


def passage(n: int, url: str = "") -> Passage:
    return Passage(n, f"c{n}", f"a{n}", f"Title {n}", "Reuters", "2026-02-01", f"text {n}", 0, 6, 1.0, url=url)


def answer(text: str, cited: list[int], n_passages: int = 4) -> Answer:
    passages = tuple(passage(i, url=f"https://example.com/{i}") for i in range(1, n_passages + 1))
    citations = tuple(Citation(i + 1, p, f"a{p}", f"Title {p}", "Reuters", "2026-02-01", f"quote {p}", 0, 6) for i, p in enumerate(cited))
    return Answer("q", text, True, citations=citations, passages=passages)


def test_history_becomes_the_chats_turns(engine):
    chat, question = fmt.chat_from_messages(engine, [
        {"role": "system", "content": "ignored"},
        {"role": "user", "content": "First?"},
        {"role": "assistant", "content": "One [1].\n\nSources:\n[1] Title — Reuters"},
        {"role": "user", "content": [{"type": "text", "text": "Second?"}]},
        {"role": "user", "content": "Third?"},
    ])
    assert question == "Third?"
    assert [(q, a.text, a.answerable) for q, a in chat.history] == [("First?", "One [1].", True), ("Second?", "", False)]


def test_a_declined_earlier_reply_is_not_answerable(engine):
    chat, _ = fmt.chat_from_messages(engine, [
        {"role": "user", "content": "Oil price?"}, {"role": "assistant", "content": "The articles don't say."}, {"role": "user", "content": "Why?"},
    ])
    assert chat.history[0][1].answerable is False


def test_live_text_is_renumbered_by_first_use_and_never_splits_a_marker():
    live = fmt.LiveText(4)
    sent = "".join(live.feed(p) for p in ["Dmitry", " Peskov", " [", "3]", " said", " so", " [1]", " today", "."])
    assert sent == "Dmitry Peskov [1] said so [2]"
    final = answer("Dmitry Peskov [1] said so [2] today.", [3, 1])
    rest = live.finish(final)
    assert sent + rest.split(fmt.SOURCES_HEADING)[0] == final.text
    assert rest.endswith("[1] Title 3 — Reuters, 2026-02-01 <https://example.com/3>\n[2] Title 1 — Reuters, 2026-02-01 <https://example.com/1>")


def test_a_revised_answer_follows_a_note():
    live = fmt.LiveText(2)
    sent = "".join(live.feed(p) for p in ["Yes", " they", " will", " [1]."])
    rest = live.finish(answer("No, there will be no American troops [1].", [2], 2))
    assert sent == "Yes they will" and rest.startswith(fmt.REVISED_NOTE + "No, there will be no American troops [1].")
    assert fmt.answer_part(sent + rest) == "No, there will be no American troops [1]."


def test_completion_carries_citations_and_extras():
    body = fmt.completion(answer("Peskov [1].", [2]))
    assert body["object"] == "chat.completion" and body["model"] == "newsrag"
    assert body["choices"][0]["message"]["content"].startswith("Peskov [1].\n\nSources:\n[1] Title 2")
    assert body["citations"] == [{"n": 1, "title": "Title 2", "source": "Reuters", "date": "2026-02-01",
                                  "url": "https://example.com/2", "quote": "quote 2", "article_id": "a2"}]
    assert body["newsrag"] == {"answerable": True, "unsupported": [], "freshness": None, "as_of": None, "mode": "factoid", "timeline": []}
