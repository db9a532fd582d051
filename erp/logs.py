"""Structured logs: every line is one JSON object (python-json-logger) carrying the seller (the
schema the connection is on), the web request's id or the Celery task's id and name.

- `RequestIdMiddleware` gives each request an id: the proxy's `X-Request-ID` when it sent a sane
  one, a new one otherwise. It is echoed in the response header and written on every log line of
  that request, then one access line per request (method, path, status, milliseconds, user).
- Celery's task signals set the task's id and name for the lines it writes.
- `FANOUT_LOG_FORMAT=text` gives the same fields as one readable line (a developer's terminal).
"""
from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("fanout_request_id", default=None)
task_var: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("fanout_task", default=None)

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
access_log = logging.getLogger("fanout.access")


def _schema() -> str | None:
    try:
        from django.db import connection

        return getattr(connection, "schema_name", None)
    except Exception:  # noqa: BLE001 — logging must never raise (settings not ready, no connection)
        return None


class ContextFilter(logging.Filter):
    """Adds seller, request_id, task_id and task to every record (None where there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.seller = _schema()
        # Django's own request log lines are written after the middleware chain returned: their
        # record carries the request.
        record.request_id = request_id_var.get() or getattr(getattr(record, "request", None), "request_id", None)
        task = task_var.get()
        record.task_id, record.task = task if task else (None, None)
        return True


class JsonLogFormatter(JsonFormatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger", "asctime": "time"})
        kwargs.setdefault("timestamp", False)
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s %(seller)s %(request_id)s %(task_id)s %(task)s",
                         *args, **kwargs)

    def formatTime(self, record, datefmt=None):  # noqa: N802 — logging's name
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class TextLogFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [seller=%(seller)s request=%(request_id)s task=%(task_id)s] %(message)s")


def logging_config(*, level: str, fmt: str) -> dict:
    """The LOGGING dict for settings: one console handler, structured, context on every line."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {
            "json": {"()": JsonLogFormatter},
            "text": {"()": TextLogFormatter},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["context"], "formatter": fmt}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "axes": {"level": "WARNING"},
            # Django's own per-request warnings (404s, 403s) repeat the access line.
            "django.request": {"level": "ERROR"},
        },
    }


class RequestIdMiddleware:
    """At the start of the chain (after the security headers), so even a request for an unknown
    host has its id and access line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid
        token = request_id_var.set(rid)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = rid
            user = getattr(request, "user", None)
            access_log.info(
                "%s %s %s", request.method, request.path, response.status_code,
                extra={"method": request.method, "path": request.path, "status": response.status_code,
                       "ms": round((time.monotonic() - started) * 1000, 1),
                       "user_id": getattr(user, "pk", None) if user is not None and user.is_authenticated else None},
            )
            return response
        finally:
            request_id_var.reset(token)


def task_context_connect(signals) -> None:
    """Celery: the task id and name on every line a task writes (connected in erp.celery)."""

    def started(task_id=None, task=None, **kwargs):
        task_var.set((task_id, getattr(task, "name", None)))

    def finished(**kwargs):
        task_var.set(None)

    signals.task_prerun.connect(started, weak=False)
    signals.task_postrun.connect(finished, weak=False)
