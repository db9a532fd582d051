"""CSV injection, as a class: every CSV export of the staff site and the portal, with hostile text
planted in every free-text column of every seller table, holds no cell that a spreadsheet would run
as a formula. The exports are found, not listed: every URL pattern is opened (tests/sweep.py's
walker and world) and every export link on every page followed, so a new export is checked without
anyone adding it here."""
import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.db import connection, models, transaction
from django.http import StreamingHttpResponse
from django_tenants.utils import tenant_context

from accounts.modules import Role
from erp.csvutil import FORMULA_STARTS, csv_cell, csv_reader, csv_text
from tests.support import ROOT
from tests.sweep import (
    CREATOR,
    URLCONF,
    _clients,
    _fill,
    _kwarg_values,
    walk,
    world_build,
    world_release,
)

# Planted in turn at the start of every free-text column: what a buyer's name, a creator's note or a
# supplier's product title could start with.
HOSTILE = ("=", "+", "-", "@", "\t", "\r")
# Columns left as they are: credentials (never exported, and signing in must keep working) and our
# own codes rather than anyone's text (a currency picked from a list, the stage names the cockpit
# rolls up by), which pages read as keys.
NOT_PLANTED = re.compile(r"password|token|secret|key|hash|salt|(^|_)currency$|^stage$")
# Tables the database itself keeps unchanged (the audit log refuses UPDATE: accounts' trigger).
UNCHANGEABLE_TABLES = {"accounts_auditevent"}
PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
EXPORT_LINK = re.compile(r"export|\.csv|/csv/")
# Exports the crawl must find (path, export= value): if it stops finding them, it stops checking them.
KNOWN_EXPORTS = {
    ("/orders/export.csv", ""), ("/creators/creators.csv", ""), ("/inventory/skus.csv", ""), ("/inventory/exchange-rates.csv", ""),
    ("/commissions/lines/export/", ""), ("/portal/orders/", "csv"), ("/insights/", "series"), ("/insights/", "waterfall"),
    ("/insights/", "channel"), ("/insights/creators/", "leaderboard"), ("/insights/operations/", "stages"), ("/insights/stock/", "stock"),
    ("/insights/team/", "team"),
}
# Exports of text people type (buyers, creators, staff): each must show a planted value, neutralized.
MUST_SHOW_PLANTED = {("/orders/export.csv", ""), ("/creators/creators.csv", ""), ("/inventory/skus.csv", ""), ("/portal/orders/", "csv"),
                     ("/commissions/lines/export/", ""), ("/insights/creators/", "leaderboard"), ("/insights/team/", "team")}


def _seller_apps() -> set[str]:
    tenant_apps = {a.split(".")[-1] for a in django_settings.TENANT_APPS}
    return {a.label for a in apps.get_app_configs() if Path(a.path).parent == ROOT and a.label in tenant_apps}


def plant_hostile_text(seller) -> list[str]:
    """Prefix every free-text value (columns without choices or credentials) of every table of ours in
    the seller's schema with a formula character. Returns the columns planted."""
    planted = []
    with tenant_context(seller), connection.cursor() as cursor:
        for model in apps.get_models():
            if (model._meta.app_label not in _seller_apps() or model._meta.proxy or not model._meta.managed
                    or model._meta.db_table in UNCHANGEABLE_TABLES):
                continue
            for field in model._meta.concrete_fields:
                if (not isinstance(field, models.CharField | models.TextField) or field.choices or field.primary_key
                        or NOT_PLANTED.search(field.name)):
                    continue
                prefix = HOSTILE[len(planted) % len(HOSTILE)]
                column, table = connection.ops.quote_name(field.column), connection.ops.quote_name(model._meta.db_table)
                value = f"left(%s || {column}, {field.max_length})" if field.max_length else f"%s || {column}"
                cursor.execute(f"UPDATE {table} SET {column} = {value} WHERE {column} <> ''", [prefix])
                planted.append(f"{model._meta.db_table}.{field.column}")
    return planted


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: set[str] = set()

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") if tag == "a" else None
        if href and EXPORT_LINK.search(href):
            self.links.add(href)


def _get(client, url: str):
    """A GET whose writes (sessions aside) are rolled back, so every page sees the same world."""
    with transaction.atomic():
        response = client.get(url)
        body = response.getvalue() if response.status_code == 200 else b""
        transaction.set_rollback(True)
    return response, body


def find_exports(world, clients) -> dict[str, tuple[object, bytes]]:
    """Every CSV download reachable as the Owner (staff site) or the portal creator: each URL pattern
    with the world's ids, and every export link those pages show. url -> (response, body)."""
    found, pages = {}, []
    for route in walk():
        if route.area not in ("staff", "portal") or route.public:
            continue
        identity = CREATOR if route.area == "portal" else Role.OWNER
        for kwargs in (_kwarg_values(route, world, "own") or [])[:1]:
            url = _fill(route, kwargs, URLCONF)
            if url:
                pages.append((identity, url))
    seen = set()
    while pages:
        identity, url = pages.pop(0)
        if (identity, url) in seen:
            continue
        seen.add((identity, url))
        response, body = _get(clients[identity], url)
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/csv"):
            found[url] = (response, body)
        elif content_type.startswith("text/html") and body:
            parser = _Links()
            parser.feed(body.decode(errors="replace"))
            base = urlsplit(url)
            for href in parser.links:
                target = urlsplit(href.replace("&amp;", "&"))
                if target.netloc:
                    continue
                path = target.path or base.path
                pages.append((identity, f"{path}?{target.query}" if target.query else path))
    return found


@pytest.fixture
def hostile_world(alpha, settings):
    from erp.middleware import CachedTenantMiddleware

    settings.FANOUT_TENANT_CACHE_S = 600
    world = world_build(alpha, "alpha", id_floor=1_000_000)
    try:
        clients = _clients(world, only=(Role.OWNER, CREATOR))  # signed in before the planting changes their emails
        yield world, clients, plant_hostile_text(alpha)
    finally:  # the sequences world_build moved are not rolled back with the test
        CachedTenantMiddleware._cache.clear()
        world_release(world)


def test_every_csv_export_neutralizes_formulas_and_keeps_numbers(hostile_world):
    world, clients, planted = hostile_world
    assert {"orders_order.ship_name", "orders_order.ship_city", "creators_creator.notes", "inventory_sku.title"} <= set(planted)
    exports = find_exports(world, clients)
    keys = {(urlsplit(url).path, dict(p.split("=", 1) for p in urlsplit(url).query.split("&") if "=" in p).get("export", "")): url
            for url in exports}
    assert KNOWN_EXPORTS <= set(keys), f"exports not found: {KNOWN_EXPORTS - set(keys)}"

    formulas, neutralized, negative_numbers = [], {}, 0
    for url, (response, body) in sorted(exports.items()):
        # The one writer: streamed, private (erp.csvutil.csv_response).
        assert isinstance(response, StreamingHttpResponse) and response["Cache-Control"] == "private, no-store", url
        for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))):
            for cell in row:
                if PLAIN_NUMBER.fullmatch(cell):
                    negative_numbers += cell.startswith("-")
                elif cell.startswith(FORMULA_STARTS):
                    formulas.append(f"{url}: {cell[:40]!r}")
                elif cell[:1] == "'" and cell[1:].startswith(FORMULA_STARTS):
                    neutralized[url] = neutralized.get(url, 0) + 1
    print(f"{len(exports)} CSV exports, {sum(neutralized.values())} planted cells neutralized, {negative_numbers} negative numbers kept")
    assert not formulas, "cells a spreadsheet would run:\n" + "\n".join(formulas[:30])
    missing = [keys[key] for key in MUST_SHOW_PLANTED if keys[key] not in neutralized]
    assert not missing, f"planted text never reached these exports, so they prove nothing: {missing}"
    assert negative_numbers, "no negative amount in any export: numbers were not shown to stay numbers"


def test_csv_cell_neutralizes_text_only_and_our_exports_read_back_as_they_were():
    from decimal import Decimal

    assert [csv_cell(v) for v in ("=SUM(A1:A9)", "+1 555 0100", "-2+3", "@cmd", "\tx", "\rx", "＝1+1", "plain", "", None)] == [
        "'=SUM(A1:A9)", "'+1 555 0100", "'-2+3", "'@cmd", "'\tx", "'\rx", "'＝1+1", "plain", "", ""]
    # Numbers stay numbers, whether passed as numbers or as the text of a plain number.
    assert [csv_cell(v) for v in (Decimal("-5.00"), -3, 2.5, "-5.00", "-12", "0.25")] == [Decimal("-5.00"), -3, 2.5, "-5.00", "-12", "0.25"]
    text = csv_text(header=["name", "note", "balance"], rows=[["=HYPERLINK(\"http://x\")", "'quoted", Decimal("-5.00")], ["@a", "\r\nb", 7]])
    assert text.splitlines()[1] == "\"'=HYPERLINK(\"\"http://x\"\")\",'quoted,-5.00"
    assert [dict(r) for r in csv_reader("\ufeff" + text)] == [
        {"name": "=HYPERLINK(\"http://x\")", "note": "'quoted", "balance": "-5.00"}, {"name": "@a", "note": "\r\nb", "balance": "7"}]
