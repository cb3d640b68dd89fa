"""RGB index build, ours against llama-index's defaults, alternating in one process.

    .venv/bin/python bench/rgb_build.py --rounds 4

`newsrag eval retrieval` builds each side twice (ours, baseline, baseline, ours). Here each round
builds both, the side that goes first alternating, after the eval's own untimed warm-up
(`warm_up`), with the same `build_store`, `build_baseline` and embedder: more builds per side
for a steadier ratio. JSON on stdout: seconds per build and the ratio of the sums.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RGB = REPO.parent / "shared/bench/rgb/en_fact.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rgb", type=Path, default=RGB)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from core.models import make_embedder
    from core.settings import Settings
    from evaluation.retrieval import warm_up
    from evaluation.rgb import build_baseline, build_store, load_rgb, snippet_articles

    settings = Settings()
    embedder = make_embedder(settings)
    data = load_rgb(args.rgb)

    def ours() -> None:
        with tempfile.TemporaryDirectory(prefix="newsrag-rgb-", ignore_cleanup_errors=True) as tmp:
            build_store(snippet_articles(data), Path(tmp), embedder, settings.chunk_tokens, settings.chunk_overlap)

    warm_up(data, embedder, settings, baseline=True)
    sides = {"ours": ours, "llama-index": lambda: build_baseline(data, embedder)}
    runs: dict[str, list[float]] = {name: [] for name in sides}
    for r in range(args.rounds):
        for name in list(sides)[:: 1 if r % 2 == 0 else -1]:
            t0 = time.perf_counter()
            sides[name]()
            runs[name].append(round(time.perf_counter() - t0, 2))
        print(f"round {r + 1}: {runs}", file=sys.stderr, flush=True)
    total = {name: round(sum(v), 2) for name, v in runs.items()}
    print(json.dumps({"snippets": len(data.snippets), "seconds": runs, "total_s": total,
                      "ratio": round(total["ours"] / total["llama-index"], 3)}, indent=2))


if __name__ == "__main__":
    main()
