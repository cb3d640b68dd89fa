"""Settings: one object, documented everywhere a user looks."""

import importlib.util
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings
from tests.conftest import REPO


def _gen():
    spec = importlib.util.spec_from_file_location("gen", REPO / "scripts" / "gen_settings_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_env_example_and_readme_list_every_setting():
    gen = _gen()
    fix = "run .venv/bin/python scripts/gen_settings_docs.py"
    assert (REPO / ".env.example").read_text() == gen.env_example(), fix
    readme = (REPO / "README.md").read_text()
    assert gen.readme(readme) == readme, fix


def test_every_setting_is_described():
    assert all(f.description for f in Settings.model_fields.values())


def test_env_and_dotenv_are_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("NEWSRAG_TOP_K=7\nNEWSRAG_LLM=extractive\n")
    monkeypatch.setenv("NEWSRAG_TOP_K", "3")
    s = Settings()
    assert (s.top_k, s.llm) == (3, "extractive")  # environment wins over .env


def test_key_never_shows_in_repr(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    s = Settings(_env_file=None)
    assert s.llm_api_key.get_secret_value() == "sk-secret-123"
    assert "sk-secret-123" not in repr(s) and "sk-secret-123" not in str(s.model_dump())


def test_unknown_backend_lists_the_valid_ones():
    from core.models import make_llm

    with pytest.raises(ConfigError, match="choose one of: embedded, openai, openai-compatible, extractive, fake"):
        make_llm(Settings(_env_file=None), "gpt-17")


def test_backend_names_have_one_source():
    """Settings' Literals name the backends; each has a factory, and nothing else is registered."""
    from typing import get_args

    from core.models.embedders import EMBEDDERS
    from core.models.llms import LLMS
    from core.settings import EmbedBackend, LLMBackend

    assert list(LLMS) == list(get_args(LLMBackend))
    assert list(EMBEDDERS) == list(get_args(EmbedBackend))
