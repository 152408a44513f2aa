"""A tiny structured logger: one JSON object per line on stdout, which is
what the cluster's log collector expects. Set LOG_LEVEL to debug, info,
warn, error or silent (default info).
"""

import json
import logging
import math
import os
import sys
from datetime import datetime, timezone

LEVELS = {"debug": 20, "info": 30, "warn": 40, "error": 50, "silent": math.inf}


def _now() -> str:
    """The current UTC time as 2024-01-31T12:00:00.000Z."""
    stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


class Logger:
    """Writes `{"time", "level", ...fields, "msg", ...extra}` lines."""

    def __init__(self, level=None, stream=None, fields=None):
        level = level or os.environ.get("LOG_LEVEL") or "info"
        self.threshold = LEVELS.get(level, LEVELS["info"])
        self.stream = stream
        self.fields = dict(fields or {})

    def log(self, level: str, msg: str, extra=None) -> None:
        if LEVELS[level] < self.threshold:
            return
        entry = {"time": _now(), "level": level, **self.fields, "msg": msg}
        entry.update(extra or {})
        stream = sys.stdout if self.stream is None else self.stream
        stream.write(json.dumps(entry, separators=(",", ":"), default=str) + "\n")
        # Unbuffered, so that no line is lost or late when the process stops.
        if hasattr(stream, "flush"):
            stream.flush()

    def debug(self, msg: str, extra=None) -> None:
        self.log("debug", msg, extra)

    def info(self, msg: str, extra=None) -> None:
        self.log("info", msg, extra)

    def warn(self, msg: str, extra=None) -> None:
        self.log("warn", msg, extra)

    def error(self, msg: str, extra=None) -> None:
        self.log("error", msg, extra)


class JsonLogHandler(logging.Handler):
    """Sends the standard `logging` records of libraries (uvicorn, psycopg)
    through `logger`, so that every line on stdout is JSON."""

    def __init__(self, logger: Logger):
        super().__init__()
        self.logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            level = "error"
        elif record.levelno >= logging.WARNING:
            level = "warn"
        elif record.levelno >= logging.INFO:
            level = "info"
        else:
            level = "debug"
        extra = {"logger": record.name}
        if record.exc_info:
            extra["stack"] = logging.Formatter().formatException(record.exc_info)
        try:
            self.logger.log(level, record.getMessage(), extra)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def route_library_logs(logger: Logger, level: int = logging.WARNING) -> None:
    """Sends warnings and errors of every library through `logger`; their
    informational messages (uvicorn's "Started server process" and so on)
    are dropped, so that the service's own lines are the whole story."""
    handler = JsonLogHandler(logger)
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        library = logging.getLogger(name)
        library.handlers = [handler] if name in ("", "uvicorn") else []
        library.setLevel(level)
        library.propagate = name not in ("", "uvicorn")
