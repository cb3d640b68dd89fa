"""newsrag's answering layer: `answer(question) -> Answer`, its streaming twin and `Chat`.

Importing it loads no model: engines and models are built on first use.
"""

from core.settings import Settings
from core.types import Answer, Citation, Passage
from rag.api import answer, stream_answer
from rag.chat import Chat
from rag.engine import Engine

__all__ = ["Answer", "Citation", "Chat", "Engine", "Passage", "Settings", "answer", "stream_answer"]
