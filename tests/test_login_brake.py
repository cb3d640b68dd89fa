"""The login has a brake: each failed login makes the next one wait longer, and after
NEWSRAG_LOGIN_MAX_FAILURES the user, and the client address, are refused for
NEWSRAG_LOGIN_LOCKOUT_S, even with the right password. The clock is a fake: no test sleeps."""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import logging
import shutil

import httpx
import pytest

from conftest import make_settings
from core.errors import ConfigError
from rag.engine import Engine
from tests.servers import free_port
from ui.access import LoginBrake

USERS = "alice:a-pass:editor,bob:b-pass:reader"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """An async sleep that returns at once and records what it was asked to wait."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


def fail(brake: LoginBrake, user: str, address: str) -> tuple[str | None, float, str | None]:
    refused, delay = brake.begin(user, address)
    return refused, delay, None if refused else brake.end(user, address, ok=False)


def test_failures_wait_longer_each_time_then_lock_the_user_until_the_lockout_passes():
    clock = Clock()
    brake = LoginBrake(5, 300, clock=clock)
    delays = [fail(brake, "bob", "10.0.0.1")[1] for _ in range(4)]
    assert delays == [0.0, 0.5, 1.0, 2.0]
    refused, delay, locked = fail(brake, "bob", "10.0.0.1")
    assert refused is None and delay == 4.0 and locked == "too many failed logins for bob; try again in 5 min"
    assert brake.begin("bob", "10.0.0.2")[0] == "too many failed logins for bob; try again in 5 min", "from any address"
    clock.now += 299
    assert brake.begin("bob", "10.0.0.3")[0] == "too many failed logins for bob; try again in 1 s"
    clock.now += 2
    refused, delay = brake.begin("bob", "10.0.0.3")
    assert refused is None and delay == 0.0, "the lockout is over and the count starts again"
    brake.end("bob", "10.0.0.3", ok=True)


def test_an_address_that_tries_many_users_is_locked_out_too():
    brake = LoginBrake(3, 60, clock=Clock())
    for user in ("ann", "ben", "cat"):
        fail(brake, user, "10.0.0.9")
    assert brake.begin("dan", "10.0.0.9")[0] == "too many failed logins from 10.0.0.9; try again in 1 min"
    assert brake.begin("dan", "10.0.0.10")[0] is None, "another address is not locked"


def test_a_success_clears_the_users_count_but_not_the_addresss():
    """One valid login must not reset a spray over many names from the same address."""
    brake = LoginBrake(3, 60, clock=Clock())
    fail(brake, "bob", "10.0.0.1")
    fail(brake, "bob", "10.0.0.1")
    brake.begin("bob", "10.0.0.1")
    brake.end("bob", "10.0.0.1", ok=True)
    assert brake.begin("bob", "10.0.0.2")[1] == 0.0, "bob's count is cleared"
    brake.end("bob", "10.0.0.2", ok=True)
    assert fail(brake, "mallory", "10.0.0.1")[2] == "too many failed logins from 10.0.0.1; try again in 1 min"


def test_attempts_in_parallel_cannot_outrun_the_count():
    brake = LoginBrake(3, 60, clock=Clock())
    started = [brake.begin("bob", f"10.0.0.{i}") for i in range(5)]  # none has ended yet
    assert [r is None for r, _ in started] == [True, True, True, False, False]
    assert [d for r, d in started if r is None] == [0.0, 0.5, 1.0], "each waits longer than the one before"


def test_old_failures_are_forgotten():
    clock = Clock()
    brake = LoginBrake(3, 60, clock=clock)
    fail(brake, "bob", "10.0.0.1")
    fail(brake, "bob", "10.0.0.1")
    clock.now += 61
    assert fail(brake, "bob", "10.0.0.1")[1:] == (0.0, None), "a typo an hour ago does not count"


# --- end to end: Gradio's login behind the page's guard


@pytest.fixture
def locked_page(sample_store, embedder, fake_llm, tmp_path):
    from ui.app import create_app, launch

    settings = make_settings(tmp_path / "home", auth=USERS, login_max_failures=5, login_lockout_s=120)
    clock, sleeps = Clock(), Sleeps()
    brake = LoginBrake.from_settings(settings, clock=clock, sleep=sleeps)
    demo = create_app(Engine(sample_store, embedder, fake_llm), settings)
    port = free_port()
    launch(demo, settings, brake=brake, server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/", clock, sleeps
    finally:
        demo.close()


def login(url: str, user: str, password: str, source: str = "127.0.0.1") -> httpx.Response:
    with httpx.Client(base_url=url, timeout=30, transport=httpx.HTTPTransport(local_address=source)) as http:
        return http.post("login", data={"username": user, "password": password})


def test_fifty_wrong_passwords_lock_the_user_and_the_address_until_the_lockout_passes(locked_page, caplog):
    url, clock, sleeps = locked_page
    with caplog.at_level(logging.WARNING, logger="ui.access"):
        replies = [login(url, "bob", f"guess-{i}") for i in range(50)]
    assert [r.status_code for r in replies[:4]] == [400] * 4, "the first failures are Gradio's own 'Incorrect credentials'"
    assert {r.status_code for r in replies[4:]} == {429}
    assert replies[4].json()["detail"] == "Too many failed logins for bob; try again in 2 min."
    assert replies[4].headers["retry-after"] == "120"
    assert sleeps.asked == [0.0, 0.5, 1.0, 2.0, 4.0], "each failure made the next attempt wait longer; the locked ones wait for nothing"
    assert any("login locked out: user 'bob' after 5 failed logins" in r.getMessage() for r in caplog.records)

    clock.now += 30
    right = login(url, "bob", "b-pass")
    assert right.headers["retry-after"] == "90", "the time left"
    assert right.status_code == 429 and "access-token" not in right.headers.get("set-cookie", ""), "even the right password"
    assert login(url, "alice", "a-pass").json()["detail"].startswith("Too many failed logins from 127.0.0.1"), "the address is locked"
    assert login(url, "bob", "b-pass", source="127.0.0.2").status_code == 429, "bob is locked from every address"
    assert login(url, "alice", "a-pass", source="127.0.0.2").status_code == 200, "others elsewhere log in"

    clock.now += 91
    ok = login(url, "bob", "b-pass")
    assert ok.status_code == 200 and ok.json() == {"success": True}


def test_the_login_page_shows_why_it_refuses(locked_page):
    """Gradio's login page posts a FormData with fetch() and shows only "Incorrect Credentials" for a
    400; a locked login sends it back to the page, which then shows the lockout as its message."""
    url, clock, _ = locked_page
    page_post = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"}
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(5):
            http.post("login", files={"username": (None, "bob"), "password": (None, f"guess-{i}")}, headers=page_post)
        r = http.post("login", files={"username": (None, "bob"), "password": (None, "b-pass")}, headers=page_post)
        assert r.status_code == 200 and r.json()["success"] is False and "access-token" not in r.headers.get("set-cookie", "")
        page = http.get("/").text
        assert "Too many failed logins for bob; try again in 2 min." in page
        assert "Too many failed logins" in http.get("config").json()["detail"]["auth_message"]
    with httpx.Client(base_url=url, timeout=30, transport=httpx.HTTPTransport(local_address="127.0.0.2")) as other:
        assert "Too many failed logins" not in other.get("/").text, "another address sees the plain login page"
    clock.now += 121
    with httpx.Client(base_url=url, timeout=30) as http:
        assert "Too many failed logins" not in http.get("/").text, "the message goes with the lockout"


def test_a_user_name_on_the_login_page_is_shown_as_text(locked_page):
    url, _, _ = locked_page
    page_post = {"Sec-Fetch-Mode": "cors"}
    name = "<img src=x onerror=alert(1)>"
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(6):
            http.post("login", files={"username": (None, name), "password": (None, "x")}, headers=page_post)
        message = http.get("config").json()["detail"]["auth_message"]  # the page renders it as HTML
    assert "Too many failed logins for &lt;img src=x onerror=alert(1)&gt;" in message and "<img" not in message


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium not found: sudo apt-get install -y chromium")
def test_the_login_page_in_a_browser_says_the_user_is_locked_out(locked_page, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is missing: pip install -e '.[dev]'")
    from tests.test_browser import FLAGS

    url, _, _ = locked_page
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.continue_() if "127.0.0.1" in route.request.url else route.abort())
            page.goto(url)
            for i in range(5):
                page.get_by_label("username").fill("bob")
                page.get_by_label("password").fill(f"guess-{i}")
                with page.expect_response("**/login") as sent:
                    page.get_by_role("button", name="Login").click()
                assert sent.value.status == (400 if i < 4 else 200), "the fifth failure sends the page back to itself"
                if i < 4:
                    sync_api.expect(page.get_by_text("Incorrect Credentials")).to_be_visible(timeout=15_000)
            sync_api.expect(page.get_by_text("Too many failed logins for bob; try again in 2 min.")).to_be_visible(timeout=15_000)
            page.get_by_label("username").fill("bob")
            page.get_by_label("password").fill("b-pass")
            with page.expect_response("**/login") as sent:
                page.get_by_role("button", name="Login").click()
            sync_api.expect(page.get_by_text("Too many failed logins for bob; try again in 2 min.")).to_be_visible(timeout=15_000)
            assert page.locator("#nr-question").count() == 0, "even the right password does not open the page"
        finally:
            browser.close()


def test_the_brakes_settings_are_checked():
    with pytest.raises(ConfigError, match="NEWSRAG_LOGIN_MAX_FAILURES must be at least 1"):
        LoginBrake(0, 60)
