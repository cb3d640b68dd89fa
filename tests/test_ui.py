"""The chat page, launched for real and asked through gradio_client."""

import socket

import pytest

from rag.engine import Engine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def page(sample_store, embedder, fake_llm, settings):
    from ui.app import create_app

    fake_llm.default = lambda req: "Dmitry Peskov " + "".join(f"[{p.n}]" for p in req.passages if "Peskov" in p.text) + "."
    demo = create_app(Engine(sample_store, embedder, fake_llm), settings)
    port = free_port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def message_text(message: dict) -> str:
    """Gradio 6 gives a message's content as typed parts."""
    content = message["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


def test_page_answers_a_question_with_its_sources(page):
    from gradio_client import Client

    client = Client(page, verbose=False)
    history, box, sources = client.predict("Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?", [], api_name="/ask")
    assert box == ""
    reply = message_text(history[-1])
    assert "Dmitry Peskov" in reply and 'href="#nr-src-1"' in reply
    assert "The Washington Post" in sources and "<mark>" in sources and "Peskov said Wednesday" in sources
