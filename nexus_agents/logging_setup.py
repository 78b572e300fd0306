"""Log output of the command line and the worker: standard ``logging``, as text or JSON lines.

The level comes from ``--log-level`` or ``NEXUS_LOG_LEVEL`` (default WARNING; the worker
uses INFO), the format from ``--log-format`` or ``NEXUS_LOG_FORMAT`` (``text`` or
``json``). Values given with ``extra={...}`` become fields of a JSON line and
``key=value`` pairs of a text line.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import IO, Any, Literal

__all__ = ["LOG_FORMATS", "LOG_LEVELS", "JsonFormatter", "TextFormatter", "configure_logging"]

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[str, ...] = ("text", "json")
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
ROOT = "nexus_agents"
_HANDLER_NAME = "nexus-cli"

# attributes every LogRecord has; anything else on a record came from ``extra``
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg`` and the extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(_extras(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message key=value ...``"""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        message = record.getMessage()
        pairs = " ".join(
            f"{k}={v}"
            for k, v in _extras(record).items()
            if v is not None and k != "event" and str(v) not in message
        )
        text = f"{moment} {record.levelname:<7} {record.name}: {message}"
        text += f"  {pairs}" if pairs else ""
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record."""

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def resolve_level(level: str | None, default: str = "WARNING") -> int:
    """``level`` (or ``NEXUS_LOG_LEVEL``, else ``default``) as a logging level number."""
    name = (level or os.environ.get("NEXUS_LOG_LEVEL") or default).strip().upper()
    if name not in LOG_LEVELS:
        raise ValueError(f"unknown log level {name!r}; use one of {', '.join(LOG_LEVELS)}")
    return int(getattr(logging, name))


def resolve_format(fmt: str | None) -> LogFormat:
    name = (fmt or os.environ.get("NEXUS_LOG_FORMAT") or "text").strip().lower()
    if name not in LOG_FORMATS:
        raise ValueError(f"unknown log format {name!r}; use text or json")
    return "json" if name == "json" else "text"


def configure_logging(
    level: str | None = None,
    fmt: str | None = None,
    *,
    default_level: str = "WARNING",
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send the ``nexus_agents`` loggers to ``stream`` (stderr) at ``level`` in ``fmt``.

    Calling it again replaces the handler it installed before (not other handlers);
    returns the handler.
    """
    logger = logging.getLogger(ROOT)
    for old in list(logger.handlers):
        if old.get_name() == _HANDLER_NAME:
            logger.removeHandler(old)
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if resolve_format(fmt) == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(resolve_level(level, default_level))
    return handler
