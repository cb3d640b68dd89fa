"""Which sentence splitter: accuracy on tricky news sentences, speed on ~1 MB of news text.

    python bench/sentence_splitters.py [--pysbd-path DIR] [--rgb PATH]

Candidates: the regex splitter newsrag had (ingest/chunking.py before the text toolkit),
NLTK's Punkt with the English parameters llama-index ships (plus our abbreviations),
and pysbd (pass --pysbd-path to a `pip install --target` folder when it is not installed).
Speed is measured on RGB snippets and the sample articles, repeated to about 1 MB.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (text, expected sentences)
CASES: list[tuple[str, list[str]]] = [
    ("Mr. Peskov said the talks were progress [1].", ["Mr. Peskov said the talks were progress [1]."]),
    ("Dr. Smith arrived. He spoke briefly.", ["Dr. Smith arrived.", "He spoke briefly."]),
    ("U.S. officials met on Monday. They agreed.", ["U.S. officials met on Monday.", "They agreed."]),
    ("The deal was signed on Jan. 24 in Abu Dhabi.", ["The deal was signed on Jan. 24 in Abu Dhabi."]),
    ("He was ranked No. 1 in the world. Then he retired.", ["He was ranked No. 1 in the world.", "Then he retired."]),
    ("Mrs. May and Ms. Truss spoke. Both left.", ["Mrs. May and Ms. Truss spoke.", "Both left."]),
    ("Gen. Valery Gerasimov was there. So was Lt. Col. Ivanov.", ["Gen. Valery Gerasimov was there.", "So was Lt. Col. Ivanov."]),
    ("Sen. Graham and Rep. Pelosi disagreed.", ["Sen. Graham and Rep. Pelosi disagreed."]),
    ("Prof. Jones of St. Andrews wrote it.", ["Prof. Jones of St. Andrews wrote it."]),
    ("Acme Inc. reported profits. Shares rose.", ["Acme Inc. reported profits.", "Shares rose."]),
    ("The U.N. Security Council met. Russia vetoed.", ["The U.N. Security Council met.", "Russia vetoed."]),
    ("He moved to Washington, D.C. in 2019.", ["He moved to Washington, D.C. in 2019."]),
    ("The meeting starts at 9 a.m. on Friday.", ["The meeting starts at 9 a.m. on Friday."]),
    ("David L. Stern led the league for 30 years.", ["David L. Stern led the league for 30 years."]),
    ("George W. Bush spoke. Laura Bush listened.", ["George W. Bush spoke.", "Laura Bush listened."]),
    ("Prices rose 2.5 percent. Wages rose 1.2 percent.", ["Prices rose 2.5 percent.", "Wages rose 1.2 percent."]),
    ("It cost $1.2 million. That was a record.", ["It cost $1.2 million.", "That was a record."]),
    ("\"We will not retreat,\" he said. \"Never.\"", ["\"We will not retreat,\" he said.", "\"Never.\""]),
    ("“We are ready.” The minister left.", ["“We are ready.”", "The minister left."]),
    ("Is this the end? Nobody knows.", ["Is this the end?", "Nobody knows."]),
    ("Stop! The police shouted.", ["Stop!", "The police shouted."]),
    ("The talks (held in Geneva.) ended. Nothing changed.", ["The talks (held in Geneva.) ended.", "Nothing changed."]),
    ("Talks continue... Officials hope for a deal.", ["Talks continue...", "Officials hope for a deal."]),
    ("Visit example.com for details. It is free.", ["Visit example.com for details.", "It is free."]),
    ("The vote was 5-4. Justice Roberts wrote the opinion.", ["The vote was 5-4.", "Justice Roberts wrote the opinion."]),
    ("Zelenskyy met Trump on Sept. 12. They spoke for an hour.", ["Zelenskyy met Trump on Sept. 12.", "They spoke for an hour."]),
    ("The E.U. imposed sanctions. Moscow responded.", ["The E.U. imposed sanctions.", "Moscow responded."]),
    ("He served in the U.K. Parliament until 2010.", ["He served in the U.K. Parliament until 2010."]),
    ("Super Bowl LV was played Feb. 7, 2021. Tampa won.", ["Super Bowl LV was played Feb. 7, 2021.", "Tampa won."]),
    ("Ukraine's army lost ground. Russia gained 1,200 sq. km in a month.", ["Ukraine's army lost ground.", "Russia gained 1,200 sq. km in a month."]),
    ("It was the 3rd time. The 4th followed.", ["It was the 3rd time.", "The 4th followed."]),
    ("The report, by Reuters, was published Tuesday. It said troops moved.", ["The report, by Reuters, was published Tuesday.", "It said troops moved."]),
    ("Kyiv (AP) — Ukraine said Sunday. Russia denied it.", ["Kyiv (AP) — Ukraine said Sunday.", "Russia denied it."]),
    ("Yes. Dmitry Peskov [1].", ["Yes.", "Dmitry Peskov [1]."]),
    ("The talks made progress [1]. Troops will not be sent [2].", ["The talks made progress [1].", "Troops will not be sent [2]."]),
    ("Apple Inc. and Microsoft Corp. gained.", ["Apple Inc. and Microsoft Corp. gained."]),
    ("He lives at No. 10 Downing St. with his family.", ["He lives at No. 10 Downing St. with his family."]),
    ("The film grossed $2.8 bn. Critics liked it.", ["The film grossed $2.8 bn.", "Critics liked it."]),
    ("Witkoff, a U.S. envoy, flew in. He met Putin.", ["Witkoff, a U.S. envoy, flew in.", "He met Putin."]),
    ("Rev. Martin Luther King Jr. spoke in 1963. Crowds gathered.", ["Rev. Martin Luther King Jr. spoke in 1963.", "Crowds gathered."]),
    ("She earned a Ph.D. in physics. She taught.", ["She earned a Ph.D. in physics.", "She taught."]),
    ("Arms, e.g. tanks and shells, were sent.", ["Arms, e.g. tanks and shells, were sent."]),
    ("He said no. Then he left.", ["He said no.", "Then he left."]),
    ("It happened at 5 p.m. The police arrived later.", ["It happened at 5 p.m.", "The police arrived later."]),
    ("Ukraine (pop. 38 million) is large.", ["Ukraine (pop. 38 million) is large."]),
    ('A topic titled "Should I Release Blades?". Then more.', ['A topic titled "Should I Release Blades?".', "Then more."]),
]


def regex_splitter() -> Callable[[str], list[str]]:
    """ingest/chunking.py's splitter before the toolkit (kept here only to measure against)."""
    abbrev = {
        "mr", "mrs", "ms", "dr", "prof", "gen", "lt", "col", "maj", "capt", "sgt", "adm", "sen", "rep", "gov",
        "pres", "sec", "st", "jr", "sr", "inc", "ltd", "co", "corp", "no", "vs", "etc", "approx", "dept", "est",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n",
        "e.u", "d.c", "a.m", "p.m", "fig", "vol", "mt", "ft",
    }
    end_re = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+|$)")

    def split(text: str) -> list[str]:
        out, s = [], 0
        for m in end_re.finditer(text):
            stop = m.end()
            word = re.search(r"(\S+)$", text[s : m.start() + 1])
            token = (word.group(1).lower().rstrip(".") if word else "").lstrip("\"'“‘(")
            nxt = text[stop:].lstrip()[:1]
            if text[m.start()] == "." and (token in abbrev or re.fullmatch(r"[a-z]", token)):
                continue
            if nxt and nxt.islower():
                continue
            if text[s:stop].strip():
                out.append(text[s:stop].strip())
            s = stop
        if text[s:].strip():
            out.append(text[s:].strip())
        return out

    return split


def toolkit_splitter() -> Callable[[str], list[str]]:
    from core.text import sentences

    return sentences


def pysbd_splitter() -> Callable[[str], list[str]]:
    import pysbd

    seg = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return lambda text: [s.sent.strip() for s in seg.segment(text) if s.sent.strip()]


def corpus(rgb: Path, size: int = 1_000_000) -> str:
    texts: list[str] = []
    for line in rgb.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        for key in ("positive", "negative"):
            texts += [s for s in row.get(key) or [] if isinstance(s, str)]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "data/articles").glob("*.txt"))]
    one = "\n\n".join(dict.fromkeys(texts))
    return (one * (size // len(one) + 1))[:size]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pysbd-path", default=None)
    ap.add_argument("--rgb", type=Path, default=ROOT.parent / "shared/bench/rgb/en_fact.json")
    args = ap.parse_args()
    if args.pysbd_path:
        sys.path.insert(0, args.pysbd_path)
    text = corpus(args.rgb)
    candidates = {"regex (old)": regex_splitter, "punkt (core.text)": toolkit_splitter, "pysbd 0.3.4": pysbd_splitter}
    for name, make in candidates.items():
        try:
            split = make()
        except ImportError as e:
            print(f"{name}: not installed ({e})")
            continue
        wrong = [(t, split(t)) for t, want in CASES if split(t) != want]
        split("warm up.")
        t0 = time.perf_counter()
        n = len(split(text))
        dt = time.perf_counter() - t0
        print(f"{name}: {len(CASES) - len(wrong)}/{len(CASES)} right; {len(text) / dt / 1e6:.2f} MB/s ({len(text)} chars, {n} sentences, {dt:.2f} s)")
        for t, got in wrong:
            print(f"    {t!r} -> {got}")


if __name__ == "__main__":
    main()
