"""Every place Fanout makes an HTTP request goes through one guard (erp/outbound.py): each client
(TikTok Shop, Shopify, Amazon: their API and their token URL; the 3PL API), pointed at loopback on
another port than the sandbox's, the cloud metadata service, private and unique-local addresses,
IPv6 loopback, a name that resolves to loopback, or plain http in production, is refused with a
clear error and sends nothing. The sandbox is reachable only where a development setting says so.
Redirects are not followed, a name is checked where it is connected to (DNS rebinding), and what a
platform answers is never shown raw."""
import ast
import re
import socket

import pytest
from django_tenants.utils import tenant_context

from connectors.clients import ChannelRequestError
from connectors.models import ChannelAccount, Platform
from tests.security.outbound_support import FakePlatform, Listener
from tests.support import ROOT

REFUSED = re.compile(r"does not send requests there|Only https://|not a public host name")


@pytest.fixture
def traps():
    """A port on 127.0.0.1 and one on ::1 that count connections, and a record of every socket
    connect made meanwhile."""
    v4, v6 = Listener("127.0.0.1"), Listener("::1")
    yield v4, v6
    v4.close()
    v6.close()


@pytest.fixture
def connects(monkeypatch):
    made = []
    original = socket.socket.connect

    def connect(self, address):
        made.append(address)
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return made


def _leaks(connects: list, v4: Listener) -> list:
    """Socket connects other than to our own services on 127.0.0.1 (Redis, the sandbox)."""
    return [a for a in connects if not (a[0] == "127.0.0.1" and a[1] != v4.port)]


def forbidden_targets(v4: int, v6: int) -> dict[str, str]:
    return {
        "loopback, another port than the sandbox": f"http://127.0.0.1:{v4}",
        "loopback over https": f"https://127.0.0.1:{v4}",
        "loopback spelled short": f"https://127.1:{v4}",
        "a name that resolves to loopback": f"https://localhost:{v4}",
        "the same name, fully qualified": f"https://localhost.:{v4}",
        "IPv6 loopback": f"https://[::1]:{v6}",
        "IPv4 loopback inside IPv6": f"https://[::ffff:127.0.0.1]:{v4}",
        "the unspecified address": f"https://0.0.0.0:{v4}",
        "the cloud metadata service": "https://169.254.169.254/latest/meta-data",
        "the AWS metadata service over IPv6": "https://[fd00:ec2::254]/latest/meta-data",
        "a private address": "https://10.20.30.40",
        "another private address": "https://192.168.1.1:8080",
        "a unique-local address": "https://[fd12:3456::1]",
        "multicast": "https://224.0.0.1",
    }


def _account(platform: str, url: str, *, refresh: bool = False) -> ChannelAccount:
    """A shop whose API (or, with `refresh`, whose token URL: no access token yet) is `url`."""
    return ChannelAccount(platform=platform, name="Trap", shop_id="trap.myshopify.com" if platform == Platform.SHOPIFY else "S1",
                          shop_cipher="c", stock_location="1", api_base_url=url, auth_url=f"{url}/token", app_key="key",
                          app_secret="secret", access_token="" if refresh else "token", refresh_token="refresh")


def _channel_call(platform: str, *, refresh: bool):
    def call(url: str):
        from connectors.services import client_for

        with client_for(_account(platform, url, refresh=refresh)) as api:
            return api.ping()
    return call


CHANNEL_CALLS = {f"{platform} {'token URL' if refresh else 'API'}": (platform, _channel_call(platform, refresh=refresh))
                 for platform in Platform.values for refresh in (False, True)}


@pytest.fixture
def threepl_shipment(alpha):
    """A shipment reserved at a warehouse, ready to hand to its 3PL."""
    from orders.models import Shipment
    from orders.services.pipeline import order_pipeline
    from tests.inventory.factories import make_sku, make_warehouses, receive
    from tests.orders.factories import place

    with tenant_context(alpha):
        warehouses = make_warehouses()
        sku = make_sku("TRAP-1")
        receive(sku, warehouses["LA"], 5)
        order = place("TRAP-A", [("TRAP-1", 1)], to="CA")
        order_pipeline(order_id=order.pk)
        yield Shipment.objects.get(order=order)


def _threepl_call(shipment, url: str):
    """Send `shipment` to a 3PL at `url` whose key was entered for that very host (so only the
    address itself can stop it)."""
    from erp.outbound import endpoint_host
    from orders.models import Shipment
    from warehouses.models import Warehouse
    from warehouses.threepl import shipment_send

    Warehouse.objects.filter(pk=shipment.warehouse_id).update(fulfilment="3pl", threepl_url=url, threepl_key_host=endpoint_host(url))
    warehouse = Warehouse.objects.get(pk=shipment.warehouse_id)
    warehouse.threepl_api_key = "3pl-key"
    warehouse.save(update_fields=["threepl_api_key"])
    return shipment_send(Shipment.objects.select_related("order", "warehouse").get(pk=shipment.pk))


# ---------------------------------------------------------------------------- the class test
def test_every_platform_client_is_in_the_class_test():
    from connectors.clients import ApiClient, client_class

    assert {p for p, _call in CHANNEL_CALLS.values()} == set(Platform.values)
    clients = {client_class(p) for p in Platform.values}
    assert set(ApiClient.__subclasses__()) == clients


@pytest.mark.parametrize("name", sorted(CHANNEL_CALLS))
def test_each_channel_client_refuses_every_forbidden_address_and_sends_nothing(alpha, sandbox, traps, connects, name):
    v4, v6 = traps
    _platform, call = CHANNEL_CALLS[name]
    with tenant_context(alpha):
        for what, url in forbidden_targets(v4.port, v6.port).items():
            with pytest.raises(ChannelRequestError) as refused:
                call(url)
            assert REFUSED.search(str(refused.value)), f"{name} → {what}: {refused.value}"
            assert not refused.value.retryable, f"{name} → {what}: a refusal must not be retried"
    assert v4.hits == 0 and v6.hits == 0
    assert not _leaks(connects, v4), connects


def test_the_3pl_client_refuses_every_forbidden_address_and_sends_nothing(threepl_shipment, traps, connects):
    from warehouses.threepl import ThreePLError

    v4, v6 = traps
    for what, url in forbidden_targets(v4.port, v6.port).items():
        with pytest.raises(ThreePLError) as refused:
            _threepl_call(threepl_shipment, url)
        assert REFUSED.search(str(refused.value)) and not refused.value.retryable, f"3PL → {what}: {refused.value}"
    assert v4.hits == 0 and v6.hits == 0
    assert not _leaks(connects, v4), connects


def test_a_name_is_checked_where_it_is_connected_to_and_the_checked_address_is_used(alpha, traps, connects, monkeypatch, settings):
    """DNS rebinding: a name that is public when the form looks it up and loopback when the
    worker connects gains nothing; and the connection goes to the address that was checked,
    without a second lookup."""
    from erp.outbound import outbound_url_problem

    v4, _v6 = traps
    answers = {"shop.rebind.example": ["93.184.215.14", "127.0.0.1"], "api.pinned.example": ["93.184.215.14"] * 5}
    lookups = []
    original = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            lookups.append(host)
            address = answers[host].pop(0)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return original(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    url = f"https://shop.rebind.example:{v4.port}"
    assert outbound_url_problem(url) is None  # the first answer is public
    with tenant_context(alpha), pytest.raises(ChannelRequestError, match="resolves to 127.0.0.1, a loopback address"):
        _channel_call(Platform.AMAZON, refresh=False)(url)
    assert v4.hits == 0

    original_connect = socket.socket.connect

    def unreachable(self, address):  # no real network here: the attempt is what matters
        if address[0] == "93.184.215.14":
            connects.append(address)
            raise ConnectionRefusedError("test network")
        return original_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", unreachable)
    lookups.clear()
    settings.FANOUT_CHANNEL_MAX_ATTEMPTS = 1
    with tenant_context(alpha), pytest.raises(Exception, match="cannot reach"):
        _channel_call(Platform.AMAZON, refresh=False)("https://api.pinned.example")
    assert lookups == ["api.pinned.example"] and ("93.184.215.14", 443) in connects


def test_plain_http_and_the_sandbox_are_refused_in_production(alpha, sandbox, settings, traps):
    """With the development setting off (production forces it off) even the sandbox's own origin
    is refused, and so is http to a public address."""
    from tests.connectors.factories import tiktok_shop

    url, store = sandbox
    with tenant_context(alpha):
        account, _shop = tiktok_shop(url)
        settings.FANOUT_OUTBOUND_ALLOW_SANDBOX = False
        before = dict(store.requests)
        for target in (url, f"{url}/_sandbox", "http://93.184.215.14"):
            with pytest.raises(ChannelRequestError, match="Only https://|does not send requests there"):
                _channel_call(Platform.TIKTOK_SHOP, refresh=False)(target)
        account.api_base_url = f"{url}/tiktok"
        from connectors.services import client_for

        with pytest.raises(ChannelRequestError, match="Only https://"), client_for(account) as api:
            api.ping()
        assert store.requests == before


def test_the_production_settings_never_allow_the_sandbox():
    text = (ROOT / "erp" / "settings" / "production.py").read_text()
    assert re.search(r"^FANOUT_OUTBOUND_ALLOW_SANDBOX = False$", text, re.MULTILINE)


def test_redirects_are_not_followed_to_anywhere(alpha, settings, traps):
    from erp.outbound import OutboundRefused, outbound_http

    v4, _v6 = traps
    fake = FakePlatform()
    settings.FANOUT_PLATFORM_SANDBOX_URL = fake.url
    try:
        fake.answer(302, {}, {"Location": f"http://127.0.0.1:{v4.port}/steal"})
        with tenant_context(alpha), pytest.raises(ChannelRequestError, match="redirect; Fanout does not follow redirects"):
            _channel_call(Platform.TIKTOK_SHOP, refresh=False)(fake.url)
        # A caller that asks to follow redirects is refused at the hop that leaves the allowed origin.
        fake.answer(307, {}, {"Location": f"http://127.0.0.1:{v4.port}/steal"})
        with pytest.raises(OutboundRefused):
            outbound_http().get(f"{fake.url}/start", follow_redirects=True)
    finally:
        fake.close()
    assert v4.hits == 0 and len(fake.requests) == 2


def test_what_a_platform_answers_is_never_shown_raw(alpha, settings):
    fake = FakePlatform()
    settings.FANOUT_PLATFORM_SANDBOX_URL = fake.url
    script = "<script>alert(1)</script>\n" + "x" * 2000
    try:
        with tenant_context(alpha):
            fake.answer(400, {"code": 36009999, "message": script, "internal_token": "SECRET-TOKEN-123"})
            with pytest.raises(ChannelRequestError) as tiktok:
                _channel_call(Platform.TIKTOK_SHOP, refresh=False)(fake.url)
            fake.answer(400, b"<html><body>SECRET-TOKEN-123 admin panel</body></html>", {"Content-Type": "text/html"})
            with pytest.raises(Exception) as not_json:
                _channel_call(Platform.AMAZON, refresh=False)(fake.url)
            fake.answer(200, {"errors": [{"message": script}], "extensions": {"SECRET-TOKEN-123": 1}})
            with pytest.raises(ChannelRequestError) as shopify:
                _channel_call(Platform.SHOPIFY, refresh=False)(fake.url)
    finally:
        fake.close()
    for error in (tiktok.value, not_json.value, shopify.value):
        text = str(error)
        assert "SECRET-TOKEN-123" not in text and "\n" not in text and len(text) < 400, text
    assert "HTTP 400" in str(tiktok.value) and "<script>alert(1)</script>" in str(tiktok.value)  # the message field, cut short
    assert "<html>" not in str(not_json.value)


# ---------------------------------------------------------------------------- nobody goes around it
OUTBOUND_CALLS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "Client", "AsyncClient",
                  "HTTPTransport", "AsyncHTTPTransport"}
HTTP_MODULES = ("requests", "urllib3", "aiohttp", "http.client", "urllib.request", "pycurl")
# Code that may make its own connections, and why.
EXEMPT = {
    "erp/outbound.py": "the guard itself",
    "erp/devstack.py": "`make run`/`make test`: starts PostgreSQL, Redis, the web server and the sandbox, and probes them on 127.0.0.1",
    "connectors/sandbox/app.py": "the platform sandbox is the far side (a stand-in TikTok/Shopify/Amazon): it calls Fanout's webhooks",
}
APP_DIRS = ("accounts", "bi", "commissions", "connectors", "creators", "erp", "inventory", "orders", "portal", "sellers", "warehouses")


def test_no_code_makes_http_requests_around_the_guard():
    offenders = []
    for folder in APP_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            if rel in EXEMPT or "/migrations/" in rel:
                continue
            tree = ast.parse(path.read_text(), rel)
            for node in ast.walk(tree):
                func = node.func if isinstance(node, ast.Call) else None
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                    if (func.value.id == "httpx" and func.attr in OUTBOUND_CALLS) or (
                            func.value.id == "socket" and func.attr in ("create_connection", "socket")):
                        offenders.append(f"{rel}:{node.lineno} {func.value.id}.{func.attr}(…)")
                elif isinstance(node, ast.ImportFrom) and node.module == "httpx" and OUTBOUND_CALLS & {a.name for a in node.names}:
                    offenders.append(f"{rel}:{node.lineno} from httpx import …")
                elif isinstance(node, (ast.Import, ast.ImportFrom)):
                    names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                    offenders += [f"{rel}:{node.lineno} import {n}" for n in names if n.startswith(HTTP_MODULES)]
    assert not offenders, "HTTP requests outside erp/outbound.py:\n" + "\n".join(offenders)
    assert all((ROOT / p).exists() for p in EXEMPT)


def test_the_guard_knows_every_kind_of_address():
    import ipaddress

    from erp.outbound import address_problem

    refused = ["127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.0.1", "192.168.0.1", "100.64.0.1", "169.254.169.254", "169.254.1.1",
               "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1",
               "::ffff:10.0.0.1", "2002:7f00:1::", "64:ff9b::7f00:1", "100.100.100.200", "192.0.0.192", "198.18.0.1"]
    allowed = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::64"]
    assert {a: address_problem(ipaddress.ip_address(a)) for a in refused if not address_problem(ipaddress.ip_address(a))} == {}
    assert {a: address_problem(ipaddress.ip_address(a)) for a in allowed if address_problem(ipaddress.ip_address(a))} == {}
    assert "metadata" in address_problem(ipaddress.ip_address("169.254.169.254"))


