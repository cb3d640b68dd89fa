"""`newsrag doctor [--fix]`: checks the store and the models.

The store: Chroma vs manifest vs keyword index (store/audit.py), the embedder
identity recorded on the collection and the length of its vectors. The models:
the embedded embedder's files (hash-checked as it loads) and the full sha256
of the embedded LLM's GGUF (a few seconds for 1.1 GB). Prints `ok:` lines, one
`problem:` line per problem naming its fix, and with --fix `fixed:` lines;
exits 0 when healthy, 1 otherwise. Read-only, it takes no lock: during an ingest it
reports what it can and leaves the comparison of the three parts for later. `--fix` takes
the writer lock, so it never repairs a store in the middle of an ingest. A store that
cannot be read (a full disk) is one problem line, and the model checks still run.
"""

from __future__ import annotations

import argparse
import shutil
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.articles import RECORD_VERSION
from core.errors import NewsragError, StoreError
from core.settings import Settings

GGUF_MAGIC = b"GGUF"


@dataclass
class Findings:
    ok: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"ok: {x}" for x in self.ok] + [f"fixed: {x}" for x in self.fixed] + [f"problem: {x}" for x in self.problems]
        out.append("healthy" if not self.problems else f"{len(self.problems)} problem(s)")
        return out


def register(sub: Any) -> None:
    s = sub.add_parser("doctor", help="check the store and the models; --fix repairs what it can")
    s.add_argument("--fix", action="store_true", help="undo interrupted writes, remove orphan chunks, rebuild the keyword index, re-assemble a damaged model")
    s.add_argument("--no-model", action="store_true", help="skip the LLM file's sha256 (a few seconds for 1.1 GB)")
    s.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    found = diagnose(settings, fix=args.fix, model=not args.no_model)
    print("\n".join(found.lines()))
    return 0 if not found.problems else 1


def diagnose(settings: Settings, fix: bool = False, model: bool = True, embedder: Any = None) -> Findings:
    found = Findings()
    if embedder is None:
        embedder = _embedder(settings, found)
    if embedder is not None:
        check_store(settings, embedder, fix, found)
    if model:
        check_model(settings, fix, found)
    return found


def _embedder(settings: Settings, found: Findings) -> Any:
    from core.models import make_embedder

    try:
        embedder = make_embedder(settings)
    except NewsragError as e:
        found.problems.append(f"embedder: {e}")
        return None
    checked = " (model and tokenizer sha256 verified)" if settings.embed == "embedded" else ""
    found.ok.append(f"embedder {embedder.identity}{checked}")
    return embedder


def check_store(settings: Settings, embedder: Any, fix: bool, found: Findings) -> None:
    """The store's checks; a store that cannot be read (a full disk, damaged files) is one
    problem line naming what could not be checked and the fix, never a traceback."""
    from store.failures import guarded

    try:
        with guarded(settings.home, "check", remote=bool(settings.chroma_url)):
            _check_store(settings, embedder, fix, found)
    except NewsragError as e:
        found.problems.append(f"store {settings.home}: {NOT_CHECKED}: {e}")


NOT_CHECKED = "could not check the collection's embedder, Chroma vs manifest vs keyword index, nor the chunk layout"


def _check_store(settings: Settings, embedder: Any, fix: bool, found: Findings) -> None:
    from store import WriterLock
    from store.chroma import collection_name, make_client

    if not settings.chroma_url and not (settings.home / "chroma").exists():
        found.ok.append(f"store {settings.home}: nothing ingested yet")
        return
    name = collection_name(settings.collection, embedder.identity)
    if not fix:  # read-only: never in an ingest's way, and never held up by one
        _check_collection(settings, embedder, make_client(settings.home, settings.chroma_url), name, False, found)
        return
    with ExitStack() as held:
        try:
            held.enter_context(WriterLock(settings.home / f"{name}.lock", settings.lock_timeout, purpose="`newsrag doctor --fix`"))
        except StoreError as e:  # another writer: nothing is repaired under it
            found.problems.append(f"store {settings.home}: nothing checked or repaired: {e}")
            return
        _check_collection(settings, embedder, make_client(settings.home, settings.chroma_url), name, True, found)


def _check_collection(settings: Settings, embedder: Any, client: Any, name: str, fix: bool, found: Findings) -> None:
    from store import Store, audit, repair
    from store.chroma import ChunkStore, collections

    cols = {n: (meta, count) for n, meta, count in collections(client)}
    for other in sorted(n for n in cols if n.startswith(f"{settings.collection}-") and n != name):
        meta, count = cols[other]
        found.ok.append(f"collection {other}: {count} chunks from embedder {meta.get('embedder')!r} (not the one NEWSRAG_EMBED selects)")
    if name not in cols:
        found.ok.append(f"store {settings.home}: empty (nothing ingested with embedder {embedder.identity})")
        return
    meta, count = cols[name]
    if wrong := _identity_problem(meta, embedder, settings, client, name):
        if fix:
            _drop_collection(client, settings.home, name)
            found.fixed.append(f"dropped collection {name} ({wrong}): ingest your articles again")
        else:
            found.problems.append(f"collection {name}: {wrong}: `newsrag doctor --fix` drops it, then ingest your articles again")
        return
    chunks = ChunkStore(client, name, embedder.identity, int(meta.get("dimension") or 0), url=settings.chroma_url, home=settings.home)
    store = Store(settings.home, chunks, settings.lock_timeout)
    writing = None if fix else store.writer_holder()
    if writing is None:
        result = audit(store)
        if fix and not result.ok:
            found.fixed.extend(repair(store))
            result = audit(store)
        writing = None if fix else store.writer_holder()  # an ingest that started meanwhile makes the comparison moot
    if (v := store.record_version()) < RECORD_VERSION:
        if fix:
            found.fixed.append(f"migrated {store.migrate()} chunk records from layout v{v} to v{RECORD_VERSION}")
        else:
            found.problems.append(f"chunk records are in layout v{v}, this newsrag reads v{RECORD_VERSION}: `newsrag doctor --fix` migrates them")
    if writing is not None:
        found.ok.append(
            f"store {settings.home}: {store.manifest.count()} articles, {store.chunks.count()} chunks so far; {writing} is writing "
            "to it, so Chroma, manifest and keyword index were not compared: run `newsrag doctor` again once it has finished"
        )
        return
    found.problems.extend(result.problems())
    if result.ok:
        found.ok.append(
            f"store {settings.home}: {result.articles} articles, {result.chunks} chunks; Chroma, manifest and keyword index agree"
        )


def _identity_problem(meta: dict[str, Any], embedder: Any, settings: Settings, client: Any, name: str) -> str:
    from store.chroma import embedder_problem

    if settings.embed != "embedded":  # a hosted embedder's dimension costs a request; trust the record
        return embedder_problem(meta, embedder.identity)
    vectors = client.get_collection(name).get(limit=1, include=["embeddings"]).get("embeddings")
    stored = None if vectors is None or len(vectors) == 0 else len(vectors[0])
    return embedder_problem(meta, embedder.identity, embedder.dimension, stored)


def _drop_collection(client: Any, home: Path, name: str) -> None:
    client.delete_collection(name)
    for suffix in ("", "-wal", "-shm"):
        (home / "manifests" / f"{name}.sqlite{suffix}").unlink(missing_ok=True)
    shutil.rmtree(home / "keyword" / name, ignore_errors=True)


def check_model(settings: Settings, fix: bool, found: Findings) -> None:
    from core.errors import ConfigError
    from core.models import gguf
    from core.models.hashing import sha256_file

    if settings.llm != "embedded":
        found.ok.append(f"LLM backend {settings.llm!r}: no local model file to check")
        return
    if settings.llm_model_path:
        path = settings.llm_model_path
        if not path.is_file():
            found.problems.append(f"NEWSRAG_LLM_MODEL_PATH={path} is not a file: point it at a GGUF file, or unset it for the bundled model")
        elif _head(path) != GGUF_MAGIC:
            found.problems.append(f"NEWSRAG_LLM_MODEL_PATH={path} is not a GGUF file (it does not start with 'GGUF')")
        else:
            found.ok.append(f"LLM {path}: a GGUF file (your own; no published sha256 to check it against)")
        return
    folder = settings.resolved_model_dir()
    target = folder / gguf.NAME
    if not target.exists():
        try:
            gguf.part_files()
            found.ok.append(f"LLM not assembled yet in {folder}: its parts are installed; the first answer assembles it")
        except ConfigError as e:
            found.problems.append(f"LLM: {e}")
        return
    size = target.stat().st_size
    digest = sha256_file(target) if size == gguf.SIZE else ""
    if digest == gguf.SHA256:
        found.ok.append(f"LLM {target}: sha256 verified")
        return
    what = f"sha256 {digest[:12]}…" if digest else f"{size} bytes, not {gguf.SIZE}"
    if not fix:
        found.problems.append(f"LLM {target} is damaged ({what}): `newsrag doctor --fix` assembles it again")
        return
    try:
        target.unlink()
        gguf.ensure_model(folder)
        found.fixed.append(f"LLM {target} was damaged ({what}): assembled again from its parts and verified")
    except NewsragError as e:
        found.problems.append(f"LLM {target} is damaged ({what}) and could not be assembled again: {e}")


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(len(GGUF_MAGIC))
