"""Numbers and ids typed or tampered with in requests: "²" passes str.isdigit() but not int(), and
a 30-digit id is past PostgreSQL's bigint. Each used to be a 500; now the page answers as for any
unknown id."""
import pytest
from django_tenants.utils import tenant_context

from accounts.modules import Role
from erp.ids import ids, whole
from tests.inventory.factories import make_warehouses
from tests.support import client_for, make_user

ODD = ["²", "١٢", "9" * 30, "-1", "1e3", " 7 ", ""]


def test_whole_accepts_ascii_digits_within_bigint_only():
    assert [whole(x) for x in ODD] == [None, None, None, None, None, 7, None]
    assert whole("9223372036854775807") == 2**63 - 1 and whole("9223372036854775808") is None
    assert whole("120", maximum=100) is None
    assert ids(["3", "²", "x", "4", "9" * 30], limit=1) == [3]


@pytest.mark.parametrize("odd", [x for x in ODD if whole(x) is None])
def test_odd_ids_get_the_pages_own_answer_not_a_500(alpha, odd):
    owner = client_for(alpha, make_user(alpha, role=Role.OWNER))
    with tenant_context(alpha):
        warehouse = make_warehouses()["LA"]
    bulk = owner.post("/orders/bulk/", {"action": "hold", "id": odd}, follow=True)
    assert bulk.status_code == 200 and "Choose an action and at least one order." in bulk.content.decode()
    pack = owner.post(f"/warehouses/{warehouse.pk}/queue/pack/", {"number": f"S{odd}"}, follow=True)
    assert pack.status_code == 200 and "No shipment" in pack.content.decode()
    assert owner.get("/commissions/statements/", {"period": odd}).status_code == 200
    assert owner.get("/insights/", {"period": odd}).status_code == 200
