"""How close articles are, to set when one joins another's story (store/stories.py).

    .venv/bin/python bench/story_pairs.py --home H    # a store holding e.g. RealTimeQA dev-small

For every pair of articles dated within 10 days of each other: the quantiles of the
cosine between their lead vectors, and a few sample pairs (titles) in each band, so a
reader can see where reports of one event end and articles on one topic begin.
Also the store's stories: how many, and their sizes.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--samples", type=int, default=5)
    args = p.parse_args(argv)

    from core.models import make_embedder
    from core.settings import Settings
    from rag import factory
    from store.stories import DAYS

    settings = Settings(home=args.home)
    store = factory.open_store(settings, make_embedder(settings))
    with store.writer():  # places any article not yet in a story
        pass
    rows = store.stories._db.execute("SELECT article_id, day, vec FROM members").fetchall()
    title = {a.id: a.title for a in store.manifest.articles()}
    vecs = np.stack([np.frombuffer(v, dtype=np.float32) for _, _, v in rows])
    days = np.array([d for _, d, _ in rows])
    sims = vecs @ vecs.T
    near = np.triu(np.abs(days[:, None] - days[None, :]) <= DAYS, k=1)
    pairs = [(float(sims[i, j]), i, j) for i, j in zip(*np.nonzero(near))]
    values = np.array([c for c, _, _ in pairs])
    random.seed(1)
    bands = {}
    for lo, hi in [(0.55, 0.6), (0.6, 0.65), (0.65, 0.72), (0.72, 0.8), (0.8, 1.01)]:
        band = [x for x in pairs if lo <= x[0] < hi]
        bands[f"{lo}-{hi}"] = {"pairs": len(band), "samples": [
            (round(c, 2), title.get(rows[i][0], "")[:70], title.get(rows[j][0], "")[:70])
            for c, i, j in random.sample(band, min(args.samples, len(band)))]}
    stories = store.stories.list(limit=10**6)
    print(json.dumps({
        "articles": len(rows), "pairs_within_days": len(pairs), "days": DAYS,
        "cosine_quantiles": dict(zip(["p50", "p90", "p99", "p99.9"], np.round(np.quantile(values, [0.5, 0.9, 0.99, 0.999]), 3).tolist())),
        "bands": bands, "stories": len(stories), "story_sizes": sorted(Counter(s.articles for s in stories).items()),
    }, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
