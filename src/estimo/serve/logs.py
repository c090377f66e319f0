"""JSON log lines that carry the request id, and the request id itself.

:data:`request_id` is a context variable set by the request middleware
(:mod:`estimo.serve.middleware`); :class:`JsonFormatter` writes it into every line logged
while a request is handled, from any module.

Examples
--------
>>> import logging
>>> install_request_id()
>>> token = request_id.set("abc")
>>> record = logging.makeLogRecord({"msg": "loaded %s", "args": ("x",), "levelname": "INFO"})
>>> request_id.reset(token)
>>> line = json.loads(JsonFormatter().format(record))
>>> line["message"], line["request_id"], line["level"]
('loaded x', 'abc', 'info')
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

__all__ = ["JsonFormatter", "configure_json_logging", "install_request_id", "request_id"]

request_id: ContextVar[str | None] = ContextVar("estimo_request_id", default=None)
_EXTRA = ("route", "method", "status", "ms", "bundle", "version", "city", "client")


_installed = False


def install_request_id() -> None:
    """Stamp every log record with the current request id when it is created (once)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = request_id.get()
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in _EXTRA:
            if name in record.__dict__:
                line[name] = record.__dict__[name]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_json_logging(level: str = "INFO") -> None:
    """Send the root logger's lines to stderr as JSON (uvicorn's loggers too)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs each request
