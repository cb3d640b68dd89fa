"""The corpus tab's work: uploads checked and saved, ingested, listed, removed.

Pure functions over the store and the upload folder, so they are tested
without a browser. Uploads are saved under `Settings.home / "uploads"` with a
sanitised name that carries a short content hash: the same file uploaded twice
is the same file (ingest then reports it unchanged), and two different files
with one name never overwrite each other.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ingest import IngestOptions, IngestReport, ingest
from core.settings import Settings
from store import ArticleRow, Store

ALLOWED_SUFFIXES = (".txt", ".md", ".html", ".json", ".jsonl")
MAX_NAME = 80

# Asked about the bundled sample articles (data/articles), answered by them.
SAMPLE_QUESTIONS = {
    "000_e99bd238092f2c2c.txt": [
        "Which shortages are forcing Ukrainian units to give ground?",
        "What did Trump threaten to hit Russia with if it did not make a deal?",
    ],
    "004_a8c840d12111fb8c.txt": [
        "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?",
        "How much territory did open-source think tanks say Russia took in January?",
    ],
}


@dataclass
class Saved:
    files: list[tuple[str, Path]] = field(default_factory=list)  # (name as uploaded, saved path)
    failed: list[dict[str, str]] = field(default_factory=list)  # {"path": name as uploaded, "reason": ...}


def sanitize_name(name: str) -> str:
    """A safe file name: no folders, no leading dots, only ASCII letters, digits, '.', '-' and '_'.

    The extension (lower-cased) is kept as it was, so the checked type is the stored type.
    """
    name = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    stem, suffix = os.path.splitext(name)
    if not re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix):
        stem, suffix = name, ""
    stem = re.sub(r"[^\w.-]+", "_", stem, flags=re.ASCII).strip("._-")
    stem = stem[: MAX_NAME - len(suffix)].strip("._-") or "upload"
    return stem + suffix.lower()


def save_uploads(paths: Iterable[str | Path], folder: Path, max_bytes: int) -> Saved:
    """Check each uploaded file (type, size) and copy the good ones into `folder`."""
    out = Saved()
    for p in paths:
        src = Path(p)
        shown = src.name
        suffix = os.path.splitext(shown)[1].lower()
        if suffix not in ALLOWED_SUFFIXES:
            out.failed.append({"path": shown, "reason": f"not an article file ({suffix or 'no extension'}); the page takes {', '.join(ALLOWED_SUFFIXES)}"})
            continue
        try:
            size = src.stat().st_size
            if size > max_bytes:
                out.failed.append({"path": shown, "reason": f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit (NEWSRAG_MAX_FILE_MB)"})
                continue
            data = src.read_bytes()
        except OSError as e:
            out.failed.append({"path": shown, "reason": f"cannot read: {e.strerror or e}"})
            continue
        out.files.append((shown, _store_bytes(data, sanitize_name(shown), folder)))
    return out


def _store_bytes(data: bytes, name: str, folder: Path) -> Path:
    stem, suffix = os.path.splitext(name)
    digest = hashlib.sha256(data).hexdigest()[:10]
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / f"{stem}-{digest}{suffix}"
    if not dst.exists():
        tmp = dst.with_name(f".{dst.name}.part")
        tmp.write_bytes(data)
        os.replace(tmp, dst)
    return dst


def ingest_options(settings: Settings) -> IngestOptions:
    return IngestOptions(
        settings.chunk_tokens, settings.chunk_overlap, int(settings.max_file_mb * 2**20), settings.max_article_chars,
        settings.ingest_batch, settings.progress_every,
    )


def ingest_uploads(
    saved: Saved, store: Store, embedder: object, settings: Settings, on_file: Callable[[int, int, str], None] | None = None
) -> IngestReport:
    """Ingest the saved files; failures are reported under the names the user uploaded."""
    report = ingest([p for _, p in saved.files], store, embedder, ingest_options(settings), on_file=on_file) if saved.files else IngestReport()
    shown = {str(p.resolve()): name for name, p in saved.files} | {str(p): name for name, p in saved.files}
    report.failed = saved.failed + [{"path": shown.get(f["path"], Path(f["path"]).name), "reason": f["reason"]} for f in report.failed]
    report.warnings = [{"path": shown.get(w["path"], Path(w["path"]).name), "reason": w["reason"]} for w in report.warnings]
    if not saved.files:
        report.articles_total = len(store.manifest.articles())
        report.chunks_total = store.chunks.count()
    return report


def article_rows(articles: list[ArticleRow]) -> list[list[object]]:
    return [[a.title or "(untitled)", a.date, a.source, a.n_chunks, a.id] for a in articles]


def article_choices(articles: list[ArticleRow]) -> list[tuple[str, str]]:
    return [(f"{a.title or '(untitled)'} — {', '.join(x for x in (a.source, a.date) if x) or a.id}", a.id) for a in articles]


def example_questions(articles: list[ArticleRow], k: int = 4) -> list[str]:
    """Questions a first-time user can click: fixed ones for the sample articles, others from titles (newest first)."""
    names = {Path(a.path.split("#")[0]).name for a in articles}
    titled = [a for a in articles if Path(a.path.split("#")[0]).name not in SAMPLE_QUESTIONS and a.title]
    from_titles = [f"What does the article “{_short(a.title)}” report?" for a in titled]
    from_sample = [q for name, qs in SAMPLE_QUESTIONS.items() if name in names for q in qs]
    return (from_titles[:2] + from_sample + from_titles[2:])[:k]


def _short(title: str, n: int = 90) -> str:
    title = " ".join(title.split())
    return title if len(title) <= n else title[: n - 1].rsplit(" ", 1)[0] + "…"
