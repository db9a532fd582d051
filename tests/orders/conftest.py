import pytest
from django_tenants.utils import tenant_context

from tests.connectors.factories import tiktok_shop
from tests.inventory.factories import make_sku, make_warehouses, receive


@pytest.fixture
def shop(alpha, sandbox):
    """Alpha with three warehouses, SKU VIRAL-1 (20 in Los Angeles) and a sandbox TikTok shop selling it."""
    url, _store = sandbox
    with tenant_context(alpha):
        warehouses = make_warehouses()
        sku = make_sku("VIRAL-1")
        receive(sku, warehouses["LA"], 20)
        account, remote = tiktok_shop(url, skus=[sku])
        yield {"url": url, "account": account, "remote": remote, "sku": sku, "seller": alpha, "wh": warehouses}
