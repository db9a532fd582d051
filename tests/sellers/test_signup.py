import re

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from accounts.models import User
from accounts.modules import Role
from sellers.models import Domain, Seller
from tests.support import PASSWORD


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [name])
        return cursor.fetchone() is not None


def _post_signup(**overrides):
    data = {"company_name": "Newco Outfitters", "subdomain": "newco", "owner_email": "Boss@Newco.test", "password": PASSWORD}
    data.update(overrides)
    return Client(HTTP_HOST="localhost").post("/signup/", data)


def test_seller_signup_creates_working_tenant_and_signs_owner_in(db):
    response = _post_signup()

    assert response.status_code == 302
    match = re.fullmatch(r"http://newco\.localhost/welcome/([^/]+)/", response["Location"])
    assert match, response["Location"]
    seller = Seller.objects.get(subdomain="newco")
    assert seller.name == "Newco Outfitters" and seller.schema_name == "newco"
    assert _schema_exists("newco")
    assert Domain.objects.get(tenant=seller).domain == "newco.localhost"
    with tenant_context(seller):
        owner = User.objects.get()
        assert (owner.email, owner.role, owner.is_superuser) == ("boss@newco.test", Role.OWNER, True)

    # The hand-off link signs the owner in on the new site and lands on the dashboard.
    site = Client(HTTP_HOST="newco.localhost")
    landed = site.get(f"/welcome/{match.group(1)}/", follow=True)
    assert landed.status_code == 200
    assert landed.redirect_chain[-1][0] == "/"
    page = landed.content.decode()
    assert "Newco Outfitters" in page and "Welcome to Fanout" in page
    assert 'href="/team/"' in page  # the owner sees the team module

    # The link is single-use: a second visitor gets the sign-in page, not a session.
    again = Client(HTTP_HOST="newco.localhost").get(f"/welcome/{match.group(1)}/", follow=True)
    assert again.redirect_chain[-1][0] == "/login/"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"subdomain": "alpha"}, "subdomain", "already taken"),
        ({"subdomain": "www"}, "subdomain", "reserved"),
        ({"subdomain": "admin"}, "subdomain", "reserved"),
        ({"subdomain": "public"}, "subdomain", "reserved"),
        ({"subdomain": "Bad_Name!"}, "subdomain", "lowercase letters"),
        ({"subdomain": "ab"}, "subdomain", "3–32"),
        ({"subdomain": "ends-"}, "subdomain", "not ending with a hyphen"),
        ({"password": "password"}, "password", "too common"),
        ({"password": "83749201836"}, "password", "entirely numeric"),
        ({"password": "short1!"}, "password", "too short"),
        ({"owner_email": "not-an-email"}, "owner_email", "valid email"),
        ({"company_name": "   "}, "company_name", "required"),
    ],
)
def test_seller_signup_rejects_bad_input_and_creates_nothing(db, overrides, field, message):
    sellers_before = Seller.objects.count()
    domains_before = Domain.objects.count()

    response = _post_signup(**overrides)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert message.split()[0] in response.content.decode()  # shown on the page
    assert Seller.objects.count() == sellers_before
    assert Domain.objects.count() == domains_before
    assert not _schema_exists("newco")


def test_seller_signup_refuses_a_subdomain_whose_schema_exists(db):
    # A leftover schema without a seller row (e.g. restored by hand) must not be reused.
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA orphan")
    response = _post_signup(subdomain="orphan")
    assert "already taken" in " ".join(response.context["form"].errors["subdomain"])
    assert not Seller.objects.filter(subdomain="orphan").exists()


def test_public_site_landing_and_signup_pages_render(db):
    client = Client(HTTP_HOST="localhost")
    landing = client.get("/")
    assert landing.status_code == 200 and "Create your seller account" in landing.content.decode()
    form = client.get("/signup/")
    assert form.status_code == 200 and "name=\"subdomain\"" in form.content.decode()


def test_unknown_seller_host_is_not_found(db):
    assert Client(HTTP_HOST="nobody.localhost").get("/login/").status_code == 404


def test_platform_admin_lists_sellers_but_seller_admin_does_not(alpha):
    with schema_context("public"):
        admin = User.objects.create_superuser("root@platform.test", PASSWORD)
    platform = Client(HTTP_HOST="localhost")
    platform.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    page = platform.get("/admin/sellers/seller/")
    assert page.status_code == 200 and "Alpha Goods" in page.content.decode() and "Beta Beauty" in page.content.decode()

    from tests.support import client_for

    with tenant_context(alpha):
        owner = User.objects.get(email="owner@alpha.test")
    seller_site = client_for(alpha, owner)
    assert seller_site.get("/admin/").status_code == 200
    assert seller_site.get("/admin/sellers/seller/").status_code == 404
    assert "Beta Beauty" not in seller_site.get("/admin/").content.decode()
