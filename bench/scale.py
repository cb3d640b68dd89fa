"""Scale: a store of 100k, 300k, 1M chunks on one machine, and what each size costs.

    .venv/bin/python bench/scale.py --source /tmp/dev-home --sizes 100000,300000,1000000
    .venv/bin/python bench/scale.py --sizes 100000,1000000 --json          # from the configured store; a JSON list, one object per size
    .venv/bin/python bench/scale.py --source H --sizes 100000 --keep       # keep /tmp/scale-100000 for profiling

The stores are built without embedding anything: the chunks (texts, records and vectors)
of an existing store (`--source`, a NEWSRAG_HOME) are copied over and over until the size
is reached, each copy a new article (another URL, so another id) from a synthetic outlet
(a few hundred, Zipf-popular) on a synthetic date (uniform over three years), its vectors
perturbed (Gaussian noise, renormalised: cosine about 0.97 to the original) so they are
not exact duplicates. They are written through the store's own write path
(`Store.write_articles` with `Article`/`Chunk` objects, in batches of `--batch` chunks), so
Chroma, the keyword index, the manifest and the stories are the real ones.

How such a store differs from a real one: every text recurs size/source times (BM25's
document frequencies are multiplied, its ranking barely changes; the copy collapse stage
sees many wire copies); titles recur too (`newsrag list --grep` matches many rows); the
near-duplicate vectors form tight clusters (HNSW's hardest case, and stories of copies
dated within ten days of each other); outlets and dates are independent of the text
(an outlet or week filter keeps a random share, not a topical one); there is no feed,
upload or file behind any article. Retrieval quality is not measured here (RGB and
RealTimeQA do that); cost is.

Measured at each size:
- build: chunks/s through the write path (batches of `--batch` chunks);
- open: a new process, from after its imports to the first question answered (embedder
  load, `rag.factory.open_store`, the first fused retrieval, its query embedding included);
- retrieval: `rag.factory.retriever` with default Settings over `--questions` RealTimeQA
  questions (embedded once, beforehand), p50/p95 in four sets: plain (as of today), "this
  week" (a question's window, as of a date inside the store), one outlet (from the biggest
  to the smallest), a month's date range;
- RSS of that answering process after opening and after the questions (no LLM loaded);
- the corpus tab's first page (counts, the first 50 rows, outlets, story choices);
- adding one article (`ingest()` of one small file, the real embedder warm) and removing
  one (`ingest.remove`), three of each, in that process, and whether the keyword index
  was rebuilt (its segment files before and after);
- `newsrag list --grep WORD` and `newsrag doctor --no-model`, each a new process;
- disk per component (chroma, keyword, manifests, stories).

Out: bench/out/scale.json and bench/out/scale.png (one panel per measure against size,
the targets at 1M drawn as lines); `--json` prints the list on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator, Sequence

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared"
QA = SHARED / "bench/realtimeqa/dev/qa.jsonl"
FIRST_DAY = date(2023, 12, 1)
DAYS = 3 * 365  # synthetic dates: FIRST_DAY .. FIRST_DAY + DAYS - 1
OUTLETS = 300
# Targets at 1M chunks on a 2-core machine (the issue); drawn on the chart.
TARGETS = {"retrieval_p95_ms": 150, "open_s": 10, "rss_mb": 4096, "add_one_s": 1, "remove_one_s": 1,
           "corpus_page_s": 1, "doctor_s": 120}
SMALL = """{title}

By Staff Reporter, The Example Gazette
March {day}, 2026

The harbour council voted on Tuesday to add {n} evening ferry crossings from April, after commuters asked for later boats.

The extra crossings will cost about {n}0,000 euros a year, paid from the port's parking income, the council treasurer said.
"""

PLACES = ("North", "South", "East", "West", "Lake", "River", "Harbor", "Valley", "Hill", "Bay", "Port", "Mount",
          "Pine", "Oak", "Cedar", "Maple", "Stone", "Iron", "Silver", "Golden")
KINDS = ("Herald", "Times", "Post", "Gazette", "Courier", "Tribune", "Ledger", "Observer", "Chronicle", "Journal",
         "Sentinel", "Record", "Monitor", "Dispatch", "Express")


# --- the source: an existing store's chunks, grouped by article ------------------------------------------------

@dataclass
class SourceArticle:
    title: str
    byline: str
    chunks: list[tuple[str, int, int, tuple[tuple[int, int], ...]]]  # (text, start, end, sentences)
    vectors: Any  # float32 (n, dim), unit rows


def read_source(store: Any) -> list[SourceArticle]:
    """Every complete article of a store (chunks in order, with their vectors)."""
    import numpy as np

    from core.articles import ChunkRecord

    ids = [r.id for r in store.manifest.articles() if r.n_chunks]
    out = []
    for i in range(0, len(ids), 500):
        for chunks in store.chunks.article_chunks(ids[i : i + 500]).values():
            recs = [ChunkRecord.from_meta(rec) for _, _, rec, _ in chunks]
            if not recs or len(recs) != recs[0].n_chunks:
                continue
            out.append(SourceArticle(
                recs[0].title, recs[0].byline, [(text, r.start, r.end, r.sentences) for (_, text, _, _), r in zip(chunks, recs)],
                np.asarray([v for *_, v in chunks], dtype=np.float32),
            ))
    return out


def cached_source(home: Path, embedder: Any, cache: Path) -> list[SourceArticle]:
    """`read_source` of the store in `home`, kept in `cache` (a pickle this script wrote) between runs."""
    from store import Store

    if cache.exists() and cache.stat().st_mtime > (home / "chroma" / "chroma.sqlite3").stat().st_mtime:
        with cache.open("rb") as f:
            return pickle.load(f)
    store = Store.open(home, embedder.identity, embedder.dimension)
    src = read_source(store)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("wb") as f:
        pickle.dump(src, f, protocol=pickle.HIGHEST_PROTOCOL)
    return src


# --- the synthetic store ---------------------------------------------------------------------------------------

def outlets(n: int = OUTLETS) -> list[tuple[str, str]]:
    """(name, host) of `n` synthetic outlets, the commonest first."""
    out = []
    for i in range(n):
        name = f"{PLACES[i % len(PLACES)]} {KINDS[(i // len(PLACES)) % len(KINDS)]}" + (f" {i // (len(PLACES) * len(KINDS)) + 1}" if i >= len(PLACES) * len(KINDS) else "")
        out.append((name, name.lower().replace(" ", "") + ".example"))
    return out


def outlet_weights(n: int = OUTLETS) -> Any:
    import numpy as np

    w = 1.0 / np.arange(1, n + 1)
    return w / w.sum()


def synthetic_batches(source: Sequence[SourceArticle], size: int, seed: int = 20, noise: float = 0.0125,
                      batch: int = 5000) -> Iterator[list[tuple[Any, list[Any], Any]]]:
    """Batches of (Article, chunks, vectors) holding `size` chunks in all: copies of the source's
    articles (copy k of article i: its own URL, outlet and date), vectors perturbed and renormalised."""
    import numpy as np

    from core.articles import Article, Chunk

    rng = np.random.default_rng(seed)
    names, weights = outlets(), outlet_weights()
    done, items, in_batch, copy = 0, [], 0, 0
    while done < size:
        for i, a in enumerate(source):
            if done >= size:
                break
            day = FIRST_DAY + timedelta(days=int(rng.integers(DAYS)))
            outlet, host = names[int(rng.choice(len(names), p=weights))]
            texts = [c[0] for c in a.chunks][: size - done]
            text = "\n".join(texts)
            url = f"https://{host}/{day:%Y/%m/%d}/story-{i}-{copy}"
            art = Article(text=text, path=url, body=[(0, len(text))], title=a.title, byline=a.byline, date=day.isoformat(),
                          date_source="json", source=outlet, url=url)
            aid, chunks, at = art.article_id, [], 0
            for n, (t, start, _, sents) in enumerate(a.chunks[: len(texts)]):
                shift = at - start
                chunks.append(Chunk(aid, n, t, at, at + len(t), tuple((s + shift, e + shift) for s, e in sents)))
                at += len(t) + 1
            v = a.vectors[: len(texts)] + rng.standard_normal((len(texts), a.vectors.shape[1])).astype(np.float32) * noise
            items.append((art, chunks, v / np.linalg.norm(v, axis=1, keepdims=True)))
            done += len(texts)
            in_batch += len(texts)
            if in_batch >= batch:
                yield items
                items, in_batch = [], 0
        copy += 1
    if items:
        yield items


def build(home: Path, source: Sequence[SourceArticle], size: int, embedder: Any, batch: int = 5000, seed: int = 20,
          chroma_url: str | None = None, on_batch: Any = None, base: str = "articles") -> dict[str, Any]:
    """A synthetic store of `size` chunks in `home` (its vectors on `chroma_url`, in collection
    `base`-..., when given); returns its build figures."""
    from store import Store

    store = Store.open(home, embedder.identity, embedder.dimension, base=base, chroma_url=chroma_url)
    if not store.is_empty():
        raise SystemExit(f"collection {store.chunks.name} already holds chunks: measure it with --reuse, or start an empty server")
    t0 = time.perf_counter()
    written = 0
    with store.writer():
        for items in synthetic_batches(source, size, seed=seed, batch=batch):
            store.write_articles(items)
            written += sum(len(c) for _, c, _ in items)
            if on_batch:
                on_batch(written, time.perf_counter() - t0)
    wall = time.perf_counter() - t0
    return {"chunks": store.chunks.count(), "articles": store.manifest.count(), "build_s": round(wall, 1),
            "build_chunks_per_s": round(written / wall, 1)}


# --- measuring, in a new process (the answering process) -------------------------------------------------------

def rss_mb() -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return {"rss_mb": out.get("VmRSS", 0.0), "peak_mb": out.get("VmHWM", 0.0)}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else 0.0


def question_sets(questions: list[dict[str, Any]], vectors: Any, seed: int = 7) -> dict[str, list[Any]]:
    """The four sets of queries, as `rag.engine.Engine.plan` would build them (hard filter up to
    the as-of date, the window a question's time words name)."""
    import numpy as np

    from core.filters import Filter
    from rag.retrieve import Query
    from rag.when import resolve

    rng = np.random.default_rng(seed)
    today = date.today()
    names = outlets()
    ranks = [0, 2, 9, 29, 99, 299]  # outlet filters from the biggest to the smallest
    sets: dict[str, list[Any]] = {"plain": [], "week": [], "outlet": [], "range": []}
    for i, (q, v) in enumerate(zip(questions, vectors)):
        text, vec = q["question"], [float(x) for x in v]
        as_of = FIRST_DAY + timedelta(days=int(rng.integers(30, DAYS)))
        sets["plain"].append(Query(text, 4, Filter(until=today), resolve(text, today), today, list(vec)))
        sets["week"].append(Query(text, 4, Filter(until=as_of), resolve(text + " this week", as_of), as_of, list(vec)))
        outlet = names[ranks[i % len(ranks)]][0]
        sets["outlet"].append(Query(text, 4, Filter(until=today, sources=(outlet,)), resolve(text, today), today, list(vec)))
        sets["range"].append(Query(text, 4, Filter(since=as_of - timedelta(days=30), until=as_of), None, as_of, list(vec)))
    return sets


def corpus_page(store: Any) -> int:
    """What the corpus tab does to show its first page (ui/handlers.py: corpus_view, outlet_choices, story_choices)."""
    from ui import corpus

    n, _ = store.manifest.count(), store.chunks.count()
    rows, _ = store.manifest.search(corpus.corpus_query("", [], "", "", "", 1))
    corpus.article_rows(rows), corpus.article_choices(rows), corpus.example_questions(rows)
    store.manifest.outlets()
    corpus.story_choices(store.stories.list(limit=corpus.STORY_CHOICES))
    return n


def segments(home: Path) -> set[str]:
    return {p.name for p in (home / "keyword").glob("*/seg-*.npz")}


def child(args: argparse.Namespace) -> int:
    """The answering process: open, answer the question sets, then the corpus page, adds and removes."""
    t_start = time.perf_counter()
    import numpy as np

    from core.settings import Settings
    from core.models import make_embedder
    from rag.factory import ingest_options, open_store, retriever
    from rag.retrieve import Query

    imports_s = time.perf_counter() - t_start
    out: dict[str, Any] = {"imports_s": round(imports_s, 2)}
    questions = json.loads(Path(args.child_questions).read_text())
    vectors = np.load(args.child_vectors)
    t0 = time.perf_counter()
    settings = Settings()
    embedder = make_embedder(settings)
    out["embedder_s"] = round(time.perf_counter() - t0, 2)
    t1 = time.perf_counter()
    store = open_store(settings, embedder)
    out["open_store_s"] = round(time.perf_counter() - t1, 2)
    t1 = time.perf_counter()
    first = retriever(settings, store, embedder).run(Query(questions[0]["question"], 4, as_of=date.today()))
    out["first_question_s"] = round(time.perf_counter() - t1, 2)
    out["open_s"] = round(time.perf_counter() - t0, 2)
    assert first.passages, "the first question found nothing"
    out["after_open"] = rss_mb()
    t1 = time.perf_counter()
    corpus_page(store)
    out["corpus_page_s"] = round(time.perf_counter() - t1, 3)
    retr = retriever(settings, store, embedder)
    out["retrieval"] = {}
    for name, queries in question_sets(questions, vectors).items():
        times, empty = [], 0
        for q in queries:
            t1 = time.perf_counter()
            got = retr.run(q)
            times.append(1000 * (time.perf_counter() - t1))
            empty += not got.passages
        out["retrieval"][name] = {"p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95), "max_ms": round(max(times), 1), "empty": empty}
    out["after_questions"] = rss_mb()
    out.update(add_remove(store, embedder, ingest_options(settings), Path(args.home)))
    t1 = time.perf_counter()
    corpus_page(store)
    out["corpus_page_again_s"] = round(time.perf_counter() - t1, 3)
    print(json.dumps(out))
    return 0


def join(args: argparse.Namespace) -> int:
    """A second NEWSRAG_HOME joining the shared server: open it twice (the first open catches up)."""
    from core.models import make_embedder
    from core.settings import Settings
    from rag.factory import open_store

    settings = Settings()
    embedder = make_embedder(settings)
    out: dict[str, Any] = {}
    for name in ("join_s", "rejoin_s"):
        lines: list[str] = []
        log = type("Log", (), {"warning": lambda self, fmt, *a: lines.append(fmt % a)})()
        t0 = time.perf_counter()
        store = open_store(settings, embedder, log=log)
        out[name] = round(time.perf_counter() - t0, 1)
        out[name.replace("_s", "_did")] = lines
    out["joined_articles"], out["joined_keyword"] = store.manifest.count(), store.keyword.count()
    out["joined_rss_mb"] = rss_mb()["rss_mb"]
    print(json.dumps(out))
    return 0


def add_remove(store: Any, embedder: Any, opts: Any, home: Path, times: int = 3) -> dict[str, Any]:
    """Three small articles added one by one (`ingest()`, embedding included), then removed."""
    from ingest import ingest, remove
    from store import ArticleQuery

    adds, removes, rebuilt, ids = [], [], 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(times):
            folder = Path(tmp) / f"new{i}"
            folder.mkdir()
            title = f"Harbour council approves ferry timetable {i} {time.time_ns()}"
            (folder / "ferry.txt").write_text(SMALL.format(title=title, day=i + 2, n=i + 2))
            before = segments(home)
            t0 = time.perf_counter()
            report = ingest([folder], store, embedder, opts)
            adds.append(time.perf_counter() - t0)
            assert report.ok and report.added == 1, report.summary()
            rebuilt += not (before & segments(home)) and bool(before)  # every old segment gone: rewritten whole
            ids += [r.id for r in store.manifest.search(ArticleQuery(grep=title))[0]]
        for aid in ids:
            before = segments(home)
            t0 = time.perf_counter()
            assert remove([aid], store) == [aid]
            removes.append(time.perf_counter() - t0)
            rebuilt += not (before & segments(home)) and bool(before)
    return {"add_one_s": round(max(adds), 3), "add_one_all_s": [round(x, 3) for x in adds],
            "remove_one_s": round(max(removes), 3), "remove_one_all_s": [round(x, 3) for x in removes],
            "keyword_rewritten_whole": rebuilt}


# --- the parent: build, measure in new processes, report -------------------------------------------------------

def du_mb(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return round(total / 2**20, 1)


def disk(home: Path) -> dict[str, float]:
    return {part: du_mb(home / part) for part in ("chroma", "keyword", "manifests", "stories")}


def timed_cli(argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """`newsrag ARGV` in a new process (this checkout's code), timed whole."""
    env = dict(env, PYTHONPATH=str(REPO))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "ui.cli", *argv], env=env, capture_output=True, text=True, cwd=REPO)
    return round(time.perf_counter() - t0, 2), p.returncode, (p.stdout + p.stderr)[-400:]


def measure_join(root: Path, env: dict[str, str]) -> dict[str, Any]:
    """A fresh NEWSRAG_HOME on the same server and collection: its first open catches up (store.catch_up)."""
    home = root / "join-home"
    shutil.rmtree(home, ignore_errors=True)
    p = subprocess.run([sys.executable, __file__, "--child-join"], env=dict(env, NEWSRAG_HOME=str(home)),
                       capture_output=True, text=True, cwd=REPO)
    if p.returncode:
        raise RuntimeError(f"the joining process failed:\n{p.stderr[-3000:]}")
    shutil.rmtree(home, ignore_errors=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def measure(home: Path, env: dict[str, str], work: Path, grep: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", "--home", str(home),
           "--child-questions", str(work / "questions.json"), "--child-vectors", str(work / "questions.npy")]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    if p.returncode:
        raise RuntimeError(f"the answering process failed:\n{p.stderr[-3000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["child_wall_s"] = round(time.perf_counter() - t0, 1)
    out["list_s"], rc, _ = timed_cli(["list", "--grep", grep, "--limit", "50"], env)
    out["doctor_s"], out["doctor_rc"], out["doctor_tail"] = timed_cli(["doctor", "--no-model"], env)
    return out


def summary(size: int, built: dict[str, Any], m: dict[str, Any], parts: dict[str, float]) -> dict[str, Any]:
    r = m["retrieval"]
    return {
        "size": size, "chunks": built["chunks"], "articles": built["articles"],
        "retrieval_p95_ms": max(x["p95_ms"] for x in r.values()), "retrieval_p50_ms": max(x["p50_ms"] for x in r.values()),
        "retrieval": r, "open_s": m["open_s"], "open_parts": {k: m[k] for k in ("imports_s", "embedder_s", "open_store_s", "first_question_s")},
        "rss_mb": max(m["after_open"]["rss_mb"], m["after_questions"]["rss_mb"]), "rss_open_mb": m["after_open"]["rss_mb"],
        "rss_questions_mb": m["after_questions"]["rss_mb"], "peak_rss_mb": m["after_questions"]["peak_mb"],
        "add_one_s": m["add_one_s"], "add_one_all_s": m["add_one_all_s"], "remove_one_s": m["remove_one_s"],
        "remove_one_all_s": m["remove_one_all_s"], "keyword_rewritten_whole": m["keyword_rewritten_whole"],
        "corpus_page_s": m["corpus_page_s"], "corpus_page_again_s": m["corpus_page_again_s"], "list_s": m["list_s"],
        "doctor_s": m["doctor_s"], "doctor_healthy": m["doctor_rc"] == 0, "disk_mb": round(sum(parts.values()), 1),
        "disk_parts_mb": parts, "build_s": built["build_s"], "build_chunks_per_s": built["build_chunks_per_s"],
        "load_average": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("retrieval_p95_ms", "retrieval p95 (ms), worst set"), ("retrieval_p50_ms", "retrieval p50 (ms), worst set"),
              ("open_s", "open, to first answer (s)"), ("rss_mb", "RSS of the answering process (MB)"),
              ("add_one_s", "add one article (s)"), ("remove_one_s", "remove one article (s)"),
              ("corpus_page_s", "corpus tab, first page (s)"), ("doctor_s", "newsrag doctor (s)"), ("disk_mb", "disk (MB)")]
    sizes = [r["size"] for r in rows]
    fig, axes = plt.subplots(3, 3, figsize=(13, 10))
    for ax, (key, title) in zip(axes.flat, panels):
        ax.plot(sizes, [r[key] for r in rows], "o-")
        if key == "retrieval_p95_ms":
            for name in rows[0]["retrieval"]:
                ax.plot(sizes, [r["retrieval"][name]["p95_ms"] for r in rows], ".--", alpha=0.6, label=name)
            ax.legend(fontsize=7)
        if key in TARGETS:
            ax.axhline(TARGETS[key], color="red", lw=0.8, ls=":", label="target at 1M")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("chunks", fontsize=8)
        ax.set_ylim(bottom=0)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(3, 3))
    fig.suptitle("newsrag at scale (synthetic stores, bench/scale.py)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The per-size table (bench/README.md's layout), the targets at 1M in the last column."""
    keys = [("chunks", "chunks", "{:,}"), ("retrieval_p50_ms", "retrieval p50 ms (worst set)", "{:.0f}"),
            ("retrieval_p95_ms", "retrieval p95 ms (worst set)", "{:.0f}"), ("open_s", "open to first answer s", "{:.1f}"),
            ("rss_mb", "RSS MB", "{:,.0f}"), ("add_one_s", "add one s", "{:.2f}"), ("remove_one_s", "remove one s", "{:.2f}"),
            ("corpus_page_s", "corpus tab first page s", "{:.2f}"), ("list_s", "`newsrag list --grep` s", "{:.1f}"),
            ("doctor_s", "`newsrag doctor` s", "{:.1f}"), ("disk_mb", "disk MB", "{:,.0f}"),
            ("build_chunks_per_s", "build chunks/s", "{:,.0f}")]
    target = {"retrieval_p95_ms": "≤ 150", "open_s": "≤ 10", "rss_mb": "≤ 4,096", "add_one_s": "≤ 1", "remove_one_s": "≤ 1",
              "corpus_page_s": "≤ 1", "doctor_s": "≤ 120"}
    head = "| measure | " + " | ".join(f"{r['size']:,}" for r in rows) + " | target at 1M |"
    out = [head, "|" + "---|" * (len(rows) + 2)]
    for key, label, fmt in keys:
        out.append(f"| {label} | " + " | ".join(fmt.format(r[key]) for r in rows) + f" | {target.get(key, '')} |")
    return "\n".join(out)


def prepare_questions(work: Path, embedder: Any, n: int, qa: Path) -> None:
    import numpy as np

    rows = [json.loads(line) for line in qa.read_text().splitlines() if line.strip()]
    step = max(1, len(rows) // n)
    chosen = rows[::step][:n]
    (work / "questions.json").write_text(json.dumps([{"question": r["question"]} for r in chosen]))
    np.save(work / "questions.npy", np.asarray([embedder.get_query_embedding(r["question"]) for r in chosen], dtype=np.float32))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", type=Path, help="a NEWSRAG_HOME whose chunks and vectors are copied (default: the configured one; "
                   "a RealTimeQA dev-small store is closer to real news than the two sample articles)")
    p.add_argument("--sizes", default="100000,300000,1000000", help="chunks per store, comma-separated")
    p.add_argument("--root", type=Path, default=Path("/tmp"), help="where the stores go (ROOT/scale-SIZE)")
    p.add_argument("--batch", type=int, default=5000, help="chunks per write_articles call while building")
    p.add_argument("--questions", type=int, default=100)
    p.add_argument("--qa", type=Path, default=QA, help="RealTimeQA questions (JSON lines with `question`)")
    p.add_argument("--grep", default="trump", help="the word `newsrag list --grep` looks for")
    p.add_argument("--chroma-url", default=None, help="write and read the vectors on this Chroma server (`chroma run`)")
    p.add_argument("--keep", action="store_true", help="keep each store (default: deleted once measured)")
    p.add_argument("--reuse", action="store_true", help="measure a store already built at ROOT/scale-SIZE")
    p.add_argument("--out", type=Path, default=REPO / "bench/out")
    p.add_argument("--json", action="store_true", help="print the list of per-size results as JSON")
    p.add_argument("--collection", default=None, help="the collections' base name (default: articles; scaleSIZE when building on a server)")
    p.add_argument("--join", action="store_true", help="with --chroma-url: also time a second NEWSRAG_HOME joining the server (catch_up)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--child-join", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--home", help=argparse.SUPPRESS)
    p.add_argument("--child-questions", help=argparse.SUPPRESS)
    p.add_argument("--child-vectors", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.child:
        return child(args)
    if args.child_join:
        return join(args)
    import logging

    logging.basicConfig(level=logging.WARNING)
    from core.models import make_embedder
    from core.settings import Settings

    settings = Settings()
    args.source = args.source or settings.home
    if not (args.source / "chroma" / "chroma.sqlite3").exists():
        p.error(f"{args.source} holds no store to copy chunks from: ingest news there, or name one with --source HOME")
    embedder = make_embedder(settings)
    say = lambda msg: print(f"[scale] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    source = cached_source(args.source, embedder, args.root / "scale-cache" / f"{args.source.name}.pkl")
    if not source:
        p.error(f"the store in {args.source} holds no complete article: ingest news there, or name another with --source HOME")
    say(f"source {args.source}: {len(source)} articles, {sum(len(a.chunks) for a in source)} chunks")
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare_questions(work, embedder, args.questions, args.qa)
        for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
            home = args.root / f"scale-{size}"
            # On a server each size gets a collection of its own, unless measuring one served as built
            # (`chroma run --path HOME/chroma` over a store built here, with --reuse).
            base = args.collection or (f"scale{size}" if args.chroma_url and not args.reuse else "articles")
            if args.reuse and (home / "manifests").exists():
                from store import Store

                st = Store.open(home, embedder.identity, embedder.dimension, base=base, chroma_url=args.chroma_url)
                st.ensure_keyword()  # an index in another format is rebuilt now, not in the timed open
                built = {"chunks": st.chunks.count(), "articles": st.manifest.count(), "build_s": 0, "build_chunks_per_s": 0}
                del st
            else:
                shutil.rmtree(home, ignore_errors=True)
                say(f"building {size:,} chunks in {home}")
                built = build(home, source, size, embedder, args.batch, chroma_url=args.chroma_url, base=base,
                              on_batch=lambda n, s: say(f"  {n:,} chunks, {n / s:,.0f}/s") if n % 50000 < args.batch else None)
            say(f"built: {built}")
            env = dict(os.environ, NEWSRAG_HOME=str(home))
            if args.chroma_url:
                env.update(NEWSRAG_CHROMA_URL=args.chroma_url, NEWSRAG_COLLECTION=base)
            m = measure(home, env, work, args.grep)
            rows.append(summary(size, built, m, disk(home)))
            if args.chroma_url:
                rows[-1]["chroma_url"] = args.chroma_url
                if args.join:
                    rows[-1].update(measure_join(args.root, env))
            say(json.dumps({k: v for k, v in rows[-1].items() if not isinstance(v, (dict, list))}))
            if not args.keep:
                shutil.rmtree(home, ignore_errors=True)
    (args.out / "scale.json").write_text(json.dumps(rows, indent=2) + "\n")
    chart(rows, args.out / "scale.png")
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
