"""Connecting a shop cannot be used to reach into the server's network: a Shopify shop is its
<name>.myshopify.com domain (which becomes the API host), every endpoint passes the outbound
guard before the first call, and the local sandbox is offered only where a development setting
allows it (issue 23)."""
import pytest
from django_tenants.utils import tenant_context

from accounts.modules import Role
from connectors.exceptions import ConnectorError
from connectors.models import ChannelAccount
from connectors.services import AccountInput, account_connect
from tests.security.outbound_support import Listener
from tests.support import client_for, make_user


@pytest.fixture
def trap():
    listener = Listener("127.0.0.1")
    yield listener
    listener.close()


def _form(shop_id: str, **extra) -> dict:
    return {"platform": "shopify", "name": "Mine", "shop_id": shop_id, "stock_location": "1", "app_key": "k", "app_secret": "s",
            "access_token": "t"} | extra


def test_connect_takes_only_a_myshopify_domain_and_reaches_nothing_else(alpha, sandbox, trap):
    owner = client_for(alpha, make_user(alpha, role=Role.OWNER))
    probes = [f"127.0.0.1:{trap.port}", f"localhost:{trap.port}", "10.0.0.7", "169.254.169.254", "evil.example.com",
              "shop.myshopify.com.evil.example", f"shop.myshopify.com:{trap.port}", "shop.myshopify.com/../../_sandbox/stock",
              "shop.myshopify.com@127.0.0.1", f"[::1]:{trap.port}"]
    for shop_id in probes:
        for sandbox_mode in ({}, {"use_sandbox": "on"}):
            page = owner.post("/channels/connect/", _form(shop_id, **sandbox_mode))
            assert page.status_code == 200 and "myshopify.com domain" in page.content.decode(), shop_id
    with tenant_context(alpha):
        for shop_id in probes:
            with pytest.raises(ConnectorError, match="myshopify.com domain"):
                account_connect(data=AccountInput(platform="shopify", name="Mine", shop_id=shop_id, app_key="k", app_secret="s",
                                                  access_token="t", stock_location="1"))
        assert not ChannelAccount.objects.exists()
    assert trap.hits == 0


def test_the_sandbox_is_offered_only_where_development_allows_it(alpha, sandbox, settings):
    _url, store = sandbox
    owner = client_for(alpha, make_user(alpha, role=Role.OWNER))
    assert 'name="use_sandbox"' in owner.get("/channels/connect/").content.decode()
    settings.FANOUT_OUTBOUND_ALLOW_SANDBOX = False  # as in production
    assert 'name="use_sandbox"' not in owner.get("/channels/connect/").content.decode()
    before = dict(store.requests)
    with tenant_context(alpha), pytest.raises(ConnectorError, match="No platform sandbox"):
        account_connect(data=AccountInput(platform="amazon", name="X", shop_id="A1", app_key="k", app_secret="s", access_token="t",
                                          stock_location="1", use_sandbox=True))
    assert store.requests == before


def test_only_owners_and_managers_connect_shops(alpha, sandbox):
    for role in Role.values:
        page = client_for(alpha, make_user(alpha, role=role)).post("/channels/connect/", _form("shop.myshopify.com"))
        assert (page.status_code == 403) == (role not in (Role.OWNER, Role.MANAGER)), role
