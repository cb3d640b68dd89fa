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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from ingest import IngestReport, ingest, is_url, suffixes
from core.settings import Settings
from rag.factory import ingest_options
from store import ArticleQuery, ArticleRow, Store
from store.stories import Story

MAX_NAME = 80
PAGE_SIZE = 50  # rows the Corpus tab shows at once
SORTS = {  # label -> (ArticleQuery.sort, descending)
    "Newest first": ("date", True),
    "Oldest first": ("date", False),
    "Title A–Z": ("title", False),
    "Outlet A–Z": ("outlet", False),
    "Recently added": ("added", True),
}

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


def allowed_suffixes() -> list[str]:
    """The file types the page takes: every one ingest reads (ingest/registry.py), asked each time."""
    return suffixes()


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
        allowed = allowed_suffixes()
        if suffix not in allowed:
            out.failed.append({"path": shown, "reason": f"not an article file ({suffix or 'no extension'}); the page takes {', '.join(allowed)}"})
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


def parse_urls(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """URLs typed into the page, one per line (or separated by spaces); anything else is refused with a reason."""
    urls, failed = [], []
    for item in (text or "").split():
        if is_url(item) and item.lower().startswith(("http://", "https://")):
            urls.append(item)
        else:
            failed.append({"path": item[:200], "reason": "not an http(s) URL: the page fetches only http:// and https:// links"})
    return list(dict.fromkeys(urls)), failed


def ingest_urls(text: str, store: Store, embedder: object, settings: Settings, on_file: Callable[[int, int, str], None] | None = None) -> IngestReport:
    """Fetch pages and feeds by URL and ingest them (each entry of a feed is fetched in turn)."""
    urls, failed = parse_urls(text)
    report = ingest(urls, store, embedder, ingest_options(settings), on_file=on_file) if urls else IngestReport()
    report.failed = failed + report.failed
    if not urls:
        report.articles_total, report.chunks_total = store.manifest.count(), store.chunks.count()
    return report


def day(text: str | None) -> str:
    """A typed date as yyyy-mm-dd; "" when empty; ValueError when it is not a date."""
    from datetime import date

    text = (text or "").strip()
    return date.fromisoformat(text).isoformat() if text else ""


def corpus_query(grep: str | None, outlets: list[str] | None, since: str | None, until: str | None, sort: str | None, page: int) -> ArticleQuery:
    """The Corpus tab's controls as one manifest query (one page of PAGE_SIZE rows)."""
    key, descending = SORTS.get(sort or "", SORTS["Newest first"])
    return ArticleQuery((grep or "").strip(), tuple(outlets or ()), day(since), day(until), key, descending, PAGE_SIZE, (max(1, page) - 1) * PAGE_SIZE)


STORY_CHOICES = 200  # stories the filter offers (newest first); its box searches them as one types
ALL_STORIES = ("All stories", "")


def story_choices(stories: Iterable[Story]) -> list[tuple[str, str]]:
    """The story filter's choices: each story by its label, its days and its size."""
    out = [ALL_STORIES]
    for s in stories:
        span = s.first if s.first == s.last else f"{s.first} – {s.last}"
        out.append((f"{_short(s.label, 70)} · {span or 'undated'} · {s.articles} article{'s' if s.articles != 1 else ''}", s.id))
    return out


def story_page(store: Store, q: ArticleQuery, story_id: str) -> tuple[list[ArticleRow], int]:
    """One page of a story's articles under the tab's other filters, and how many match. The manifest
    is asked only for the story's days (days to weeks), sorted and filtered there; the story's members
    are kept and the page is cut here."""
    found = store.stories.list(ids=[story_id], limit=1)
    if not found:
        return [], 0
    story, members = found[0], set(store.stories.articles_of(story_id))
    since = max(q.since, story.first) if story.first else q.since
    until = min(q.until, story.last) if q.until and story.last else q.until or story.last
    rows, _ = store.manifest.search(replace(q, since=since, until=until, limit=None, offset=0))
    mine = [r for r in rows if r.id in members]
    return mine[q.offset : q.offset + (q.limit or len(mine))], len(mine)


def count_line(total: int, page: int, shown: int, filtered: bool) -> str:
    if total == 0:
        return "**No article matches.**" if filtered else "**The store is empty.**"
    first = (page - 1) * PAGE_SIZE + 1
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    what = "matching articles" if filtered else "articles"
    return f"**{total:,} {what}** · showing {first:,}–{first + shown - 1:,} · page {page} of {pages}"


def article_rows(articles: list[ArticleRow]) -> list[list[object]]:
    return [[a.title or "(untitled)", a.date, a.source, a.n_chunks, a.id, a.url] for a in articles]


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
