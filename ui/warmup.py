"""The embedded model loads while the page is already served.

`ModelLoader(engine).start()` loads `engine.llm` on a background thread as
`newsrag chat` starts; the page polls `state()` and shows a "loading the model"
line until it is ready. A question asked meanwhile is retrieved and its passages
shown at once; its answer waits for the load already under way (`Engine.llm`
loads once, under a lock), so the first question never starts a load of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from core.errors import NewsragError

log = logging.getLogger(__name__)


class ModelLoader:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.error: str | None = None
        self.load_s: float | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()

    def start(self) -> "ModelLoader":
        self._thread = threading.Thread(target=self._load, daemon=True, name="newsrag-model-load")
        self._thread.start()
        return self

    def _load(self) -> None:
        t0 = time.perf_counter()
        try:
            self.engine.llm
        except NewsragError as e:
            self.error = str(e)
            print(f"the LLM backend did not load: {e}\nThe page shows this message, with the retrieved passages, until it does.")
        except Exception as e:  # the page says so; the log keeps the traceback
            log.exception("loading the LLM failed")
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.load_s = time.perf_counter() - t0
            self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def state(self) -> str:
        """loading | ready | failed"""
        if not self._done.is_set():
            return "loading"
        return "failed" if self.error else "ready"
