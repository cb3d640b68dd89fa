"""Watches delivered: run each watch (`rag.watch_run`), queue what is new (`store.watchlist`),
then send the outbox: a webhook POST (retried with backoff) or an e-mail. The Atom feed
(`/watches/<id>.atom` on `newsrag serve`) is read from the events found, so it needs no send.

Nothing new, nothing sent. A delivery that fails after its tries stays pending, its error
shown by `newsrag watch list`, and is tried again by the next run.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any, Callable
from xml.etree import ElementTree as ET

from core.errors import ConfigError
from core.settings import Settings
from rag.verify import CitationVerifier
from rag.watch_run import event_key, event_payload, new_events
from store.watchlist import CHANNELS, Delivery, Watch, Watchlist, now

log = logging.getLogger(__name__)


def parse_channels(specs: list[str]) -> list[tuple[str, str]]:
    """`atom`, `webhook=URL`, `email=ADDRESS` -> (channel, target) pairs; the feed when none."""
    out = []
    for spec in specs or ["atom"]:
        channel, _, target = spec.partition("=")
        channel = channel.strip().lower()
        if channel not in CHANNELS or (channel != "atom" and not target.strip()):
            raise ConfigError(f"cannot deliver by {spec!r}: use atom, webhook=URL or email=ADDRESS")
        if channel == "webhook" and not target.startswith(("http://", "https://")):
            raise ConfigError(f"webhook {target!r} is not an http:// or https:// URL")
        out.append((channel, target.strip()))
    return out


def run_watches(settings: Settings, engine: Any, watchlist: Watchlist, as_of: date | None = None,
                sleep: Callable[[float], None] = time.sleep) -> list[dict[str, Any]]:
    """Every watch once: its new verified events queued, then every pending delivery sent."""
    day = as_of or engine.as_of or date.today()
    verifier = CitationVerifier(engine.embedder)  # built once: it asks the embedder's vocabulary
    report = []
    for w in watchlist.all():
        ran = now()
        events = new_events(engine, w.topic, day - timedelta(days=settings.watch_days), day, verifier)
        new = watchlist.queue(w, [(event_key(e), e.date, event_payload(e)) for e in events], ran)
        report.append({"watch": w.id, "topic": w.topic, "events": len(events), "new": new})
    for d in watchlist.pending():
        deliver(d, settings, watchlist, sleep)
    return report


def deliver(d: Delivery, settings: Settings, watchlist: Watchlist, sleep: Callable[[float], None] = time.sleep) -> bool:
    """One pending delivery, tried up to `webhook_attempts` times (e-mail once); marked sent or failed."""
    tries = max(1, settings.webhook_attempts) if d.channel == "webhook" else 1
    error = ""
    for attempt in range(tries):
        if attempt:
            sleep(settings.webhook_backoff_s * 2 ** (attempt - 1))
        try:
            (_post if d.channel == "webhook" else _mail)(d, settings)
        except (OSError, smtplib.SMTPException, ConfigError) as e:
            error = _reason(e)
            log.warning("watch %s: %s %s failed (try %d of %d): %s", d.watch_id, d.channel, d.target, attempt + 1, tries, error)
            continue
        watchlist.sent(d)
        return True
    watchlist.failed(d, tries, error)
    return False


def _reason(e: Exception) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return f"cannot reach it ({e.reason})"
    return str(e) or type(e).__name__


def _post(d: Delivery, settings: Settings) -> None:
    body = json.dumps({**d.payload, "idempotency_key": d.idempotency_key}).encode()
    req = urllib.request.Request(d.target, body, method="POST", headers={
        "Content-Type": "application/json", "Idempotency-Key": d.idempotency_key, "User-Agent": settings.user_agent})
    with urllib.request.urlopen(req, timeout=settings.webhook_timeout_s) as r:  # noqa: S310 (the URL is the watch owner's)
        r.read()


def _mail(d: Delivery, settings: Settings) -> None:
    if not settings.smtp_host:
        raise ConfigError("no SMTP server: set NEWSRAG_SMTP_HOST (and NEWSRAG_SMTP_PORT, _USER, _PASSWORD)")
    msg = EmailMessage()
    events = d.payload["events"]
    msg["Subject"] = f"newsrag: {len(events)} new on {d.payload['topic']}"
    msg["From"], msg["To"] = settings.smtp_from, d.target
    msg["Message-ID"] = f"<{d.idempotency_key}@newsrag>"  # the same on a resend: mail clients drop the copy
    msg.set_content(email_text(d.payload))
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.webhook_timeout_s) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value() if settings.smtp_password else "")
        smtp.send_message(msg)


def email_text(payload: dict[str, Any]) -> str:
    lines = [f"New on \"{payload['topic']}\":", ""]
    for n, e in enumerate(payload["events"], 1):
        c = e["citation"]
        lines += [f"{e['date']}  {e['text']} [{n}]", f"    [{n}] {c['title']} ({', '.join(e['outlets']) or c['source']}, {c['date']}) {c['url'] or c['path']}", ""]
    return "\n".join(lines)


def atom_feed(watch: Watch, events: list[tuple[str, dict[str, Any]]], self_url: str) -> str:
    """The watch's events as an Atom feed, newest found first."""
    ns = "http://www.w3.org/2005/Atom"
    feed = ET.Element("feed", xmlns=ns)
    ET.SubElement(feed, "title").text = f"newsrag watch: {watch.topic}"
    ET.SubElement(feed, "id").text = f"urn:newsrag:watch:{watch.id}"
    ET.SubElement(feed, "updated").text = events[0][0] if events else watch.created
    ET.SubElement(feed, "link", rel="self", href=self_url)
    for found, e in events:
        c = e["citation"]
        entry = ET.SubElement(feed, "entry")
        ET.SubElement(entry, "title").text = f"{e['date']}: {c['title']}"
        ET.SubElement(entry, "id").text = f"urn:newsrag:watch:{watch.id}:{e['key']}"
        ET.SubElement(entry, "updated").text = found
        ET.SubElement(entry, "published").text = f"{e['date']}T00:00:00Z" if len(e["date"]) == 10 else found
        if c.get("url"):
            ET.SubElement(entry, "link", href=c["url"])
        author = ET.SubElement(entry, "author")
        ET.SubElement(author, "name").text = ", ".join(e["outlets"]) or c["source"] or "newsrag"
        ET.SubElement(entry, "summary").text = f"{e['text']} ({c['title']}, {c['source']}, {c['date']})"
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode")
