"""Answering is a list of steps over the same retrieval: another list is another way of answering.

The default list comes from Settings (rag/factory.py); a caller may give the
engine its own list, and the answer still streams, is verified and traced.
"""

from __future__ import annotations

import dataclasses
import logging

from core.settings import Settings, defaults
from core.types import Answer
from ingest.readers import IngestOptions
from rag.context import ContextConfig
from rag.engine import Engine
from rag.factory import answer_steps
from rag.retrieve import RetrievalConfig
from rag.steps import AnswerState, Freshness, Gate, Generate, LoadModel, Prompt, Verify
from rag.verify import CitationVerifier

TROOPS = "Will American troops be sent to enforce a peace deal?"
DRAFT = "Yes, the Russian officials expressed a degree of optimism over the talks [1]."


def test_the_default_steps_follow_the_settings(embedder):
    names = [s.name for s in answer_steps(defaults(), embedder)]
    assert names == ["gate", "model", "context", "prompt", "generate", "verify", "revise", "claims", "freshness"]
    lean = [s.name for s in answer_steps(defaults(context_budget=0, revise=False), embedder)]
    assert lean == ["gate", "model", "prompt", "generate", "verify", "claims", "freshness"]


def test_an_engine_with_its_own_steps_streams_an_answer_without_a_second_try(sample_store, embedder, fake_llm):
    fake_llm.queue(DRAFT)  # a flagged draft: the default steps would ask the model again
    steps = [Gate(0.2, None), LoadModel(), Prompt(200), Generate(), Verify(CitationVerifier(embedder)), Freshness()]
    engine = Engine(sample_store, embedder, fake_llm, steps=steps)
    s = engine.stream(TROOPS)
    assert s.passages  # retrieval ran before the first word
    pieces = list(s)
    a = s.answer
    assert "".join(pieces).strip() == a.text and a.text.startswith("Yes,")
    assert a.unsupported and a.revision is None and len(fake_llm.requests) == 1
    assert a.freshness.startswith("Newest source") and a.trace["gate"]["passed"] and "context" not in a.trace


def test_a_step_of_ones_own_joins_the_list(engine, fake_llm):
    """The seam a new answer mode uses: a step reads the state the others left and changes the answer."""

    class Signed:
        name, closing = "signed", True

        def __call__(self, state: AnswerState) -> None:
            state.answer = dataclasses.replace(state.answer, text=state.answer.text + " (newsrag)")

    signed = engine.with_steps([*engine.steps, Signed()])
    fake_llm.default = lambda req: f"Dmitry Peskov [{next(p.n for p in req.passages if 'Peskov' in p.text)}]."
    a = signed.answer("Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?")
    assert isinstance(a, Answer) and a.text.endswith("(newsrag)") and a.answerable
    declined = signed.answer("Who won the Champions League final last season?")
    assert declined.text.endswith("(newsrag)") and not declined.answerable  # a closing step runs after a decline too
    assert not engine.answer("Who won the Champions League final last season?").text.endswith("(newsrag)")


def test_component_configs_have_no_defaults_of_their_own():
    """Every default lives in Settings; the configs are built from it (rag/factory.py)."""
    for cls in (RetrievalConfig, ContextConfig, IngestOptions):
        with_default = [f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
        assert with_default == [], f"{cls.__name__} defaults {with_default}: put them in core.settings.Settings"


def test_a_retired_setting_says_what_replaces_it(monkeypatch, caplog):
    from core.settings import RETIRED

    assert RETIRED, "core/retired_settings.json lists the removed settings"
    for name, replacement in RETIRED.items():
        monkeypatch.setenv(name, "0")
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="core.settings"):
            Settings(_env_file=None)
        assert f"{name} is no longer read" in caplog.text and replacement in caplog.text
        monkeypatch.delenv(name)
