"""The errors newsrag shows to a user. Each message names the fix."""

from __future__ import annotations


class NewsragError(Exception):
    """Base of every error a user may see; its message is shown as is."""


class ConfigError(NewsragError):
    """A setting is missing or wrong."""


class BackendError(NewsragError):
    """An LLM or embedding backend failed (unreachable, rejected key, timeout...)."""


class IngestError(NewsragError):
    """An article could not be read or stored."""


class StoreError(NewsragError):
    """The store is missing, locked, or does not match the configured embedder."""


class DiskFullError(StoreError):
    """No space left where the store lives. `report` holds what an ingest had done (for `--json`)."""

    report: object | None = None
