"""The Gradio chat page."""

from ui.app import create_app, serve

__all__ = ["create_app", "serve"]
