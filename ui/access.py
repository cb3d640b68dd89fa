"""Who may do what: logins with roles (readers and editors), API keys, and per-client limits.

`NEWSRAG_AUTH` holds `user:password` (one editor, as before) or several
`user:password:role` entries separated by commas, role `editor` or `reader`.
Readers ask and see the corpus; only editors upload, ingest and remove.
`NEWSRAG_READONLY=1` makes everyone a reader. Without logins everyone who can
reach the page is an editor (unless read-only): the page binds to 127.0.0.1.
The server checks the role of the logged-in user on every corpus change
(`Access.can_edit`), not only by hiding the buttons. Failed logins go through a
`LoginBrake`: slowed, then locked out per user and per client address.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Awaitable, Callable, Iterator

from core.errors import ConfigError
from core.settings import Settings

log = logging.getLogger(__name__)

ROLES = ("editor", "reader")
AUTH_FORMAT = "NEWSRAG_AUTH must be user:password (both non-empty), or user:password:role,... with role editor or reader"


@dataclass(frozen=True)
class User:
    name: str
    password: str
    role: str


def parse_users(spec: str) -> list[User]:
    """`alice:pw:editor,bob:pw:reader`, or `user:password` (an editor; the password may hold colons)."""
    entries = [e.strip() for e in spec.split(",")] if _has_roles(spec) else [spec]
    users: list[User] = []
    for entry in entries:
        name, sep, rest = entry.partition(":")
        password, role = rest, "editor"
        head, sep2, tail = rest.rpartition(":")
        if sep2 and tail.strip().lower() in ROLES:
            password, role = head, tail.strip().lower()
        if not sep or not name or not password:
            raise ConfigError(AUTH_FORMAT)
        users.append(User(name, password, role))
    if len({u.name for u in users}) != len(users):
        raise ConfigError("NEWSRAG_AUTH names a user twice: give each user one entry")
    return users


def _has_roles(spec: str) -> bool:
    """Several entries, or one that ends in a role: the new format. Else one `user:password`."""
    return any(entry.strip().rsplit(":", 1)[-1].lower() in ROLES and entry.count(":") >= 2 for entry in spec.split(","))


class Access:
    def __init__(self, settings: Settings) -> None:
        self.readonly = settings.readonly
        self.users = parse_users(settings.auth.get_secret_value()) if settings.auth is not None else []
        self._roles = {u.name: u.role for u in self.users}

    def logins(self) -> list[tuple[str, str]] | None:
        """For Gradio's `auth=`: every (user, password), or None when there is no login."""
        return [(u.name, u.password) for u in self.users] or None

    def role(self, username: str | None) -> str:
        if self.readonly:
            return "reader"
        if not self.users:
            return "editor"
        return self._roles.get(username or "", "reader")

    def can_edit(self, username: str | None) -> bool:
        return self.role(username) == "editor"

    def refusal(self, username: str | None) -> str:
        if self.readonly:
            return "The page is read-only (NEWSRAG_READONLY): articles cannot be added or removed here."
        who = f"{username} is" if username else "you are"
        return f"Only editors can add or remove articles; {who} a reader. Ask an editor, or an admin to give you the editor role in NEWSRAG_AUTH."


def api_keys(settings: Settings) -> list[str]:
    if settings.api_keys is None:
        return []
    keys = [k.strip() for k in settings.api_keys.get_secret_value().split(",") if k.strip()]
    if not keys:
        raise ConfigError("NEWSRAG_API_KEYS is set but holds no key: give one or more keys separated by commas, or unset it")
    return keys


def key_matches(given: str, keys: list[str]) -> int | None:
    """The index of the key `given` is (compared in constant time), or None."""
    found = None
    for i, k in enumerate(keys):
        if hmac.compare_digest(given.encode(), k.encode()):
            found = i
    return found


def bearer_client(authorization: str, address: str, keys: list[str]) -> tuple[str, str | None]:
    """Who an HTTP request is, for the per-client limits: `key:N` (its key in NEWSRAG_API_KEYS), or
    `ip:ADDRESS` when no keys are required; and why it is refused (None when it is not)."""
    if not keys:
        return f"ip:{address}", None
    scheme, _, given = authorization.partition(" ")
    which = key_matches(given.strip(), keys) if scheme.lower() == "bearer" and given.strip() else None
    if which is None:
        return "", "no API key was sent" if not given.strip() else "the API key is not one of NEWSRAG_API_KEYS"
    return f"key:{which}", None


class Limiter:
    """At most `per_client` requests of one client and `total` in all, waiting or running."""

    def __init__(self, per_client: int, total: int) -> None:
        self.per_client = per_client
        self.total = total
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, client: str) -> str | None:
        """None when admitted (call `release`), else why not (which limit, naming its setting)."""
        with self._lock:
            if sum(self._held.values()) >= self.total:
                return f"the server is busy: {self.total} questions are already waiting (NEWSRAG_MAX_QUEUE); try again in a minute"
            if self._held[client] >= self.per_client:
                return (
                    f"you already have {self._held[client]} questions waiting, the most one client may have "
                    "(NEWSRAG_MAX_SESSION_QUEUE); wait for an answer, then ask again"
                )
            self._held[client] += 1
            return None

    def release(self, client: str) -> None:
        with self._lock:
            self._held[client] -= 1
            if self._held[client] <= 0:
                del self._held[client]

    def held(self) -> Iterator[tuple[str, int]]:
        with self._lock:
            return iter(list(self._held.items()))


def question_too_long(question: str, settings: Settings, what: str = "the question") -> str | None:
    """Why `question` (or another text that reaches the model, named by `what`) is refused, or None."""
    if len(question) > settings.max_question_chars:
        fix = "ask it in fewer words" if what == "the question" else "shorten it, or start a new conversation"
        return (
            f"{what} is {len(question)} characters long, over the limit of {settings.max_question_chars} "
            f"(NEWSRAG_MAX_QUESTION_CHARS): {fix}"
        )
    return None


@dataclass
class _Tally:
    failures: int = 0  # confirmed failures since the last lockout (or success)
    pending: int = 0  # attempts under way: each counts as a failure until it succeeds
    last: float = 0.0  # when the last failure was
    locked_until: float = 0.0


class LoginBrake:
    """Failed logins are slowed, then locked out: per user name and per client address.

    After each failure the next attempt waits longer (`delay`: `first_delay_s`, doubling, at
    most `max_delay_s`); after `max_failures` failures the user (or the address) is refused
    for `lockout_s`, even with the right password. An attempt counts as a failure from its
    start until it succeeds, so attempts sent in parallel cannot outrun the count. Failures
    older than `lockout_s` are forgotten; a success clears the user's count (not the
    address's: one valid login must not reset a spray over many names). `clock` and `sleep`
    are injected (tests pass a fake clock and a sleep that records).
    """

    MAX_TALLIES = 4096  # beyond it, settled entries are dropped

    def __init__(
        self, max_failures: int, lockout_s: float, *, first_delay_s: float = 0.5, max_delay_s: float = 8.0,
        clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_failures < 1 or lockout_s < 0:
            raise ConfigError("NEWSRAG_LOGIN_MAX_FAILURES must be at least 1 and NEWSRAG_LOGIN_LOCKOUT_S at least 0")
        self.max_failures, self.lockout_s = max_failures, lockout_s
        self.first_delay_s, self.max_delay_s = first_delay_s, max_delay_s
        self.clock, self.sleep = clock, sleep
        self._tallies: dict[tuple[str, str], _Tally] = {}
        self._notices: dict[str, tuple[tuple[str, str], float]] = {}  # address -> (locked key, until)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **kw: object) -> "LoginBrake":
        return cls(settings.login_max_failures, settings.login_lockout_s, **kw)  # type: ignore[arg-type]

    def begin(self, user: str, address: str) -> tuple[str | None, float]:
        """(why this attempt is refused, None if it may go on; how long it waits before the password is checked)."""
        keys = _keys(user, address)
        with self._lock:
            now = self.clock()
            self._prune(now)
            tallies = [self._tally(k, now) for k in keys]
            for key, t in zip(keys, tallies):
                if t.locked_until > now or t.failures + t.pending >= self.max_failures:
                    until = t.locked_until if t.locked_until > now else now + self.lockout_s
                    self._notices[address] = (key, until)
                    return _locked_message(key, until - now), 0.0
            before = max(t.failures + t.pending for t in tallies)
            for t in tallies:
                t.pending += 1
        return None, 0.0 if before == 0 else min(self.max_delay_s, self.first_delay_s * 2 ** (before - 1))

    def end(self, user: str, address: str, ok: bool) -> str | None:
        """Record how the attempt `begin` let through ended; the lockout message if this failure locks."""
        keys = _keys(user, address)
        locked: str | None = None
        with self._lock:
            now = self.clock()
            for key in keys:
                t = self._tallies.setdefault(key, _Tally())
                t.pending = max(0, t.pending - 1)
                if ok:
                    if key[0] == "user":
                        t.failures = 0
                    continue
                t.failures, t.last = t.failures + 1, now
                if t.failures >= self.max_failures:
                    t.failures, t.locked_until = 0, now + self.lockout_s
                    if locked is None:  # the user's lockout is the one to tell (it is checked first, too)
                        self._notices[address] = (key, t.locked_until)
                    log.warning("login locked out: %s %r after %d failed logins (from %s), for %.0f s (NEWSRAG_LOGIN_LOCKOUT_S)",
                                key[0], key[1], self.max_failures, address, self.lockout_s)
                    locked = locked or _locked_message(key, self.lockout_s)
        return locked

    def wait_s(self, user: str, address: str) -> float:
        """Seconds until neither the user nor the address is locked (for Retry-After)."""
        with self._lock:
            now = self.clock()
            left = [t.locked_until - now for k in _keys(user, address) if (t := self._tallies.get(k)) and t.locked_until > now]
        return max(left, default=self.lockout_s)

    def notice(self, address: str) -> str | None:
        """The lockout message for a client at `address` (the login page shows it) while the lockout lasts."""
        with self._lock:
            found = self._notices.get(address)
            if found is None:
                return None
            key, until = found
            now = self.clock()
            if until <= now:
                del self._notices[address]
                return None
            return _locked_message(key, until - now)

    def _tally(self, key: tuple[str, str], now: float) -> _Tally:
        t = self._tallies.setdefault(key, _Tally())
        if t.locked_until and t.locked_until <= now:
            t.locked_until = 0.0
        if t.failures and now - t.last > self.lockout_s:
            t.failures = 0
        return t

    def _prune(self, now: float) -> None:
        if len(self._tallies) <= self.MAX_TALLIES:
            return
        for key, t in list(self._tallies.items()):
            if not t.pending and t.locked_until <= now and now - t.last > self.lockout_s:
                del self._tallies[key]
        for address, (_, until) in list(self._notices.items()):
            if until <= now:
                del self._notices[address]


def _keys(user: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
    return ("user", user.strip()[:64]), ("address", address)


def _locked_message(key: tuple[str, str], seconds: float) -> str:
    who = f"for {key[1]}" if key[0] == "user" else f"from {key[1]}"
    wait = f"{math.ceil(seconds / 60)} min" if seconds >= 60 else f"{max(1, math.ceil(seconds))} s"
    return f"too many failed logins {who}; try again in {wait}"
