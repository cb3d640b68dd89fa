"""How the second try's wording fares with the embedded LLM (the measurement behind `rag.prompt.revision_messages`).

    .venv/bin/python bench/revise_wording.py

1. Seed d06 ("Will American troops be sent…?", first answer "Yes, …", flagged) asked through
   the engine under several llama.cpp cache states: what was asked before changes the model's
   numbers a little, and a wording that works in one state may decline in another. A reply counts when it says "not"
   or "no American/U.S. troops", as the seed file accepts, and the verifier passes it.
2. Planted wrong first answers on other seed questions: is the flag gone after the second try?

Uses the store in NEWSRAG_HOME (run `newsrag ingest data/articles` first). About 10 minutes on 2 cores.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TAIL = "using only what the passages say, with [n] citations."
ALTERNATIVES = {  # templates for rag.prompt.REVISE_WITH, besides the one it holds
    "Answer the question again": "Your answer is wrong: {reasons}. Answer the question again, " + TAIL,
    "Correct it": "Your answer is wrong: {reasons}. Correct it, " + TAIL,
    "Answer again from the passages": "Your answer is wrong: {reasons}. Answer the question again from the passages, with [n] citations.",
}
SAY_OK = "OK"  # a short chat without our system prompt: the next answer reads its whole prompt afresh
STATES = [[], ["d05"], ["d07", "d03"], [SAY_OK, "d05"], [SAY_OK, "d01"], [SAY_OK], ["d05", SAY_OK, "d07"]]
PLANTED = {
    "d09": "The talks were in Geneva and Riyadh [1].",
    "d03": "The Defence Ministry reported it [2].",
    "d01": "Dmitry Medvedev said the talks were useless.",
    "d02": "The talks were held in Geneva [1].",
    "d07": "The Financial Times reported 40,000 troops [1].",
    "d05": "Peskov said the talks were a failure [2].",
}


def main() -> int:
    import rag.prompt
    from rag.engine import Engine
    from rag.steps import build_answer
    from rag.verify import CitationVerifier
    from core.models.base import GenerationRequest
    from rag.prompt import build_messages, revision_messages
    from core.settings import Settings

    wordings = {"ours: Write the correct answer": rag.prompt.REVISE_WITH, **ALTERNATIVES}
    engine = Engine.from_settings(Settings())
    once = engine.with_steps([step for step in engine.steps if step.name != "revise"])  # the draft alone
    verifier = CitationVerifier(engine.embedder)
    seed = {r["id"]: r for r in map(json.loads, (REPO.parent / "shared/eval/seed_qa.jsonl").read_text().splitlines())}

    # Each wording as the engine uses it: right after the draft is generated, cache and all.
    fixed_d06 = {name: 0 for name in wordings}
    row = seed["d06"]
    for name, template in wordings.items():
        rag.prompt.REVISE_WITH = template
        for state in STATES:
            for qid in state:
                if qid == SAY_OK:
                    "".join(engine.llm.stream(GenerationRequest([{"role": "user", "content": "Say OK."}], max_tokens=3)))
                else:
                    once.answer(seed[qid]["question"])
            b = engine.answer(row["question"])
            ok = b.answerable and not b.unsupported and any(x.lower() in b.text.lower() for x in row["answer_any"])
            fixed_d06[name] += ok
            draft = b.revision.draft if b.revision else b.text
            print(f"{name:<32} {str(state or '(fresh)'):<24} {'ok ' if ok else 'BAD'} {draft[:40]!r} -> {b.text[:70]!r}", file=sys.stderr)

    fixed_planted = {name: 0 for name in wordings}
    for qid, draft in PLANTED.items():
        question = seed[qid]["question"]
        passages = list(once.answer(question).passages)
        a = verifier(build_answer(question, draft, passages, {}, "planted"))
        for name, template in wordings.items():
            rag.prompt.REVISE_WITH = template
            messages = revision_messages(build_messages(question, passages), draft, [u.reason for u in a.unsupported])
            text = "".join(engine.llm.stream(GenerationRequest(messages, question, tuple(passages), 200, purpose="revise")))
            b = verifier(build_answer(question, text.strip(), passages, {}, "bench"))
            ok = b.answerable and len(b.unsupported) < len(a.unsupported)
            fixed_planted[name] += ok
            print(f"{qid} {name:<32} {'ok ' if ok else '-  '} {b.text[:90]!r}", file=sys.stderr)

    print(f"| wording | d06 right after the second try (of {len(STATES)} cache states) | planted faults fixed (of {len(PLANTED)}) |")
    print("|---|---|---|")
    for name in wordings:
        print(f"| {name} | {fixed_d06[name]} | {fixed_planted[name]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
