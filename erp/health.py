"""`/health/` on every host: is the database answering, is Redis answering, is a Celery worker alive,
and has every scheduled job succeeded for every seller lately?

Answered by a middleware ahead of the seller lookup, so a database outage gives a 503 with the
reason instead of an error page. 200 when all four pass, 503 otherwise; the body is JSON:

    {"status": "ok", "checks": {"database": {"ok": true, "ms": 0.4},
                                "redis": {"ok": true, "ms": 0.2, "queued": 0},
                                "worker": {"ok": true, "workers": 2, "last_beat_s": 3.1},
                                "jobs": {"ok": true, "jobs": 17, "sellers": 3, "late": [], "late_count": 0, ...},
                                "beat": {"ok": true, "last_beat_s": 4.0}}}

`jobs` fails when a scheduled job has not succeeded for a seller within twice its period, or ran in
the public schema instead of a seller's, and names the job and the seller (sellers.jobs).

Workers write a heartbeat key (per queue) in Redis every FANOUT_WORKER_HEARTBEAT_S seconds (a thread in each
worker's main process, started on worker_ready); a worker counts as alive while its key is younger
than three periods. Beat writes one too; `beat` itself is informational (orders still flow without
it), but a beat that stopped shows in `jobs` once its jobs are late.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.http import JsonResponse

log = logging.getLogger(__name__)
HEARTBEAT_PREFIX = "fanout:worker-heartbeat:"
BEAT_KEY = "fanout:beat-heartbeat"
_redis = None


def heartbeat_period() -> float:
    return float(getattr(settings, "FANOUT_WORKER_HEARTBEAT_S", 10.0))


def redis_client():
    global _redis
    url = settings.CELERY_BROKER_URL
    if _redis is None or _redis[0] != url:
        import redis

        _redis = (url, redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2))
    return _redis[1]


def queue() -> str:
    """The queue the site sends tasks to; a worker's heartbeat says which queue it consumes."""
    from erp.celery import app

    return app.conf.task_default_queue


def _timed(fn):
    started = time.monotonic()
    try:
        extra = fn() or {}
        return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1), **extra}
    except Exception as exc:  # noqa: BLE001 — a health check reports any failure, it never raises
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _database():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _redis_check():
    client = redis_client()
    client.ping()
    return {"queued": client.llen(queue())}


def _worker():
    client = redis_client()
    now = time.time()
    beats = []
    for key in client.scan_iter(match=f"{HEARTBEAT_PREFIX}{queue()}:*", count=100):
        raw = client.get(key)
        if raw:
            beats.append(now - json.loads(raw)["ts"])
    alive = [age for age in beats if age < 3 * heartbeat_period()]
    if not alive:
        raise RuntimeError(f"no Celery worker on queue {queue()!r} has sent a heartbeat in the last {3 * heartbeat_period():.0f} s")
    return {"workers": len(alive), "last_beat_s": round(min(alive), 1)}


def _beat():
    raw = redis_client().get(BEAT_KEY)
    if not raw:
        raise RuntimeError(f"celery beat has not sent a heartbeat in the last {3 * heartbeat_period():.0f} s (scheduled tasks are not being sent)")
    return {"last_beat_s": round(time.time() - json.loads(raw)["ts"], 1)}


def _jobs():
    """Every scheduled job succeeded for every seller within twice its period, and none ran in the
    public schema (sellers.jobs)."""
    from sellers.jobs import JobsUnhealthy, jobs_check

    try:
        return jobs_check()
    except JobsUnhealthy as exc:
        return {"ok": False, "error": str(exc)[:2000], **exc.report}


def health_report() -> tuple[bool, dict]:
    from django.db import connection

    if connection.schema_name != "public":
        connection.set_schema_to_public()
    checks = {"database": _timed(_database), "redis": _timed(_redis_check), "worker": _timed(_worker)}
    if checks["database"]["ok"]:
        checks["jobs"] = _timed(_jobs)  # an unhealthy report carries "ok": false over _timed's own
    ok = all(check["ok"] for check in checks.values())
    checks["beat"] = _timed(_beat)
    return ok, {"status": "ok" if ok else "fail", "checks": checks}


class HealthMiddleware:
    """Answers GET /health/ on any host before anything touches the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path != "/health/":
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return JsonResponse({"error": "use GET"}, status=405)
        ok, report = health_report()
        response = JsonResponse(report, status=200 if ok else 503)
        response["Cache-Control"] = "no-store"
        return response


# --- the workers' side ------------------------------------------------------------------------
def _heartbeat_loop(key: str, stop: threading.Event) -> None:
    period = heartbeat_period()
    while not stop.is_set():
        try:
            redis_client().set(key, json.dumps({"ts": time.time(), "pid": os.getpid()}), ex=int(period * 3) + 1)
        except Exception as exc:  # noqa: BLE001 — Redis away: try again next period, the check will say so
            log.warning("worker heartbeat not written: %s", exc)
        stop.wait(period)


def heartbeat_connect(signals) -> None:
    """Workers (worker_ready) and beat (beat_init) write their heartbeat from a thread of their main process."""
    state: dict = {}

    def begin(key: str) -> None:
        state["key"], state["stop"] = key, threading.Event()
        threading.Thread(target=_heartbeat_loop, args=(key, state["stop"]), daemon=True, name="fanout-heartbeat").start()

    def worker_started(sender=None, **kwargs):
        name = getattr(sender, "hostname", None) or socket.gethostname()
        begin(f"{HEARTBEAT_PREFIX}{queue()}:{name}:{os.getpid()}")

    def beat_started(**kwargs):
        begin(BEAT_KEY)

    def stop(**kwargs):
        if "stop" in state:
            state["stop"].set()
            try:
                redis_client().delete(state["key"])
            except Exception:  # noqa: BLE001 — shutting down anyway
                pass

    signals.worker_ready.connect(worker_started, weak=False)
    signals.beat_init.connect(beat_started, weak=False)
    signals.worker_shutdown.connect(stop, weak=False)
