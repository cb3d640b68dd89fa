"""Limits that protect the machine: question length, each session's share, the queue, uploads.
Over a limit the user reads which one (and its setting); everyone else is still served."""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import threading
import time

from conftest import make_settings
from rag.engine import Engine
from tests.test_roles import zebra  # noqa: F401 - a fixture
from tests.test_ui import running

QUESTION = "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?"


def test_page_limits_question_length_and_upload_count(sample_store, embedder, fake_llm, tmp_path, zebra):
    from ui.handlers import Page

    page = Page(Engine(sample_store, embedder, fake_llm), make_settings(tmp_path / "home", max_question_chars=50, max_upload_files=1))
    history, box, *_ = list(page.respond("why " * 20, [], None))[-1]
    assert "NEWSRAG_MAX_QUESTION_CHARS" in history[-1]["content"] and box == ("why " * 20).strip()
    assert fake_llm.requests == []
    report, *_ = page.add_files([str(zebra), str(zebra)], user=None)
    assert "NEWSRAG_MAX_UPLOAD_FILES" in report


def test_one_session_may_not_run_more_than_its_share(sample_store, embedder, fake_llm, tmp_path):
    from ui.handlers import Page

    page = Page(Engine(sample_store, embedder, fake_llm), make_settings(tmp_path / "home", max_session_queue=1))
    running_one = page.respond("Who is the Kremlin spokesman?", [], None, client="s1")
    next(running_one)  # the first answer is under way
    history, *_ = list(page.respond("And Abu Dhabi?", [], None, client="s1"))[-1]
    assert "NEWSRAG_MAX_SESSION_QUEUE" in history[-1]["content"]
    history, *_ = list(page.respond("Who is the Kremlin spokesman?", [], None, client="s2"))[-1]
    assert "NEWSRAG_MAX" not in history[-1]["content"], "another session is served"
    list(running_one)
    history, *_ = list(page.respond("Who is the Kremlin spokesman?", [], None, client="s1"))[-1]
    assert "NEWSRAG_MAX" not in history[-1]["content"], "its slot came back"


def test_the_page_queue_shows_each_waiting_user_its_place_and_refuses_beyond_its_size(sample_store, embedder, fake_llm, tmp_path):
    """Gradio's queue (NEWSRAG_MAX_QUEUE) tells a waiting browser its rank, which the page shows over the chat."""
    from gradio_client import Client

    gate = threading.Event()
    fake_llm.default = lambda req: (gate.wait(60), "Dmitry Peskov [1].")[1]
    settings = make_settings(tmp_path / "home", concurrency=1, max_queue=2)
    with running(Engine(sample_store, embedder, fake_llm), settings) as url:
        clients = [Client(url, verbose=False) for _ in range(4)]
        first = clients[0].submit(QUESTION, [], api_name="/ask")
        deadline = time.monotonic() + 30  # a hang guard, not a timing assertion
        while not fake_llm.requests:
            assert time.monotonic() < deadline, "timed out waiting for the first question to reach the model"
            time.sleep(0.05)
        waiting = [c.submit(QUESTION, [], api_name="/ask") for c in clients[1:3]]
        time.sleep(1.0)
        ranks = sorted(job.status().rank for job in waiting)
        assert ranks == [0, 1], ranks  # places in the queue, as the page shows them ("queue: 2/2")
        over = clients[3].submit(QUESTION, [], api_name="/ask")
        try:
            over.result(timeout=30)
            refused = ""
        except Exception as e:  # gradio_client raises when the queue is full
            refused = str(e)
        assert "queue is full" in refused.lower(), refused
        gate.set()
        for job in [first, *waiting]:
            history, *_ = job.result(timeout=60)
            assert "Dmitry Peskov" in str(history[-1]["content"])
