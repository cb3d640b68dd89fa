"""The embedded default LLM: a GGUF run in-process by llama.cpp (xllamacpp).

Loaded once per process; all cores; ChatML from the GGUF's template;
temperature 0. Calls are serialised: one llama.cpp context answers one
question at a time, and llama.cpp reuses the fixed prompt prefix between calls.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from pathlib import Path
from typing import Any, Iterator

from rag.errors import BackendError, ConfigError
from rag.models.base import GenerationRequest

log = logging.getLogger(__name__)
_DONE = object()


class EmbeddedLLM:
    def __init__(self, model_path: Path, threads: int, context: int = 4096) -> None:
        try:
            import xllamacpp
        except ImportError as e:
            raise ConfigError('the embedded LLM runtime is missing: pip install -e ".[local]" (or NEWSRAG_LLM=extractive)') from e
        if not Path(model_path).is_file():
            raise ConfigError(f"no model file at {model_path} (NEWSRAG_LLM_MODEL_PATH)")
        self.name = f"embedded:{Path(model_path).name}"
        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        params.n_ctx = context
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.warmup = False
        params.verbosity = -1
        with _quiet_stderr():
            self._server = xllamacpp.Server(params)
        self._lock = threading.Lock()

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        body = {
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": 0,
            "stream": True,
        }
        pieces: "queue.Queue[Any]" = queue.Queue()

        def on_chunk(chunk: Any) -> bool | None:
            if isinstance(chunk, dict):
                if "error" in chunk:
                    pieces.put(BackendError(f"the embedded LLM failed: {chunk['error']}"))
                for choice in chunk.get("choices", []):
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        pieces.put(text)
            return False  # keep streaming

        def run() -> None:
            try:
                with self._lock:
                    result = self._server.handle_chat_completions(body, on_chunk)
                if isinstance(result, dict) and "error" in result:
                    pieces.put(BackendError(f"the embedded LLM failed: {result['error']}"))
            except Exception as e:  # surfaced to the caller below
                pieces.put(BackendError(f"the embedded LLM failed: {e}"))
            finally:
                pieces.put(_DONE)

        threading.Thread(target=run, daemon=True, name="embedded-llm").start()
        while (item := pieces.get()) is not _DONE:
            if isinstance(item, Exception):
                raise item
            yield item


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
