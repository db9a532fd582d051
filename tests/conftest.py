import pytest
from django.db import connection
from django_tenants.utils import schema_context

from sellers.models import Seller
from sellers.services import public_tenant_ensure, seller_signup
from tests.support import PASSWORD

TEST_SELLERS = {"alpha": "Alpha Goods", "beta": "Beta Beauty"}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The public tenant plus two sellers, created once per test database (kept with --reuse-db)."""
    with django_db_blocker.unblock():
        public_tenant_ensure(domains=["localhost", "127.0.0.1", "testserver"])
        for subdomain, name in TEST_SELLERS.items():
            if not Seller.objects.filter(subdomain=subdomain).exists():
                seller_signup(company_name=name, subdomain=subdomain, owner_email=f"owner@{subdomain}.test", password=PASSWORD)


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
