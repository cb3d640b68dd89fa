"""URL ingest refuses internal addresses unless NEWSRAG_FETCH_ALLOW allows them (ingest/netguard.py).

The finding: `newsrag ingest URL`, the page's add-by-URL and feed entries stored a
"secret" page from 127.0.0.1, also through a redirect and through the address's octal
and decimal spellings, and a reader then got it back, cited. Each test first shows the
URL really reaches the secret (with the address allowed, as a user would allow it), then
that by default it is refused with a message naming the fix and nothing is stored or even
asked for. Servers listen on 127.0.0.1 and ::1 only; every other address below is handed
to a fake resolver and a fake connect, never to the network.
"""

from __future__ import annotations

import json
import socket
from dataclasses import replace

import pytest

from core.errors import ConfigError, IngestError
from ingest.web import FetchLimits, fetch
from tests.servers import NewsSite
from conftest import ingest_opts

pytestmark = pytest.mark.integration

PASSWORD = "hunter2-prod-7731"
SECRET = (
    "<html><head><title>Ops wiki: production database</title></head><body><article><h1>Production database</h1>"
    f"<p>The production database password is {PASSWORD}, and only the operations team may use it on the intranet.</p>"
    "<p>Rotate it every quarter and never paste it into a chat window, the operations handbook says on its first page.</p>"
    "</article></body></html>"
)
NEWS = (
    "<html><head><title>Harbour Times</title></head><body><article><h1>New ferry line to Hull opens</h1>"
    "<p>A new overnight ferry line between Rotterdam and Hull opened on Monday, carrying 900 passengers on its first crossing.</p>"
    "<p>The operator said it plans three crossings a week until the summer, when a second ship joins the route.</p>"
    "</article></body></html>"
)
# Spellings of 127.0.0.1 the C library (and so getaddrinfo) accepts.
SPELLINGS = ("127.0.0.1", "localhost", "0177.0.0.1", "2130706433", "0x7f000001", "127.1", "[::ffff:127.0.0.1]")
PUBLIC = "93.184.216.34"  # only ever handed to fake connects


def refusal(url: str, address: str = "127.0.0.1", allow: str = "", verb: str = "resolves to") -> str:
    shown = f"::ffff:{address} (IPv4 {address})" if "[::ffff:" in url and verb == "resolves to" else address
    fix = f"add {address} to NEWSRAG_FETCH_ALLOW (now {allow})" if allow else f"set NEWSRAG_FETCH_ALLOW={address}"
    return f"refused {url}: it {verb} {shown}, a loopback address; to fetch from it {fix}"


def limits(*allow: str) -> FetchLimits:
    return replace(ingest_opts().fetch, timeout=10, allow=allow)


def opts(*allow: str):
    return replace(ingest_opts(), fetch=limits(*allow))


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.fixture
def site():
    with NewsSite() as s:
        s.put("/secret", SECRET)
        s.put("/news", NEWS)
        yield s


@pytest.fixture
def site6():
    if not ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback")
    with NewsSite("::1") as s:
        s.put("/secret", SECRET)
        yield s


def nothing_stored(store) -> bool:
    return not store.manifest.articles() and not store.chunks.all()


def test_every_spelling_of_loopback_reaches_the_secret_and_is_refused_by_default(site, site6, store, embedder):
    from ingest import ingest

    urls = {site.url("/secret", host=h): "127.0.0.1" for h in SPELLINGS} | {site6.url("/secret"): "::1"}
    for url in urls:  # the finding: each spelling is the secret server
        assert PASSWORD.encode() in fetch(url, limits("127.0.0.1", "::1")).data, url
    asked = len(site.seen) + len(site6.seen)

    report = ingest(list(urls), store, embedder, ingest_opts())  # no NEWSRAG_FETCH_ALLOW
    assert report.added == 0
    assert {f["path"]: f["reason"] for f in report.failed} == {u: refusal(u, a) for u, a in urls.items()}
    assert nothing_stored(store)
    assert len(site.seen) + len(site6.seen) == asked  # refused before connecting: not even asked


def test_each_redirect_hop_is_checked(site, store, embedder):
    """`localhost` is allowed by name, so http://localhost:P/ is fetched; a redirect from it to the
    same server as 127.0.0.1 (or another spelling) is refused: the rule matched the name, and the
    new hop's name is not it. Allowing by address (127.0.0.1) would have allowed every spelling."""
    from ingest import ingest

    by_name = limits("localhost")
    assert PASSWORD.encode() in fetch(site.url("/secret", host="localhost"), by_name).data
    site.redirects["/moved"] = (301, site.url("/news", host="localhost"))
    assert fetch(site.url("/moved", host="localhost"), by_name).final_url == site.url("/news", host="localhost")

    for status, host in zip((302, 301, 303, 307, 308), ("127.0.0.1", "0177.0.0.1", "2130706433", "127.1", "[::ffff:127.0.0.1]")):
        site.redirects["/go"] = (status, site.url("/secret", host=host))
        asked = site.paths()
        with pytest.raises(IngestError) as e:
            fetch(site.url("/go", host="localhost"), by_name)
        assert str(e.value) == refusal(site.url("/secret", host=host), allow="localhost"), status
        assert site.paths()[len(asked):] == ["/go"]  # the second hop never reached the server

    report = ingest([site.url("/go", host="localhost")], store, embedder, opts("localhost"))
    assert [f["reason"] for f in report.failed] == [refusal(site.url("/secret", host="[::ffff:127.0.0.1]"), allow="localhost")]
    assert nothing_stored(store)


def test_feed_entries_are_checked(site, tmp_path, store, embedder):
    from ingest import ingest, update

    links = [site.url("/secret", host=h) for h in ("127.0.0.1", "0x7f.1", "2130706433")]
    items = "".join(f"<item><title>Wiki {i}</title><link>{u}</link></item>" for i, u in enumerate(links))
    feed = tmp_path / "wiki.rss"
    feed.write_text(f"<?xml version='1.0'?><rss version='2.0'><channel><title>Wiki</title>{items}</channel></rss>")
    report = ingest([feed], store, embedder, ingest_opts())  # a feed file: its entries' links are fetched
    assert {f["path"]: f["reason"] for f in report.failed} == {u: refusal(u) for u in links}
    assert nothing_stored(store) and "/secret" not in site.paths()

    # A polled feed (`newsrag update`), allowed by name: its allowed entry is taken in, the other refused.
    secret = site.url("/secret")
    site.put("/rss.xml", (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Harbour Times</title>"
        f"<item><title>Ferry</title><link>{site.url('/news', host='localhost')}</link></item>"
        f"<item><title>Wiki</title><link>{secret}</link></item></channel></rss>"
    ), "application/rss+xml")
    store.manifest.add_feed(site.url("/rss.xml", host="localhost"))
    polled = update(store, embedder, opts("localhost"))
    assert polled.added == 1 and [f["reason"] for f in polled.failed] == [refusal(secret, allow="localhost")]
    assert [a.title for a in store.manifest.articles()] == ["New ferry line to Hull opens"]
    assert "/secret" not in site.paths()


def test_feedparser_and_htmldate_never_fetch_by_themselves(site, tmp_path, store, embedder):
    """A feed whose body is a URL or a local path, an external entity, and a page whose text starts
    with a URL: feedparser would fetch the URL or open the file, htmldate would download the URL."""
    from ingest import update
    from ingest.feeds import parse_feed
    from ingest.formats import ReadContext, html_article

    local = tmp_path / "local.rss"
    local.write_text(
        "<?xml version='1.0'?><rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/'><channel><title>Local</title>"
        f"<item><title>Local file</title><link>https://wiki.example.test/a</link><content:encoded>{'The password is in a local file. ' * 40}"
        "</content:encoded></item></channel></rss>"
    )
    for body in (str(local).encode(), site.url("/secret").encode()):
        with pytest.raises(IngestError, match="not an RSS or Atom feed"):
            parse_feed(body)
    xxe = f"<?xml version='1.0'?><!DOCTYPE rss [<!ENTITY x SYSTEM '{site.url('/secret')}'>]><rss version='2.0'><channel><title>&x;</title></channel></rss>"
    parse_feed(xxe.encode())

    site.put("/feed-is-a-path", str(local).encode(), "application/rss+xml")
    store.manifest.add_feed(site.url("/feed-is-a-path", host="localhost"))
    report = update(store, embedder, opts("localhost"))
    assert report.added == 0 and report.failed[0]["reason"].startswith("not an RSS or Atom feed")

    words = "\t".join(("Dockworkers in Rotterdam ended a nine-day strike on Friday after the port agreed to a raise " * 3).split())
    page = f"{site.url('/htmldate-was-here')}#<html><body><article><h1>Strike</h1><p>{words}</p></article></body></html>"
    html_article(page, "page.html", ReadContext(100_000, []), url="https://news.example.test/strike")
    assert nothing_stored(store) and site.paths() == ["/feed-is-a-path"], site.paths()


class FakeNet:
    """A resolver whose answers change from call to call (DNS rebinding), and a connect that
    records where it was asked to go; it connects nowhere unless told to (`to`)."""

    def __init__(self, *answers: list[str], to: tuple[str, int] | None = None) -> None:
        self.answers = list(answers)
        self.resolved: list[str] = []
        self.connected: list[str] = []
        self.to = to

    def resolve(self, host: str, port: int, *args: object, **kw: object) -> list[tuple]:
        self.resolved.append(host)
        ips = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ips]

    def connect(self, answer: tuple, timeout: object, source: object) -> socket.socket:
        self.connected.append(answer[4][0])
        if self.to is None:
            raise ConnectionRefusedError(111, "Connection refused")
        return socket.create_connection(self.to, 5)  # a NAT in the way: the socket ends up elsewhere


def test_dns_rebinding_cannot_reach_loopback(site):
    """First answer public, later answers 127.0.0.1: the check and the connection use the same
    single answer, so the connection never goes to 127.0.0.1."""
    from ingest.netguard import Allow, Guard

    net = FakeNet([PUBLIC], ["127.0.0.1"])
    guard = Guard(Allow(), net.resolve, net.connect)
    url = f"http://news.example.test:{site.port}/secret"
    with pytest.raises(IngestError, match="^connection refused by news.example.test"):
        fetch(url, limits(), guard=guard)
    assert net.connected == [PUBLIC] and net.resolved == ["news.example.test"]  # resolved once, for check and connect
    with pytest.raises(IngestError) as e:  # the next fetch resolves anew: now refused, before any connect
        fetch(url, limits(), guard=guard)
    assert str(e.value) == refusal(url) and net.connected == [PUBLIC]

    mixed = FakeNet([PUBLIC, "127.0.0.1", "::1"])  # an answer that lists both: only the public one is tried
    with pytest.raises(OSError):
        Guard(Allow(), mixed.resolve, mixed.connect).connect("news.example.test", 80, 5)
    assert mixed.connected == [PUBLIC]
    assert site.seen == []


def test_the_address_connected_to_is_checked_again(site):
    from ingest.netguard import Allow, Guard

    net = FakeNet([PUBLIC], to=("127.0.0.1", site.port))
    url = f"http://news.example.test:{site.port}/secret"
    with pytest.raises(IngestError) as e:
        fetch(url, limits(), guard=Guard(Allow(), net.resolve, net.connect))
    assert str(e.value) == refusal(url, verb="connected to")
    assert net.connected == [PUBLIC] and site.seen == []  # closed before a byte was sent


def test_the_checked_address_is_connected_to_under_the_url_name(site, tmp_path, monkeypatch):
    """A name the resolver maps to 127.0.0.1, allowed by name: the socket goes to the checked address
    while the Host header, and over https the SNI and the certificate check, use the URL's name."""
    import shutil
    import subprocess

    from ingest.netguard import Allow, Guard

    net = FakeNet(["127.0.0.1"])
    guard = Guard(Allow(("news.example.test", "other.example.test")), net.resolve)
    r = fetch(f"http://news.example.test:{site.port}/news", limits(), guard=guard)
    assert b"ferry" in r.data and site.seen[-1][1]["Host"] == f"news.example.test:{site.port}"
    with pytest.raises(IngestError, match="^refused https://127.0.0.1:"):
        fetch(f"https://127.0.0.1:{site.port}/news", limits())  # https is guarded alike

    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=news.example.test",
                    "-addext", "subjectAltName=DNS:news.example.test", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the default context trusts the test certificate
    with NewsSite(tls=(cert, key)) as tls:
        tls.put("/news", NEWS)
        r = fetch(f"https://news.example.test:{tls.port}/news", limits(), guard=guard)
        assert b"ferry" in r.data and tls.seen[-1][1]["Host"] == f"news.example.test:{tls.port}"
        with pytest.raises(IngestError, match="^TLS error with other.example.test: .*(hostname|match)"):
            fetch(f"https://other.example.test:{tls.port}/news", limits(), guard=guard)  # checked against the URL's name


@pytest.mark.parametrize("address, kind", [
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.10", "private"), ("169.254.169.254", "link-local"),
    ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"), ("240.0.0.1", "reserved"), ("100.64.0.1", "special-purpose"),
    ("::1", "loopback"), ("::", "unspecified"), ("fe80::1", "link-local"), ("fd12:3456::1", "private"), ("ff02::1", "multicast"),
    ("::ffff:10.0.0.1", "private"), ("::ffff:169.254.169.254", "link-local"), ("2002:7f00:1::", "loopback"), ("64:ff9b::a00:1", "private"),
    (PUBLIC, None), ("2606:4700:4700::1111", None), ("::ffff:93.184.216.34", None),
])
def test_address_kinds(address, kind):
    import ipaddress

    from ingest.netguard import Allow, Guard, address_kind

    assert address_kind(ipaddress.ip_address(address)) == kind
    net = FakeNet([address])
    guard = Guard(Allow(), net.resolve, net.connect)
    if kind is None:
        assert guard.addresses("news.example.test", 80, "http://news.example.test/")
    else:
        with pytest.raises(IngestError, match=f"it resolves to .*, an? {kind} address; to fetch from it set NEWSRAG_FETCH_ALLOW="):
            guard.addresses("news.example.test", 80, "http://news.example.test/")


def test_allow_semantics():
    import ipaddress

    from ingest.netguard import Allow

    allow = Allow(("Intranet.Example., 10.1.0.0/16", "127.0.0.1", "[::1]", "10.2.3.4/24"))
    assert allow.entries == ("intranet.example", "10.1.0.0/16", "127.0.0.1", "::1", "10.2.3.0/24")
    ip = ipaddress.ip_address
    assert allow.permits("intranet.example", ip("10.9.9.9"))  # a name allows whatever it resolves to
    assert not allow.permits("wiki.intranet.example", ip("10.9.9.9"))  # exactly that name
    assert allow.permits("anything.example", ip("10.1.200.3")) and not allow.permits("x", ip("10.3.0.1"))
    assert allow.permits("0177.0.0.1", ip("127.0.0.1")) and allow.permits("x", ip("::ffff:127.0.0.1"))  # by address: any spelling
    assert not allow.permits("x", ip("127.0.0.2")) and allow.permits("x", ip(PUBLIC))
    assert limits("a.example, b.example").allow == ("a.example", "b.example")
    for bad, says in (("0177.0.0.1", "as 127.0.0.1"), ("2130706433", "as 127.0.0.1"), ("http://intranet.example", "neither"),
                      ("intranet.example:8080", "neither"), ("10.0.0.0/33", "neither")):
        with pytest.raises(ConfigError, match=says):
            Allow((bad,))


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    monkeypatch.setenv("NEWSRAG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEWSRAG_LLM", "extractive")
    monkeypatch.delenv("NEWSRAG_FETCH_ALLOW", raising=False)
    return tmp_path


def test_cli_refuses_with_one_line_then_ingests_when_allowed(site, cli_env, capsys, monkeypatch):
    from ui.cli import main

    url = site.url("/secret")
    assert main(["ingest", url]) == 1
    out = capsys.readouterr().out
    assert f"  FAILED {url}: {refusal(url)}\n" in out and "added 0," in out

    monkeypatch.setenv("NEWSRAG_FETCH_ALLOW", "0177.0.0.1")
    assert main(["ingest", url]) == 2
    assert capsys.readouterr().err == "error: NEWSRAG_FETCH_ALLOW: write '0177.0.0.1' as 127.0.0.1, the address it stands for\n"

    monkeypatch.setenv("NEWSRAG_FETCH_ALLOW", "127.0.0.1")
    assert main(["ingest", url]) == 0 and "added 1," in capsys.readouterr().out
    assert main(["ask", "What is the production database password?", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["citations"][0]["url"] == url and PASSWORD in answer["text"]  # allowed on purpose: the old behaviour


def test_the_page_refuses_too(site, store, embedder, settings):
    from core.models.fake import FakeLLM
    from rag.engine import Engine
    from ui.handlers import Page

    url = site.url("/secret", host="2130706433")
    report, *_ = Page(Engine(store, embedder, FakeLLM()), settings).add_urls(url)
    assert "Added 0," in report and "failed 1" in report and "NEWSRAG_FETCH_ALLOW=127.0.0.1" in report
    assert nothing_stored(store) and site.seen == []
