"""Ship-to address checks: US addresses only (routing measures from the ZIP code's coordinates in
the offline `zipcodes` data set); a given state must agree with the ZIP code."""
import functools
from dataclasses import dataclass
from decimal import Decimal

import zipcodes
from django.utils.translation import gettext as _

US_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA", "colorado": "CO",
    "connecticut": "CT", "delaware": "DE", "district of columbia": "DC", "florida": "FL", "georgia": "GA", "hawaii": "HI",
    "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS",
    "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ",
    "new mexico": "NM", "new york": "NY", "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC", "south dakota": "SD",
    "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "puerto rico": "PR",
}


@functools.cache
def zip_index() -> dict[str, dict]:
    """ZIP code → its record, built once per process (`zipcodes.matching` scans ~40,000 rows, ~11 ms)."""
    return {z["zip_code"]: z for z in zipcodes.list_all()}


def state_code(value: str) -> str:
    value = (value or "").strip()
    if len(value) == 2:
        return value.upper()
    return US_STATES.get(value.lower(), value)


@dataclass(frozen=True)
class Checked:
    by_field: dict[str, list[str]]  # what is wrong, under the address field it is about (ship_name, ship_line1, ship_zip, ...)
    city: str = ""
    state: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None

    @property
    def problems(self) -> list[str]:
        return [problem for found in self.by_field.values() for problem in found]


def address_check(*, name: str, line1: str, zip_code: str, state: str = "", country: str = "US") -> Checked:
    found: dict[str, list[str]] = {}

    def problem(field: str, text: str) -> None:
        found.setdefault(field, []).append(text)

    if not (name or "").strip():
        problem("ship_name", _("the recipient's name is missing"))
    if not (line1 or "").strip():
        problem("ship_line1", _("the street address is missing"))
    country = (country or "").strip().upper()
    if country not in ("US", "USA"):
        problem("ship_country", _("only US addresses can be routed (country %(country)s)") % {"country": country or "—"})
        return Checked(found)
    zip5 = (zip_code or "").strip()[:5]
    if not zip5:
        problem("ship_zip", _("the ZIP code is missing"))
        return Checked(found)
    m = zip_index().get(zip5)
    if m is None:
        problem("ship_zip", _("unknown US ZIP code %(zip)s") % {"zip": zip_code})
        return Checked(found)
    given = state_code(state)
    if given and given != m["state"]:
        problem("ship_zip", _("ZIP code %(zip)s is in %(real)s, not %(given)s") % {"zip": zip5, "real": m["state"], "given": given})
    return Checked(found, city=m["city"].title(), state=m["state"], latitude=Decimal(m["lat"]), longitude=Decimal(m["long"]))
