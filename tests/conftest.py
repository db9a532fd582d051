import pytest
from django.db import connection
from django_tenants.utils import schema_context

from sellers.models import Seller
from sellers.services import public_tenant_ensure, seller_signup
from tests.support import PASSWORD

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
