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
    CHANNELS = "channels", _("Channels")
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

class Duty(models.TextChoices):
    """Changes only some roles may make, whichever module's page they are made on."""

    MONEY_SETTINGS = "money_settings", _("Money settings (list prices, commission rates, exchange rates, fees, margin plans)")
    INTEGRATIONS = "integrations", _("Integration endpoints and keys (3PL addresses, shop connections)")


ROLE_DUTIES: dict[str, frozenset[str]] = {
    Duty.MONEY_SETTINGS: frozenset({Role.OWNER, Role.MANAGER, Role.FINANCE}),
    Duty.INTEGRATIONS: frozenset({Role.OWNER, Role.MANAGER}),
}

# The pages that change such a setting (URL names). Anything but GET/HEAD/OPTIONS needs the duty
# (ModulePermissionMiddleware answers 403); the module's other roles may still look.
DUTY_PAGES: dict[str, str] = {
    "inventory:fx": Duty.MONEY_SETTINGS,
    "inventory:fx_export": Duty.MONEY_SETTINGS,  # read-only: listed so Finance may download it too
    "commissions:index": Duty.MONEY_SETTINGS,  # settlement settings: minimum payout, return window
    "commissions:fees": Duty.MONEY_SETTINGS,
    "commissions:fee_end": Duty.MONEY_SETTINGS,
    "commissions:margin_plan_end": Duty.MONEY_SETTINGS,
    "warehouses:fulfilment": Duty.INTEGRATIONS,
    "channels:connect": Duty.INTEGRATIONS,
}
# Duty pages whose holders may open them even without the page's module (Finance keeps the
# exchange rates, which live under Inventory → Purchase orders).
DUTY_PAGES_OPEN_TO_HOLDERS = frozenset({"inventory:fx", "inventory:fx_export"})
# Pages where some of a form's columns need a duty (the service refuses those rows or fields):
# SKU import → list_price (inventory/services/catalog_csv.py).


def role_has_duty(role: str, duty: str) -> bool:
    return role in ROLE_DUTIES.get(duty, frozenset())


def duty_holders_label(duty: str) -> str:
    """"Finance, Manager or Owner": who may, for refusals."""
    names = [str(label) for value, label in Role.choices if value in ROLE_DUTIES.get(duty, ())]
    return _("%(some)s or %(last)s") % {"some": ", ".join(names[:-1]), "last": names[-1]} if len(names) > 1 else "".join(names)


ROLE_DESCRIPTIONS: dict[str, str] = {
    Role.OWNER: _("Everything, including the team and seller admin."),
    Role.MANAGER: _("Every module except the team."),
    Role.OPERATIONS: _("Orders and stock levels."),
    Role.WAREHOUSE: _("Warehouses, shipments and stock."),
    Role.FINANCE: _("Commissions, settlements and insights."),
    Role.CREATOR_MANAGER: _("Creators, tiers and samples."),
    Role.ANALYST: _("Read-only insights."),
}


# Stroke paths (24x24 viewBox) for the navigation icons, drawn with currentColor.
ICONS = {
    "home": "M3 11l9-8 9 8v10h-6v-6H9v6H3z",
    "orders": "M3 7l9-4 9 4v10l-9 4-9-4z M3 7l9 4 9-4 M12 11v10",
    "inventory": "M20 12l-8 8-9-9V3h8z M7.5 7.5h.01",
    "warehouses": "M3 21V9l9-6 9 6v12 M9 21v-6h6v6",
    "creators": "M12 2l3 7h7l-5.5 4.5 2 7.5-6.5-4.5-6.5 4.5 2-7.5L2 9h7z",
    "commissions": "M12 1v22 M17 5H9.5a3.5 3.5 0 0 0 0 7h5a3.5 3.5 0 0 1 0 7H6",
    "bi": "M3 3v18h18 M7 15l4-4 3 3 5-6",
    "channels": "M4 4h16v6H4z M4 14h16v6H4z M8 7h.01 M8 17h.01",
    "team": "M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2 M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z M23 21v-2a4 4 0 0 0-3-3.9 M16 3.1a4 4 0 0 1 0 7.8",
    "preferences": "M4 21v-7 M4 10V3 M12 21v-9 M12 8V3 M20 21v-5 M20 12V3 M1 14h6 M9 8h6 M17 16h6",
    "admin": "M14.7 6.3a4 4 0 0 0-5.4 5.4L3 18l3 3 6.3-6.3a4 4 0 0 0 5.4-5.4l-2.5 2.5-2.4-.6-.6-2.4z",
    "signout": "M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4 M16 17l5-5-5-5 M21 12H9",
}


@dataclass(frozen=True)
class NavItem:
    module: str
    label: str
    url_name: str
    icon: str


# Order of the app shell's navigation.
NAVIGATION: tuple[NavItem, ...] = (
    NavItem(Module.ORDERS, _("Orders"), "orders:index", ICONS["orders"]),
    NavItem(Module.INVENTORY, _("Inventory"), "inventory:index", ICONS["inventory"]),
    NavItem(Module.WAREHOUSES, _("Warehouses"), "warehouses:index", ICONS["warehouses"]),
    NavItem(Module.CHANNELS, _("Channels"), "channels:index", ICONS["channels"]),
    NavItem(Module.CREATORS, _("Creators"), "creators:index", ICONS["creators"]),
    NavItem(Module.COMMISSIONS, _("Commissions"), "commissions:index", ICONS["commissions"]),
    NavItem(Module.BI, _("Insights"), "bi:index", ICONS["bi"]),
    NavItem(Module.TEAM, _("Team"), "team:index", ICONS["team"]),
)


def modules_for_role(role: str) -> frozenset[str]:
    return ROLE_MODULES.get(role, frozenset())
