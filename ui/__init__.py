"""The Gradio chat page: a thin client of rag.engine.Engine."""

from ui.app import create_app, launch, serve

__all__ = ["create_app", "launch", "serve"]
