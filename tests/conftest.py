import subprocess
import sys
import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from erp.celery import app
from sellers.models import Seller
from sellers.services import public_tenant_ensure, seller_signup
from tests.support import PASSWORD, ROOT, subprocess_env

TEST_SELLERS = {"alpha": "Alpha Goods", "beta": "Beta Beauty"}


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_keepdb, django_db_createdb):
    """The test database (always: pytest-django would skip it when only `committed` tests are
    collected), with the public tenant plus two sellers, kept between runs with --reuse-db."""
    from django.test.utils import setup_databases, teardown_databases

    keepdb = django_db_keepdb and not django_db_createdb
    with django_db_blocker.unblock():
        db_cfg = setup_databases(verbosity=request.config.option.verbose, interactive=False, aliases={"default"}, keepdb=keepdb)
        assert connection.settings_dict["NAME"].startswith("test_"), "refusing to seed a non-test database"
        public_tenant_ensure(domains=["localhost", "127.0.0.1", "testserver"])
        for subdomain, name in TEST_SELLERS.items():
            if not Seller.objects.filter(subdomain=subdomain).exists():
                seller_signup(company_name=name, subdomain=subdomain, owner_email=f"owner@{subdomain}.test", password=PASSWORD)
    yield
    if not keepdb:
        with django_db_blocker.unblock():
            teardown_databases(db_cfg, verbosity=request.config.option.verbose)


@pytest.fixture(autouse=True)
def _back_to_public_schema():
    yield
    connection.set_schema_to_public()


def _seller(subdomain: str) -> Seller:
    with schema_context("public"):
        return Seller.objects.get(subdomain=subdomain)


@pytest.fixture
def alpha(db) -> Seller:
    return _seller("alpha")


@pytest.fixture
def beta(db) -> Seller:
    return _seller("beta")


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Real commits in autocommit mode, visible to other processes (worker, web server).
    Not pytest-django's transactional_db: its flush would empty the public schema's sellers.
    Tests using this clean up what they create."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def worker(committed, tmp_path, sandbox_server):
    """A real Celery worker process on a queue of its own; tasks sent by the test go to it. It
    may call the platform sandbox (the outbound guard allows that origin only when it is named)."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    mail_dir = tmp_path / "mail"
    env = subprocess_env(
        CELERY_DEFAULT_QUEUE=queue, FANOUT_PLATFORM_SANDBOX_URL=sandbox_server[0],
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(mail_dir),
        FANOUT_SITE_URL="http://localhost:8000",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "erp", "worker", "-Q", queue, "--pool", "solo", "--loglevel", "INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    original_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield {"proc": proc, "mail_dir": mail_dir}
    finally:
        app.conf.task_default_queue = original_queue
        proc.terminate()
        try:
            output = proc.communicate(timeout=20)[0].decode()
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0].decode()
        print(output[-4000:])



@pytest.fixture(scope="session")
def sandbox_server():
    from connectors.sandbox import serve_in_thread

    server, url, store = serve_in_thread()
    yield url, store
    server.shutdown()


@pytest.fixture
def sandbox(sandbox_server, settings):
    """The platform sandbox over real HTTP, emptied for each test; shops connect to it."""
    url, store = sandbox_server
    store.reset()
    settings.FANOUT_PLATFORM_SANDBOX_URL = url
    return url, store


@pytest.fixture(autouse=True)
def _throttles_reset():
    """Throttle counters (erp.throttle) and the resume sweeps' "queued again lately" marks
    (erp.celery.resume_due) live in Redis, outside any test transaction: every test starts with none,
    so one test's requests never throttle the next and one test's resumed ids never hold back the
    same ids of another."""
    import redis
    from django.conf import settings

    from erp.throttle import THROTTLE_PREFIX

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"*{THROTTLE_PREFIX}:*", count=1000)) + list(client.scan_iter(match="*:resume:*", count=1000))
    if keys:
        client.delete(*keys)
    yield
