"""Structured logs: every line is one JSON object (python-json-logger) carrying the seller (the
schema the connection is on), the web request's id or the Celery task's id and name.

- `RequestIdMiddleware` gives each request an id: the proxy's `X-Request-ID` when it sent a sane
  one, a new one otherwise. It is echoed in the response header and written on every log line of
  that request, then one access line per request (method, path, status, milliseconds, user).
- Celery's task signals set the task's id and name for the lines it writes.
- `FANOUT_LOG_FORMAT=text` gives the same fields as one readable line (a developer's terminal).
- No line carries a secret of a link: the path segments of URL patterns with a secret argument
  (invitation, reset and sign-in tokens) and the values of secret-named query parameters are
  written as [redacted], by both formatters (every logger, Django's request errors included) and
  by gunicorn's own logger (gunicorn.conf.py: its access lines, when someone turns them on).
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

REDACTED = "[redacted]"
# URL arguments that are secrets (checked on every pattern of both sites) and query parameters
# that carry one (OAuth codes and states, platform signatures, tokens).
SECRET_URL_KWARGS = frozenset({"token", "uidb64", "key", "secret", "code", "signature"})
SECRET_QUERY = re.compile(r"([?&;](?:token|uidb64|key|secret|code|auth_code|state|signature|sign|hmac|password|access_token|"
                          r"refresh_token|app_secret|id_token)=)[^&;\s\"'#<>]*", re.IGNORECASE)
_secret_paths: list[re.Pattern] = []


def _secret_path_patterns() -> list[re.Pattern]:
    """One regex per URL pattern with a secret argument, for finding its paths inside any text.
    Empty until Django's apps are loaded (a gunicorn master's own lines, early start-up)."""
    if _secret_paths:
        return _secret_paths
    try:
        from django.apps import apps

        if not apps.ready:
            return []
        from django.conf import settings
        from django.urls import URLResolver, get_resolver

        found = []

        def walk(patterns, prefix):
            for p in patterns:
                rx = p.pattern.regex.pattern.removeprefix("^").removesuffix(r"\Z").removesuffix("$")
                if isinstance(p, URLResolver):
                    walk(p.url_patterns, prefix + rx)
                elif SECRET_URL_KWARGS & set(re.compile(prefix + rx).groupindex):
                    # A segment ends where the text around the path does (a space, a quote, a query).
                    found.append(re.compile("/" + (prefix + rx).replace("[^/]+", "[^/\\s\"'?#<>]+")))

        for urlconf in dict.fromkeys((settings.ROOT_URLCONF, getattr(settings, "PUBLIC_SCHEMA_URLCONF", settings.ROOT_URLCONF))):
            walk(get_resolver(urlconf).url_patterns, "")
        _secret_paths[:] = found
    except Exception:  # noqa: BLE001 — logging must never raise; the query values are still redacted
        return []
    return _secret_paths


def _mask(match: re.Match) -> str:
    text, start = [], match.start()
    for name, index in match.re.groupindex.items():
        if name in SECRET_URL_KWARGS and match.group(index) is not None:
            text.append(match.string[start:match.start(index)] + REDACTED)
            start = match.end(index)
    return "".join(text) + match.string[start:match.end()]


def secrets_redact(text: str) -> str:
    """`text` with the secret path segments and query values of any URL in it replaced by [redacted]."""
    for pattern in _secret_path_patterns():
        text = pattern.sub(_mask, text)
    return SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, text)


class RedactFilter(logging.Filter):
    """For loggers we do not format ourselves (gunicorn's): the message with secrets redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = secrets_redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


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

    def format(self, record):
        return secrets_redact(super().format(record))


class TextLogFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [seller=%(seller)s request=%(request_id)s task=%(task_id)s] %(message)s")

    def format(self, record):
        return secrets_redact(super().format(record))


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
            # runserver's request lines through our handler (redacted, structured), not Django's own.
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
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
            path = secrets_redact(request.path)
            access_log.info(
                "%s %s %s", request.method, path, response.status_code,
                extra={"method": request.method, "path": path, "status": response.status_code,
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
