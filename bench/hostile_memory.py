"""Peak memory of `newsrag ingest` on 50 MB hostile files.

Generates each file in a temporary folder (nothing is committed), ingests it
with the real CLI into a fresh NEWSRAG_HOME in a child process, and reads that
child's peak resident memory from wait4(). A tiny file gives the baseline: the
embedder, Chroma and the libraries loaded, before any big input.

    .venv/bin/python bench/hostile_memory.py            # all cases (a few minutes on 2 cores)
    .venv/bin/python bench/hostile_memory.py --only txt_lines json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
SIZE = 50_000_000  # bytes: "a 50 MB file", just under the default 50 MiB limit (NEWSRAG_MAX_FILE_MB)
WORDS = ("council officials said the bridge would open next spring after long delays while residents asked "
         "for clear timetables and better information about detours traffic and noise").split()


def _sentences(rng: random.Random) -> str:
    return " ".join(" ".join(rng.choices(WORDS, k=14)).capitalize() + "." for _ in range(5))


def _fill(path: Path, first: str, piece: Callable[[int], str], last: str = "") -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(first)
        size, i = len(first), 0
        while size < SIZE - len(last) - 10_000:
            s = piece(i)
            f.write(s)
            size, i = size + len(s.encode()), i + 1
        f.write(last)


def make_cases(folder: Path) -> dict[str, Path]:
    rng = random.Random(1)
    cases: dict[str, Path] = {}
    tiny = folder / "tiny.txt"
    tiny.write_text("Bridge opens in Lyon\n\nMarch 3, 2026\n\n" + _sentences(rng) + "\n")
    cases["baseline (1 KB .txt)"] = tiny
    cases["txt_lines"] = folder / "prose.txt"
    _fill(cases["txt_lines"], "A very long report\n\nMarch 3, 2026\n\n", lambda i: _sentences(rng) + "\n\n")
    cases["txt_one_line"] = folder / "one_line.txt"
    _fill(cases["txt_one_line"], "", lambda i: " ".join(rng.choices(WORDS, k=200)) + " ")  # no newline, no full stop
    cases["jsonl"] = folder / "dump.jsonl"  # 10,000 copies of one record: parsed in full, stored once
    record = json.dumps({"title": "Bridge opens in Lyon", "date": "2026-03-03", "body": _sentences(rng) * 10}) + "\n"
    _fill(cases["jsonl"], "", lambda i: record)
    cases["json"] = folder / "dump.json"  # one article with a 50 MB body
    _fill(cases["json"], '{"title": "Bridge opens in Lyon", "body": "', lambda i: _sentences(rng) + " ", '"}')
    cases["html"] = folder / "page.html"
    _fill(cases["html"], "<html><head><title>Big page</title></head><body><article><h1>Big page</h1>",
          lambda i: f"<p>{_sentences(rng)}</p>", "</article></body></html>")
    cases["over_limit (60 MB)"] = folder / "huge.txt"
    with open(cases["over_limit (60 MB)"], "wb") as f:
        f.truncate(60 * 1024 * 1024)
    return cases


def measure(path: Path, home: Path) -> tuple[float, float, dict]:
    """(peak RSS in MiB, seconds, report) of one `newsrag ingest` child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update(NEWSRAG_HOME=str(home), PYTHONPATH=str(REPO), TOKENIZERS_PARALLELISM="false")
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "ingest", str(path), "--json"], cwd=home.parent,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    try:
        report = json.loads(out)
    except ValueError:
        report = {"error": err.decode(errors="replace").strip().splitlines()[-1:]}
    return usage.ru_maxrss / 1024, seconds, report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help="case names to run (the baseline always runs)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as tmp:
        folder = Path(tmp)
        cases = make_cases(folder)
        print(f"{'case':<22} {'file MB':>8} {'peak RSS MiB':>13} {'seconds':>8}  outcome")
        for i, (name, path) in enumerate(cases.items()):
            if args.only and i and name.split()[0] not in args.only:
                continue
            rss, secs, report = measure(path, folder / f"home{i}")
            outcome = (
                f"added {report.get('added')}, chunks {report.get('chunks_total')}"
                + "".join(f"; FAILED: {f['reason']}" for f in report.get("failed", []))
                + "".join(f"; warning: {w['reason']}" for w in report.get("warnings", []))
            ) if "error" not in report else f"error: {report['error']}"
            print(f"{name:<22} {path.stat().st_size / 1e6:>8.1f} {rss:>13.0f} {secs:>8.1f}  {outcome}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
