"""The embedded default LLM: a GGUF run in-process by llama.cpp (xllamacpp).

Loaded once per process (`EmbeddedLLM.shared`); all cores; ChatML from the
GGUF's template; temperature 0. Calls are serialised: one llama.cpp context
answers one question at a time, and llama.cpp reuses the fixed prompt prefix
between calls.

xllamacpp's `Server` always starts llama.cpp's HTTP server as well, even when
only called in-process (there is no switch to turn it off). We bind it to a
UNIX socket in a private folder (mode 0700) instead of a TCP port, and delete
that folder as soon as the model is loaded: the socket has no path any more,
so no process on the machine can connect to it.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

from core.errors import BackendError, ConfigError
from core.models.base import GenerationRequest

log = logging.getLogger(__name__)
_DONE = object()
_shared: dict[tuple[str, int, int], "EmbeddedLLM"] = {}
_shared_lock = threading.Lock()


def llama_params(model_path: Path, threads: int, context: int) -> Any:
    """llama.cpp's parameters for this model: one sequence, all `threads`, quiet, no warm-up."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path)
    params.n_ctx = context
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.warmup = False
    params.verbosity = -1
    return params


class EmbeddedLLM:
    def __init__(self, model_path: Path, threads: int, context: int = 4096) -> None:
        try:
            import xllamacpp
        except ImportError as e:
            raise ConfigError('the embedded LLM runtime is missing: pip install -e ".[local]" (or NEWSRAG_LLM=extractive)') from e
        if not Path(model_path).is_file():
            raise ConfigError(f"no model file at {model_path} (NEWSRAG_LLM_MODEL_PATH)")
        self.name = f"embedded:{Path(model_path).name}"
        params = llama_params(model_path, threads, context)
        self._socket_dir = _private_socket(params)
        with _quiet_stderr():
            try:
                self._server = xllamacpp.Server(params)
            except Exception as e:
                _remove(self._socket_dir)
                raise ConfigError(f"llama.cpp could not load {model_path} (NEWSRAG_LLM_MODEL_PATH): {e}") from e
        # The listening socket keeps working without its path; removing the folder now means
        # nothing can connect to it at all, and nothing is left behind even after a crash.
        _remove(self._socket_dir)
        log.debug("embedded LLM loaded; llama.cpp's HTTP API is bound to %s (unlinked)", self._server.listening_address)
        self._lock = threading.Lock()

    @classmethod
    def shared(cls, model_path: Path, threads: int, context: int = 4096) -> "EmbeddedLLM":
        """One loaded model per process and configuration, however many engines ask."""
        key = (str(Path(model_path).resolve()), threads, context)
        with _shared_lock:
            if key not in _shared:
                _shared[key] = cls(model_path, threads, context)
            return _shared[key]

    @property
    def listening_address(self) -> str:
        """Where llama.cpp's own HTTP API listens (a UNIX socket where the OS has them)."""
        return str(self._server.listening_address)

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        body = {
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": 0,
            "stream": True,
        }
        pieces: "queue.Queue[Any]" = queue.Queue()
        stop = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            if isinstance(chunk, dict):
                if "error" in chunk:
                    pieces.put(BackendError(f"the embedded LLM failed: {chunk['error']}"))
                if isinstance(chunk.get("timings"), dict):
                    request.stats.update(llama_stats(chunk["timings"]))
                for choice in chunk.get("choices", []):
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        pieces.put(text)
            return stop.is_set()  # True stops generation (the reader went away)

        def run() -> None:
            try:
                with self._lock:
                    if not stop.is_set():
                        result = self._server.handle_chat_completions(body, on_chunk)
                        if isinstance(result, dict) and "error" in result:
                            pieces.put(BackendError(f"the embedded LLM failed: {result['error']}"))
            except Exception as e:  # surfaced to the caller below
                pieces.put(BackendError(f"the embedded LLM failed: {e}"))
            finally:
                pieces.put(_DONE)

        threading.Thread(target=run, daemon=True, name="embedded-llm").start()
        try:
            while (item := pieces.get()) is not _DONE:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            stop.set()


def llama_stats(t: dict[str, Any]) -> dict[str, float]:
    """llama.cpp's timings for one request, in our units: tokens read (fresh and from the prompt
    cache), seconds spent reading them, tokens generated and seconds spent generating."""
    out = {
        "prompt_tokens": float(t.get("prompt_n") or 0),
        "cached_tokens": float(t.get("cache_n") or 0),
        "prompt_read_s": float(t.get("prompt_ms") or 0) / 1000,
        "generated_tokens": float(t.get("predicted_n") or 0),
        "decode_s": float(t.get("predicted_ms") or 0) / 1000,
    }
    out["prompt_tokens_per_s"] = out["prompt_tokens"] / out["prompt_read_s"] if out["prompt_read_s"] else 0.0
    out["decode_tokens_per_s"] = out["generated_tokens"] / out["decode_s"] if out["decode_s"] else 0.0
    return out


def _private_socket(params: Any) -> str | None:
    """Point llama.cpp's HTTP server at a UNIX socket in a fresh 0700 folder (POSIX only)."""
    if os.name != "posix":
        return None  # falls back to a random port on 127.0.0.1
    folder = tempfile.mkdtemp(prefix="newsrag-llm-")  # created 0700
    params.hostnames = [os.path.join(folder, "llama.sock")]  # a name ending in .sock means AF_UNIX
    return folder


def _remove(folder: str | None) -> None:
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


class _quiet_stderr:
    """llama.cpp logs heavily to fd 2 while loading: silence it, natively too."""

    def __enter__(self) -> None:
        self._saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)

    def __exit__(self, *exc: object) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)
