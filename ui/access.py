"""Who may do what: logins with roles (readers and editors), API keys, and per-client limits.

`NEWSRAG_AUTH` holds `user:password` (one editor, as before) or several
`user:password:role` entries separated by commas, role `editor` or `reader`.
Readers ask and see the corpus; only editors upload, ingest and remove.
`NEWSRAG_READONLY=1` makes everyone a reader. Without logins everyone who can
reach the page is an editor (unless read-only): the page binds to 127.0.0.1.
The server checks the role of the logged-in user on every corpus change
(`Access.can_edit`), not only by hiding the buttons.
"""

from __future__ import annotations

import hmac
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Iterator

from core.errors import ConfigError
from core.settings import Settings

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


def question_too_long(question: str, settings: Settings) -> str | None:
    if len(question) > settings.max_question_chars:
        return (
            f"the question is {len(question)} characters long, over the limit of {settings.max_question_chars} "
            "(NEWSRAG_MAX_QUESTION_CHARS): ask it in fewer words"
        )
    return None
