"""Roles and the modules each may use. The single source of truth for staff permissions:
`ModulePermissionMiddleware` enforces it on every URL in a module's namespace and the
navigation hides what a user may not open."""
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Module(models.TextChoices):
    ORDERS = "orders", _("Orders")
    INVENTORY = "inventory", _("Inventory")
    WAREHOUSES = "warehouses", _("Warehouses")
    CREATORS = "creators", _("Creators")
    COMMISSIONS = "commissions", _("Commissions")
    BI = "bi", _("Insights")
    TEAM = "team", _("Team")


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    OPERATIONS = "operations", _("Operations")
    WAREHOUSE = "warehouse", _("Warehouse")
    FINANCE = "finance", _("Finance")
    CREATOR_MANAGER = "creator_manager", _("Creator manager")
    ANALYST = "analyst", _("Analyst")


_ALL_BUT_TEAM = frozenset(m for m in Module if m != Module.TEAM)

ROLE_MODULES: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(Module),
    Role.MANAGER: _ALL_BUT_TEAM,
    Role.OPERATIONS: frozenset({Module.ORDERS, Module.INVENTORY}),
    Role.WAREHOUSE: frozenset({Module.WAREHOUSES, Module.INVENTORY}),
    Role.FINANCE: frozenset({Module.COMMISSIONS, Module.BI}),
    Role.CREATOR_MANAGER: frozenset({Module.CREATORS}),
    Role.ANALYST: frozenset({Module.BI}),
}

ROLE_DESCRIPTIONS: dict[str, str] = {
    Role.OWNER: _("Everything, including the team and seller admin."),
    Role.MANAGER: _("Every module except the team."),
    Role.OPERATIONS: _("Orders and stock levels."),
    Role.WAREHOUSE: _("Warehouses, shipments and stock."),
    Role.FINANCE: _("Commissions, settlements and insights."),
    Role.CREATOR_MANAGER: _("Creators, tiers and samples."),
    Role.ANALYST: _("Read-only insights."),
}


@dataclass(frozen=True)
class NavItem:
    module: str
    label: str
    url_name: str
    icon: str


# Order of the app shell's navigation.
NAVIGATION: tuple[NavItem, ...] = (
    NavItem(Module.ORDERS, _("Orders"), "orders:index", "📦"),
    NavItem(Module.INVENTORY, _("Inventory"), "inventory:index", "🏷️"),
    NavItem(Module.WAREHOUSES, _("Warehouses"), "warehouses:index", "🏭"),
    NavItem(Module.CREATORS, _("Creators"), "creators:index", "⭐"),
    NavItem(Module.COMMISSIONS, _("Commissions"), "commissions:index", "💵"),
    NavItem(Module.BI, _("Insights"), "bi:index", "📈"),
    NavItem(Module.TEAM, _("Team"), "team:index", "👥"),
)


def modules_for_role(role: str) -> frozenset[str]:
    return ROLE_MODULES.get(role, frozenset())
