"""llama.cpp settings for reading the prompt: flash attention and ubatch size.

    .venv/bin/python bench/llm_options.py --rounds 2

Each variant loads the embedded model with one setting changed and reads the same prompts
(distinct ~260-token passages of the sample articles, so llama.cpp's prompt cache cannot
help), generating 8 tokens; variants alternate order each round. Reported: prompt tokens a
second from llama.cpp's own timings (median over prompts and rounds). JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VARIANTS = {
    "default (flash attention auto, ubatch 512)": {},
    "flash attention off": {"flash_attn_type": 0},
    "flash attention on": {"flash_attn_type": 1},
    "ubatch 256": {"n_ubatch": 256},
    "ubatch 128": {"n_ubatch": 128},
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--prompts", type=int, default=3)
    args = p.parse_args()

    import core.models.embedded_llm as emb
    from core.models.base import GenerationRequest
    from core.models.gguf import ensure_model
    from core.settings import Settings

    settings = Settings()
    model = ensure_model(settings.resolved_model_dir())
    words = " ".join(f.read_text(encoding="utf-8") for f in sorted((REPO / "data/articles").glob("*.txt"))).split()
    prompts = [" ".join(words[i * 190 : (i + 1) * 190]) for i in range(args.prompts)]
    base_params = emb.llama_params
    rates: dict[str, list[float]] = {k: [] for k in VARIANTS}
    for r in range(args.rounds):
        for name in list(VARIANTS)[:: 1 if r % 2 == 0 else -1]:
            change = VARIANTS[name]

            def params(*a, change=change, **k):  # type: ignore[no-untyped-def]
                ps = base_params(*a, **k)
                for key, value in change.items():
                    setattr(ps, key, value)
                return ps

            emb.llama_params = params
            llm = emb.EmbeddedLLM(model, settings.threads())
            for i, text in enumerate(prompts):
                req = GenerationRequest(messages=[{"role": "user", "content": f"({r}.{i}) {text}\n\nSummarise in one line."}], max_tokens=8)
                "".join(llm.stream(req))
                rates[name].append(req.stats["prompt_tokens"] / max(req.stats["prompt_read_s"], 1e-9))
            del llm
            print(f"round {r + 1} {name}: {[round(x, 1) for x in rates[name]]}", file=sys.stderr, flush=True)
    emb.llama_params = base_params
    base = statistics.median(rates["default (flash attention auto, ubatch 512)"])
    print(json.dumps({name: {"prompt_tokens_per_s": round(statistics.median(v), 1), "vs_default": round(statistics.median(v) / base, 3)}
                      for name, v in rates.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
