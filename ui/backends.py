"""LLM backends for the page: chosen per session, loaded once per process.

`Backends.get(name, model)` returns a cheap handle at once; the backend is
built on its first answer and cached by (name, model) for every session. The
backend configured in Settings is the engine's own model (loaded once by the
engine). Any failure, while loading or while answering, becomes a
`BackendError` with a readable message, so the engine ends the answer with
that message and the retrieved passages instead of a traceback.

The backend and the model are the server's choice: a reader gets the configured
one, or one named in NEWSRAG_READER_BACKENDS, with the configured model
(`get(..., reader=True)` refuses anything else); editors choose any.
"""

from __future__ import annotations

import logging
import threading
from typing import Iterator

from rag.engine import Engine
from core.errors import BackendError, ConfigError, NewsragError
from core.models.base import GenerationRequest, Generator
from core.models.llms import Registry
from core.settings import Settings

log = logging.getLogger(__name__)



class Backends:
    def __init__(self, engine: Engine, settings: Settings, registry: Registry | None = None) -> None:
        if registry is None:
            from core.models.llms import LLMS

            registry = LLMS
        self.engine = engine
        self.settings = settings
        self.registry = registry
        self._loaded: dict[tuple[str, str], Generator] = {}
        self._lock = threading.Lock()
        self.for_readers = self._reader_names()

    @property
    def default(self) -> tuple[str, str]:
        return self.settings.llm, self.settings.llm_model or ""

    def _reader_names(self) -> list[str]:
        """The configured backend and NEWSRAG_READER_BACKENDS (each must be a known backend)."""
        named = [n.strip() for n in self.settings.reader_backends.split(",") if n.strip()]
        unknown = [n for n in named if n not in self.registry and n != self.settings.llm]
        if unknown:
            raise ConfigError(f"NEWSRAG_READER_BACKENDS names unknown LLM backend(s) {', '.join(map(repr, unknown))}; "
                              f"choose from: {', '.join(self.registry)}")
        return list(dict.fromkeys([self.settings.llm, *named]))

    def choices(self, editor: bool = True) -> list[tuple[str, str]]:
        """(label, name) for the settings dropdown: every backend for an editor, a reader's few for a reader.
        The test double is listed only when it is configured."""
        listed = [(f"{name} — {desc}", name) for name, (_, desc) in self.registry.items() if name != "fake" or self.settings.llm == "fake"]
        if self.settings.llm not in self.registry:
            listed.insert(0, (f"{self.settings.llm} — the configured backend", self.settings.llm))
        return listed if editor else [c for c in listed if c[1] in self.for_readers]

    def describe(self, name: str) -> str:
        return self.registry[name][1] if name in self.registry else ""

    def get(self, name: str | None = None, model: str | None = None, reader: bool = False) -> "LazyBackend":
        """A handle on backend `name` with `model` (empty: the configured ones). `reader`: refused (ConfigError)
        unless it is a reader's backend with the configured model."""
        key = (name or self.default[0], (model or "").strip())
        if reader:
            self._check_reader(*key)
            key = (key[0], self.default[1] if key[0] == self.default[0] else "")
        if key[0] not in self.registry and key != self.default:
            raise ConfigError(f"unknown LLM backend {key[0]!r}; choose one of: {', '.join(self.registry)}")
        return LazyBackend(self, key)

    def _check_reader(self, name: str, model: str) -> None:
        if name not in self.for_readers:
            raise ConfigError(
                f"Readers get their answers from the {', '.join(self.for_readers)} backend"
                f"{'s' if len(self.for_readers) > 1 else ''} (the server's choice), not {name!r}. "
                "Ask an editor, or an admin to add it to NEWSRAG_READER_BACKENDS."
            )
        if model and model != self.default[1]:
            raise ConfigError(
                f"Readers use the model the server is configured with ({self.default[1] or 'the backend default'}), not {model!r}: "
                "leave the model name empty, or ask an editor."
            )

    def load(self, key: tuple[str, str]) -> Generator:
        """The backend for `key`, built once per process (failures are not cached: a retry may succeed)."""
        if key == self.default:
            return self.engine.llm
        with self._lock:
            if key not in self._loaded:
                name, model = key
                settings = self.settings.model_copy(update={"llm": name, "llm_model": model or self.settings.llm_model})
                log.info("loading LLM backend %s %s", name, model)
                self._loaded[key] = self.registry[name][0](settings)
            return self._loaded[key]


class LazyBackend:
    """A Generator that loads its backend on first use and turns every failure into a BackendError."""

    def __init__(self, backends: Backends, key: tuple[str, str]) -> None:
        self._backends = backends
        self.key = key
        self._gen: Generator | None = None

    @property
    def name(self) -> str:
        return self._gen.name if self._gen is not None else self.key[0]

    def _load(self) -> Generator:
        if self._gen is None:
            try:
                self._gen = self._backends.load(self.key)
            except NewsragError:
                raise
            except Exception as e:
                log.warning("LLM backend %s failed to load", self.key[0], exc_info=True)
                raise BackendError(f"the {self.key[0]} backend could not be loaded: {_reason(e)}") from e
        return self._gen

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        gen = self._load()
        try:
            yield from gen.stream(request)
        except NewsragError:
            raise
        except Exception as e:
            log.warning("LLM backend %s failed", self.key[0], exc_info=True)
            raise BackendError(f"the {self.key[0]} backend failed while answering: {_reason(e)}") from e


def _reason(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def key_status(settings: Settings) -> str:
    """Whether a key is configured, never the key itself."""
    return "an API key is set (hidden)" if settings.llm_api_key is not None else "no API key is set"


__all__ = ["Backends", "LazyBackend", "key_status"]
