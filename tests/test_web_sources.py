"""Pages by URL and RSS/Atom feeds, served by a real HTTP server on 127.0.0.1 (never the internet).

`newsrag ingest` on two feeds and four bad URLs ingests the feeds' articles with the
feeds' dates, reports every failure with its reason and exits 1; `newsrag update` after
a feed gains one entry adds exactly one article, asking with the ETag it was given;
`newsrag ask` (extractive backend, no model) then cites the new article's URL.

The site is on 127.0.0.1, a loopback address URL ingest refuses by default: these tests
allow it as a user would (NEWSRAG_FETCH_ALLOW=127.0.0.1, or `fetch_allow` in Settings),
and one shows the same URLs refused without it (tests/test_fetch_guard.py has the rest).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from core.errors import IngestError
from ingest.web import fetch
from tests.servers import NewsSite
from ui.cli import main
from conftest import ingest_opts, make_settings

pytestmark = pytest.mark.integration

OUTLET = "Harbour Times"
ALLOW = "127.0.0.1"  # where the test site listens


def allowed_opts():
    """Ingest options from the Settings defaults, with the test site's address allowed."""
    from core.settings import Settings
    from rag.factory import ingest_options

    return ingest_options(Settings(_env_file=None, fetch_allow=ALLOW))


def article_page(title: str, *paragraphs: str, extra_head: str = "") -> str:
    """A news page with no publication date anywhere (the feed's date must be used)."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title} | {OUTLET}</title><meta property='og:site_name' content='{OUTLET}'>{extra_head}</head>"
        f"<body><nav><a href='/'>Home</a> | <a href='/sport'>Sport</a></nav><article><h1>{title}</h1>{body}</article>"
        "<footer>Cookie policy. Subscribe to our newsletter.</footer></body></html>"
    )


STRIKE = article_page(
    "Dockworkers end nine-day strike",
    "Dockworkers in Rotterdam ended a nine-day strike on Friday after the port authority agreed to a 6 percent raise.",
    "The first container ships began unloading within hours, and the union said its members would vote on the deal next week.",
)
FERRY = article_page(
    "New ferry line to Hull opens",
    "A new overnight ferry line between Rotterdam and Hull opened on Monday, carrying 900 passengers on its first crossing.",
    "The operator said it plans three crossings a week until the summer, when a second ship joins the route.",
)
BRIDGE = article_page(
    "Erasmus bridge closes for repairs",
    "The Erasmus bridge in Rotterdam will close to cars for six weeks from March 2 while engineers replace its bearings.",
    "Trams and cyclists can still cross, the city said, and extra water taxis will run during the evening rush hour.",
)
NOT_AN_ARTICLE = "<html><head><title>Index</title></head><body><nav><a href='/'>Home</a> <a href='/a'>A</a></nav></body></html>"


def rss(site: NewsSite, items: list[tuple[str, str, str]]) -> str:
    entries = "".join(
        f"<item><title>{t}</title><link>{site.url(path)}</link><guid>{site.url(path)}</guid><pubDate>{date}</pubDate></item>"
        for t, path, date in items
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>{OUTLET} RSS</title><link>{site.url('/')}</link>{entries}</channel></rss>"


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Harbour Times Atom</title><id>urn:ht</id><updated>2026-02-10T09:00:00Z</updated>
<entry><title>New ferry line to Hull opens</title><id>urn:ht:ferry</id><link href="{url}"/>
<published>2026-02-09T08:30:00Z</published><updated>2026-02-10T09:00:00Z</updated></entry></feed>"""


@pytest.fixture
def site():
    with NewsSite() as s:
        s.put("/news/strike.html", STRIKE)
        s.put("/news/ferry.html", FERRY)
        s.put("/news/bridge.html", BRIDGE)
        s.put("/index.html", NOT_AN_ARTICLE)
        s.put("/slow.html", STRIKE.replace("nine-day", "ten-day"))
        s.slow["/slow.html"] = 30.0  # released when the site closes
        s.put("/big.html", article_page("Big page", "Filler text for a very large page. " * 4000))
        s.put("/rss.xml", rss(s, [("Dockworkers end nine-day strike", "/news/strike.html", "Fri, 06 Feb 2026 17:00:00 GMT")]), "application/rss+xml")
        s.put("/atom.xml", ATOM.format(url=s.url("/news/ferry.html")), "application/atom+xml")
        yield s


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    monkeypatch.setenv("NEWSRAG_HOME", str(tmp_path / "home"))
    # 3 s, not 1: the site answers from this test's own process, which shares two cores
    # with the ingest. A full CI run once took in 1 of the 2 feed articles here (cause not
    # caught); a limit this short on a loaded machine is the likeliest one.
    monkeypatch.setenv("NEWSRAG_FETCH_TIMEOUT", "3")
    monkeypatch.setenv("NEWSRAG_FETCH_MAX_MB", "0.05")
    monkeypatch.setenv("NEWSRAG_LLM", "extractive")
    monkeypatch.setenv("NEWSRAG_FETCH_ALLOW", ALLOW)
    return tmp_path


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def listed(capsys) -> dict[str, dict]:
    assert main(["list", "--json"]) == 0
    return {r["url"]: r for r in json.loads(capsys.readouterr().out)}


def test_feeds_and_pages_by_url_with_failures_reported(site, cli_env, capsys):
    bad = {
        site.url("/index.html"): "not an article",
        site.url("/missing.html"): "HTTP 404",
        site.url("/slow.html"): "timeout",
        site.url("/big.html"): "too large",
    }
    code, report = run_json(capsys, "ingest", site.url("/rss.xml"), site.url("/atom.xml"), *bad, "--json")
    assert code == 1
    assert report["added"] == 2, report["failed"]
    reasons = {f["path"]: f["reason"] for f in report["failed"]}
    assert set(reasons) == set(bad), reasons
    for url, why in bad.items():
        assert reasons[url].startswith(why), (url, reasons[url])
    rows = listed(capsys)
    strike, ferry = rows[site.url("/news/strike.html")], rows[site.url("/news/ferry.html")]
    assert (strike["title"], strike["date"], strike["source"]) == ("Dockworkers end nine-day strike", "2026-02-06", OUTLET)
    assert (ferry["title"], ferry["date"]) == ("New ferry line to Hull opens", "2026-02-09")  # published, not updated

    # The same URLs again: nothing new, nothing rewritten.
    code, again = run_json(capsys, "ingest", site.url("/rss.xml"), site.url("/atom.xml"), "--json")
    assert code == 0 and again["added"] == 0 and again["unchanged"] == 2


def test_the_same_urls_are_refused_by_default(site, cli_env, capsys, monkeypatch):
    monkeypatch.delenv("NEWSRAG_FETCH_ALLOW")
    urls = [site.url("/rss.xml"), site.url("/atom.xml"), site.url("/news/strike.html")]
    code, report = run_json(capsys, "ingest", *urls, "--json")
    assert code == 1 and report["added"] == 0
    assert {f["path"]: f["reason"] for f in report["failed"]} == {
        u: f"refused {u}: it resolves to 127.0.0.1, a loopback address; to fetch from it set NEWSRAG_FETCH_ALLOW=127.0.0.1" for u in urls
    }
    assert site.seen == []  # refused before connecting
    assert main(["feeds", "add", site.url("/rss.xml")]) == 0
    capsys.readouterr()
    code, polled = run_json(capsys, "update", "--json")
    assert code == 1 and polled["added"] == 0 and polled["failed"][0]["reason"].startswith(f"refused {site.url('/rss.xml')}: ")


def test_update_takes_in_only_the_new_entry_and_ask_cites_it(site, cli_env, capsys):
    feed = site.url("/rss.xml")
    assert main(["feeds", "add", feed]) == 0 and "added" in capsys.readouterr().out
    code, first = run_json(capsys, "update", "--json")
    assert code == 0 and first["added"] == 1

    code, idle = run_json(capsys, "update", "--json")  # nothing changed: a 304, nothing fetched but the feed
    assert code == 0 and idle["added"] == 0 and idle["unchanged"] == 0
    feed_asks = [h for p, h in site.seen if p == "/rss.xml"]
    assert feed_asks[-1].get("If-None-Match", "").startswith('"')

    site.put("/rss.xml", rss(site, [
        ("Erasmus bridge closes for repairs", "/news/bridge.html", "Tue, 10 Feb 2026 07:00:00 GMT"),
        ("Dockworkers end nine-day strike", "/news/strike.html", "Fri, 06 Feb 2026 17:00:00 GMT"),
    ]), "application/rss+xml")
    fetched_before = sum(p == "/news/strike.html" for p, _ in site.seen)
    code, second = run_json(capsys, "update", "--json")
    assert code == 0 and second["added"] == 1 and second["articles_total"] == 2, second
    assert sum(p == "/news/strike.html" for p, _ in site.seen) == fetched_before  # only the new entry was fetched
    assert listed(capsys)[site.url("/news/bridge.html")]["date"] == "2026-02-10"

    assert main(["feeds", "list"]) == 0 and feed in capsys.readouterr().out
    code, answer = run_json(capsys, "ask", "How long will the Erasmus bridge close to cars?", "--json")
    assert code == 0 and answer["citations"], answer
    assert answer["citations"][0]["url"] == site.url("/news/bridge.html")
    assert main(["ask", "How long will the Erasmus bridge close to cars?"]) == 0
    assert site.url("/news/bridge.html") in capsys.readouterr().out  # the CLI shows the cited URL
    assert main(["feeds", "remove", feed]) == 0 and capsys.readouterr().out == f"removed: {feed}\n"
    assert main(["feeds", "list"]) == 0 and capsys.readouterr().out == ""


def test_fetch_reasons(site):
    limits = replace(allowed_opts().fetch, timeout=3, max_bytes=50_000)
    for url, why in (
        ("http://no-such-host.invalid/", "DNS"),
        ("ftp://example.test/x", "not an http(s) URL"),
        ("file:///etc/passwd", "not an http(s) URL"),
        (site.url("/missing.html"), "HTTP 404"),
        (site.url("/slow.html"), "timeout"),
        (site.url("/big.html"), "too large"),
    ):
        with pytest.raises(IngestError) as e:
            fetch(url, limits)
        assert str(e.value).startswith(why), (url, str(e.value))
    r = fetch(site.url("/news/strike.html"), limits)
    assert r.status == 200 and r.content_type == "text/html" and b"Rotterdam" in r.data and r.etag
    with pytest.raises(IngestError, match="^refused .*NEWSRAG_FETCH_ALLOW=127.0.0.1$"):
        fetch(site.url("/news/strike.html"), ingest_opts().fetch)  # the default: loopback refused


def test_dates_of_pages_say_where_they_came_from(site, tmp_path, store, embedder):
    from ingest import ingest

    meta = article_page("Harbour fees rise", "Harbour fees in Rotterdam rise by 4 percent from April, the port authority said on Tuesday in a statement.",
                        "Shipping lines said they would pass the cost on to their customers.",
                        extra_head="<meta property='article:published_time' content='2026-01-20T08:00:00Z'>")
    dated = meta.replace("<meta property='article:published_time' content='2026-01-20T08:00:00Z'>", "")
    urls = {
        "html-meta": site.put("/a.html", meta),
        "url": site.put("/2026/01/21/harbour-fees.html", dated.replace("Harbour fees rise", "Harbour fees rise again")),
    }
    report = ingest(list(urls.values()), store, embedder, allowed_opts())
    assert report.added == 2, report.failed
    got = {h.meta["url"]: (h.meta["date"], h.meta["date_source"]) for h in store.chunks.all()}
    assert got[urls["html-meta"]] == ("2026-01-20", "html-meta")
    assert got[urls["url"]] == ("2026-01-21", "url")


def test_the_corpus_tab_takes_urls(site, store, embedder, tmp_path):
    from rag.engine import Engine
    from core.models.fake import FakeLLM
    from ui.handlers import Page

    page = Page(Engine(store, embedder, FakeLLM()), make_settings(tmp_path / "home", fetch_allow=ALLOW))
    report, summary, table, *_ = page.add_urls(f"{site.url('/news/strike.html')}\n{site.url('/atom.xml')}\nfile:///etc/passwd {site.url('/missing.html')}")
    assert "Added 2," in report and "failed 2" in report
    assert "not an http(s) URL" in report and "HTTP 404" in report
    assert "2 articles" in summary and {row[5] for row in table} == {site.url("/news/strike.html"), site.url("/news/ferry.html")}
    rows, count, *_ = page.search("ferry", [], "", "", "Newest first", 1)
    assert [r[0] for r in rows] == ["New ferry line to Hull opens"] and "1 matching" in count


def test_feed_file_with_full_text_entries_needs_no_fetch(tmp_path, store, embedder):
    from ingest import ingest

    story = " ".join(f"The Gdansk shipyard launched its third ferry of the year on Saturday, sentence {i}." for i in range(20))
    feed = tmp_path / "full.rss"
    feed.write_text(
        "<?xml version='1.0'?><rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/'><channel><title>Baltic Wire</title>"
        "<item><title>Third ferry launched</title><link>https://baltic.example.test/ferry</link><pubDate>Sat, 07 Feb 2026 12:00:00 GMT</pubDate>"
        f"<content:encoded><![CDATA[<p>{story}</p><script>alert(1)</script>]]></content:encoded></item></channel></rss>"
    )
    report = ingest([feed], store, embedder, ingest_opts())  # the link is not fetched: nothing listens there
    assert report.added == 1 and not report.failed, report
    [row] = store.manifest.articles()
    assert (row.title, row.source, row.date, row.url) == ("Third ferry launched", "Baltic Wire", "2026-02-07", "https://baltic.example.test/ferry")
    meta = store.chunks.all()[0].meta
    assert meta["date_source"] == "feed" and "alert" not in " ".join(h.text for h in store.chunks.all())


def test_update_every_polls_until_stopped():
    from core.errors import ConfigError
    from ingest import IngestReport, every, parse_period

    assert [parse_period(x) for x in ("30m", "45s", "2h", "1d", "5")] == [1800, 45, 7200, 86400, 300]
    with pytest.raises(ConfigError):
        parse_period("soon")
    polls, sleeps = [], []
    every(60, lambda: IngestReport(added=len(polls)), polls.append, sleep=sleeps.append, rounds=3)
    assert [r.added for r in polls] == [0, 1, 2] and len(sleeps) == 2 and all(0 < s <= 60 for s in sleeps)
