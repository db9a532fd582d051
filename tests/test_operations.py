"""Operations: /health/ reports database, Redis and worker heartbeat; logs are JSON lines carrying
the seller and the request or task id."""
import json
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from erp import health
from erp.celery import app
from tests.support import ROOT, free_port, start_web_server, subprocess_env, wait_for


def _json_lines(output: str) -> list[dict]:
    lines = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    return lines


@pytest.mark.worker
def test_health_is_ok_with_a_worker_alive_and_fails_without_one(worker):
    client = Client(HTTP_HOST="localhost")
    report = wait_for(lambda: (r := client.get("/health/")).status_code == 200 and r.json(), "the worker's first heartbeat")
    assert report["status"] == "ok"
    assert report["checks"]["database"]["ok"] and report["checks"]["redis"]["ok"]
    assert report["checks"]["worker"]["workers"] == 1
    # The same answer on a seller's host (it never needs the seller lookup).
    assert Client(HTTP_HOST="alpha.localhost").get("/health/").json()["checks"]["worker"]["ok"] is True

    # The worker dies without a goodbye: its heartbeat ages out and /health/ says so.
    worker["proc"].kill()
    worker["proc"].wait()
    original = health.heartbeat_period
    health.heartbeat_period = lambda: 0.5  # what 3 periods of silence look like, without waiting 30 s
    try:
        response = wait_for(lambda: (r := client.get("/health/")).status_code == 503 and r, "the heartbeat to age out", timeout=10)
    finally:
        health.heartbeat_period = original
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["worker"]["ok"] is False
    assert "no Celery worker on queue" in body["checks"]["worker"]["error"]
    assert body["checks"]["database"]["ok"] is True


def test_health_names_redis_when_it_cannot_be_reached(db, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = Client(HTTP_HOST="localhost").get("/health/")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["redis"]["ok"] is False and "Connection" in checks["redis"]["error"]
    assert Client(HTTP_HOST="localhost").post("/health/").status_code == 405


def test_web_logs_are_json_lines_with_the_seller_and_the_request_id(committed, alpha):
    port = free_port()
    server = start_web_server(port, DJANGO_LOG_LEVEL="INFO")
    rid = f"test-{uuid.uuid4().hex[:12]}"
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/login/", headers={"Host": f"alpha.localhost:{port}", "X-Request-ID": rid})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["X-Request-ID"] == rid
        # A request without an id gets one of its own, returned in the header.
        request = urllib.request.Request(f"http://127.0.0.1:{port}/login/", headers={"Host": f"alpha.localhost:{port}", "X-Request-ID": "bad id!"})
        with urllib.request.urlopen(request, timeout=10) as response:
            generated = response.headers["X-Request-ID"]
        assert generated and generated != "bad id!"
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0].decode()
    access = [line for line in _json_lines(output) if line.get("logger") == "fanout.access"]
    ours = [line for line in access if line["request_id"] == rid]
    assert len(ours) == 1, output[-3000:]
    line = ours[0]
    assert line["seller"] == "alpha" and line["status"] == 200 and line["path"] == "/login/" and line["method"] == "GET"
    assert line["level"] == "INFO" and line["time"].endswith("Z") and isinstance(line["ms"], float)
    assert any(line["request_id"] == generated for line in access)


@pytest.mark.worker
def test_task_logs_carry_the_task_id_and_the_seller(committed, alpha):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", queue, "--pool", "solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=subprocess_env(CELERY_DEFAULT_QUEUE=queue, DJANGO_LOG_LEVEL="INFO"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    original = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        with tenant_context(alpha):
            result = app.send_task("bi.refresh")
        wait_for(lambda: health.redis_client().llen(queue) == 0, "the worker to take the task", timeout=30)
        time.sleep(2)  # let it finish and log
    finally:
        app.conf.task_default_queue = original
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode()
    lines = [line for line in _json_lines(output) if line.get("task_id") == result.id]
    assert lines, output[-3000:]
    assert all(line["seller"] == "alpha" and line["task"] == "bi.refresh" for line in lines)
    assert any("succeeded" in line["message"] for line in lines), output[-3000:]
