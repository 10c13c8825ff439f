"""What ``aos serve`` runs in each uvicorn worker: settings, JSON logs, a runtime, the app."""

from __future__ import annotations

from fastapi import FastAPI

from autonomos import logs
from autonomos.api.app import create_app
from autonomos.api.routes import notifications
from autonomos.config import load_settings
from autonomos.runtime import Runtime


def build() -> FastAPI:
    """The uvicorn factory (``autonomos.api.server:build``)."""
    settings = load_settings()
    logs.configure("json")
    app = create_app(Runtime(settings), close_runtime=True)
    notifications.stop_on_signals(app)  # open event streams end at once on SIGTERM/SIGINT
    return app
