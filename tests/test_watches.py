"""Watches: a saved topic runs after each ingest; only new, verified events are delivered, by a
webhook (retried), e-mail and an Atom feed; nothing new sends nothing; a run killed midway
never sends an event twice or skips one. Real servers on 127.0.0.1: an HTTP receiver, an
SMTP server (aiosmtpd), `newsrag serve`'s app; the feed is read with feedparser.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import httpx
import pytest
from pydantic import SecretStr

from conftest import ingest_opts
from core.models.fake import FakeLLM
from core.settings import defaults
from ingest import ingest
from rag.engine import Engine
from servers import api_server, free_port
from store.watchlist import Watchlist
from ui.watches import parse_channels, run_watches

AS_OF = date(2026, 3, 20)
TOPIC = "the Riverside floods"
WEEK1 = ("Riverside floods kill 12 as river bursts its banks", "Riverside Gazette", "March 2, 2026",
         "Floods in Riverside have killed 12 people after the Alder river burst its banks, officials said on Monday. "
         "Rescue teams worked through the night in the flooded eastern districts of Riverside.")
WEEK2 = ("Riverside flood death toll rises to 19", "Valley Herald", "March 16, 2026",
         "The death toll from the Riverside floods rose to 19 people, the governor said on Monday, after searchers "
         "found more victims near the Alder river. The governor promised money to rebuild the river embankment.")


def _write(folder: Path, name: str, article: tuple[str, str, str, str]) -> None:
    title, outlet, day, body = article
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(f"{title}\n\nBy Staff, {outlet}\n{day}\n\n{body}\n")


class Receiver:
    """A webhook receiver on 127.0.0.1: answers 500 to the first `fail` posts; with `hold`
    set, keeps a post waiting unanswered until released (a kill can come meanwhile)."""

    def __init__(self) -> None:
        self.fail, self.hold = 0, threading.Event()
        self.seen: list[dict] = []  # every post that arrived
        self.acked: list[dict] = []  # those answered 200
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body["_key_header"] = self.headers.get("Idempotency-Key")
                outer.seen.append(body)
                outer.arrived.set()
                while outer.hold.is_set():
                    time.sleep(0.05)
                if outer.fail > 0:
                    outer.fail -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")
                outer.acked.append(body)

            def log_message(self, *a: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.hold.clear()
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Keep(Message):
        def __init__(self) -> None:
            super().__init__()
            self.messages: list = []

        def handle_message(self, message) -> None:
            self.messages.append(message)

    handler = Keep()
    port = free_port()
    c = Controller(handler, hostname="127.0.0.1", port=port)
    c.start()
    yield handler.messages, port
    c.stop()


@pytest.fixture
def floods(tmp_path, store, embedder):
    folder = tmp_path / "news"
    _write(folder, "week1.txt", WEEK1)
    assert ingest([folder], store, embedder, ingest_opts()).ok
    return folder


def _engine(store, embedder, settings):
    return Engine(store, embedder, FakeLLM(default=lambda req: "never asked [1]."), settings=settings)


def test_one_new_article_is_delivered_once_with_its_cited_event_and_nothing_new_sends_nothing(floods, store, embedder, receiver, smtp, tmp_path):
    mails, port = smtp
    settings = defaults(home=tmp_path / "home", watch_days=30, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, webhook_backoff_s=0.0)
    watches = Watchlist(settings.home)
    watch = watches.add(TOPIC, parse_channels([f"webhook={receiver.url}", "email=reader@example.org", "atom"]))
    engine = _engine(store, embedder, settings)

    run_watches(settings, engine, watches, as_of=AS_OF)  # the first run: week 1's event
    assert len(receiver.acked) == 1 and len(mails) == 1
    assert all("killed 12" in e["text"] or "12 people" in e["text"] for e in receiver.acked[0]["events"])

    _write(floods, "week2.txt", WEEK2)
    assert ingest([floods], store, embedder, ingest_opts()).added == 1
    run_watches(settings, engine, watches, as_of=AS_OF)
    assert len(receiver.acked) == 2 and len(mails) == 2, "one delivery per channel for the new article"
    new = receiver.acked[1]["events"]
    assert new and all(e["citation"]["title"] == WEEK2[0] for e in new), new
    assert any("19 people" in e["text"] for e in new)
    assert not any(e["citation"]["title"] == WEEK1[0] for e in new), "an event already sent is not sent again"
    assert receiver.acked[1]["idempotency_key"] == receiver.acked[1]["_key_header"]
    mail = mails[1]
    assert mail["To"] == "reader@example.org" and "Riverside" in mail["Subject"]
    assert "19 people" in mail.get_payload() and WEEK2[0] in mail.get_payload()

    run_watches(settings, engine, watches, as_of=AS_OF)  # nothing new
    assert len(receiver.seen) == 2 and len(mails) == 2
    counts = watches.counts(watch.id)
    assert counts["pending"] == 0 and counts["delivered"] == 4


def test_a_webhook_that_fails_twice_then_succeeds_is_delivered_once(floods, store, embedder, receiver, tmp_path):
    settings = defaults(home=tmp_path / "home", watch_days=30, webhook_attempts=4, webhook_backoff_s=0.0)
    watches = Watchlist(settings.home)
    watches.add(TOPIC, parse_channels([f"webhook={receiver.url}"]))
    receiver.fail = 2
    run_watches(settings, _engine(store, embedder, settings), watches, as_of=AS_OF)
    assert len(receiver.seen) == 3 and len(receiver.acked) == 1
    assert len({b["idempotency_key"] for b in receiver.seen}) == 1, "every try carries the same key"
    assert not watches.pending()


def test_a_webhook_that_keeps_failing_stays_pending_and_watch_list_says_why(floods, store, embedder, receiver, tmp_path, capsys):
    from ui.watch_cli import cmd_list

    settings = defaults(home=tmp_path / "home", watch_days=30, webhook_attempts=2, webhook_backoff_s=0.0)
    watches = Watchlist(settings.home)
    watches.add(TOPIC, parse_channels([f"webhook={receiver.url}"]))
    receiver.fail = 10
    run_watches(settings, _engine(store, embedder, settings), watches, as_of=AS_OF)
    assert len(watches.pending()) == 1
    cmd_list(type("A", (), {"json": False})(), settings)
    out = capsys.readouterr().out
    assert "failing: webhook" in out and "HTTP 500" in out and "1 pending" in out
    receiver.fail = 0
    run_watches(settings, _engine(store, embedder, settings), watches, as_of=AS_OF)  # the next run sends what is pending
    assert len(receiver.acked) == 1 and not watches.pending()


@pytest.mark.integration
def test_a_run_killed_while_delivering_then_rerun_delivers_each_event_exactly_once(floods, store, receiver, tmp_path):
    home = tmp_path / "home"
    Watchlist(home).add(TOPIC, parse_channels([f"webhook={receiver.url}"]))
    env = {**os.environ, "NEWSRAG_HOME": str(home), "NEWSRAG_LLM": "extractive", "NEWSRAG_AS_OF": AS_OF.isoformat(),
           "NEWSRAG_WEBHOOK_BACKOFF_S": "0", "NEWSRAG_WATCH_DAYS": "30"}
    cmd = [str(Path(sys.executable).parent / "newsrag"), "watch", "run"]
    receiver.hold.set()
    run = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert receiver.arrived.wait(120), "the run never posted"
    run.send_signal(signal.SIGKILL)  # killed while its post waits for an answer
    run.wait(30)
    assert not receiver.acked
    receiver.hold.clear()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(receiver.acked) == 1, "the pending delivery is sent once by the rerun"
    assert receiver.acked[0]["idempotency_key"] == receiver.seen[0]["idempotency_key"], "the same key as the killed try"
    keys = [e["key"] for body in receiver.acked for e in body["events"]]
    assert keys and len(keys) == len(set(keys))
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and len(receiver.seen) == 2, "nothing new: nothing sent"


def test_the_atom_feed_is_behind_the_api_keys_and_reads_in_a_feed_reader(floods, store, embedder, tmp_path):
    settings = defaults(home=tmp_path / "home", watch_days=30, api_keys=SecretStr("k1"))
    watches = Watchlist(settings.home)
    watch = watches.add(TOPIC, parse_channels([]))
    engine = _engine(store, embedder, settings)
    run_watches(settings, engine, watches, as_of=AS_OF)
    with api_server(engine, settings) as v1:
        url = v1.removesuffix("/v1") + f"/watches/{watch.id}.atom"
        assert httpx.get(url).status_code == 401
        r = httpx.get(url, headers={"Authorization": "Bearer k1"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
        assert httpx.get(url.replace(watch.id, "nope"), headers={"Authorization": "Bearer k1"}).status_code == 404
    feed = feedparser.parse(r.text)
    assert not feed.bozo and TOPIC in feed.feed.title
    assert feed.entries and all(WEEK1[0] in e.title for e in feed.entries)
    assert any("12 people" in e.summary for e in feed.entries)


def test_the_page_adds_a_watch_on_the_last_question_for_editors_only(floods, store, embedder, tmp_path):
    from ui.handlers import Page

    history = [{"role": "user", "content": "What happened with the Riverside floods?"}, {"role": "assistant", "content": "…"}]
    settings = defaults(home=tmp_path / "home")
    note = Page(_engine(store, embedder, settings), settings).add_watch(history)
    [watch] = Watchlist(settings.home).all()
    assert watch.topic == "What happened with the Riverside floods?" and f"/watches/{watch.id}.atom" in note
    locked = defaults(home=tmp_path / "home", readonly=True)
    assert "read-only" in Page(_engine(store, embedder, locked), locked).add_watch(history)
    assert len(Watchlist(settings.home).all()) == 1


@pytest.mark.integration
def test_newsrag_ingest_runs_the_watches_after_adding_articles(floods, receiver, tmp_path):
    home = tmp_path / "home"
    Watchlist(home).add(TOPIC, parse_channels([f"webhook={receiver.url}"]))
    env = {**os.environ, "NEWSRAG_HOME": str(home), "NEWSRAG_LLM": "extractive", "NEWSRAG_AS_OF": AS_OF.isoformat(), "NEWSRAG_WATCH_DAYS": "30"}
    newsrag = str(Path(sys.executable).parent / "newsrag")
    _write(floods, "week2.txt", WEEK2)
    done = subprocess.run([newsrag, "ingest", str(floods)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(receiver.acked) == 1 and "new event" in done.stderr
    again = subprocess.run([newsrag, "ingest", str(floods)], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and len(receiver.seen) == 1, "nothing added: the watches do not run"
