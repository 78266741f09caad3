"""Structured logs that Cloud Logging understands, and a readable terminal form.

Every line a handler writes carries the event's id, type and correlation id as
labels, and a trace id derived from the correlation id, so Cloud Logging groups
all lines of one business flow (e.g. one order) across every subsystem.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import sys
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

ROOT = "fooddelivery"
_SEVERITY = {
    "WARNING": "WARNING",
    "ERROR": "ERROR",
    "CRITICAL": "CRITICAL",
    "INFO": "INFO",
    "DEBUG": "DEBUG",
}


class EventLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger that stamps every record with the labels of the event being handled."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        extra = dict(kwargs.get("extra") or {})
        extra["labels"] = {**(self.extra or {}), **extra.get("labels", {})}
        kwargs["extra"] = extra
        return msg, kwargs


def trace_id(correlation_id: str) -> str:
    """A 32-hex-digit trace id that is the same for every event of one flow."""
    return hashlib.md5(correlation_id.encode(), usedforsecurity=False).hexdigest()


def event_logger(name: str, labels: Mapping[str, str]) -> EventLogger:
    """A logger for one function invocation; ``labels`` go on every line."""
    return EventLogger(_named(name), dict(labels))


@functools.cache
def _named(name: str) -> logging.Logger:
    """The logger of function ``name`` (``getLogger`` takes a lock on every call)."""
    return logging.getLogger(f"{ROOT}.{name}")


class CloudLoggingFormatter(logging.Formatter):
    """One JSON object per line with Cloud Logging's special fields."""

    def __init__(self, project: str = "") -> None:
        super().__init__()
        self._project = project

    def format(self, record: logging.LogRecord) -> str:
        labels: dict[str, str] = dict(getattr(record, "labels", {}))
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelname, "DEFAULT"),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
            "logging.googleapis.com/labels": labels,
        }
        correlation = labels.get("correlationId")
        if correlation:
            entry["logging.googleapis.com/trace"] = (
                f"projects/{self._project}/traces/{trace_id(correlation)}"
            )
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TerminalFormatter(logging.Formatter):
    """``HH:MM:SS level logger  message  key=value ...`` for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        labels: dict[str, str] = dict(getattr(record, "labels", {}))
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        tail = " ".join(f"{k}={v}" for k, v in labels.items())
        name = record.name.removeprefix(ROOT + ".")
        line = f"{when} {record.levelname:<7} {name}  {record.getMessage()}"
        line = f"{line}  {tail}" if tail else line
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(
    fmt: Literal["json", "text"] = "text",
    level: int | str = logging.INFO,
    project: str = "",
    stream: TextIO | None = None,
) -> None:
    """Send the kit's logs to ``stream`` (stdout, where Cloud Run and Cloud Functions
    collect them, by default) in ``fmt``; call once per process. A command whose stdout is
    its report (the demo) passes stderr."""
    handler = logging.StreamHandler(sys.stdout if stream is None else stream)
    handler.setFormatter(CloudLoggingFormatter(project) if fmt == "json" else TerminalFormatter())
    root = logging.getLogger(ROOT)
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
