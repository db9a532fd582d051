"""Tracking numbers from a 3PL as CSV (shipment, carrier, tracking_number): every row is checked
first; then all shipments ship in one transaction, or none. A row repeating what is already
recorded is accepted and changes nothing."""
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from erp.csvutil import RowError, csv_reader
from orders.exceptions import OrderError
from orders.models import Shipment, ShipmentStatus

COLUMNS = ["shipment", "carrier", "tracking_number"]


@dataclass
class TrackingImport:
    rows: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _shipment_id(value: str) -> int | None:
    value = value.strip().upper().lstrip("S")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def tracking_csv_parse(*, text: str, warehouse_id: int | None = None) -> TrackingImport:
    result = TrackingImport()
    reader = csv_reader(text)
    header = [(h or "").strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        result.errors.append(RowError(1, ", ".join(missing), _("required column missing")))
        return result
    raw_rows = []
    for number, raw in enumerate(reader, start=2):
        raw_rows.append((number, {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}))
    ids = [i for i in (_shipment_id(v.get("shipment", "")) for _n, v in raw_rows) if i]
    shipments = {s.pk: s for s in Shipment.objects.filter(pk__in=ids)}
    seen: dict[int, int] = {}
    for number, v in raw_rows:
        sid = _shipment_id(v.get("shipment", ""))
        shipment = shipments.get(sid) if sid else None
        if shipment is None or (warehouse_id and shipment.warehouse_id != warehouse_id):
            result.errors.append(RowError(number, "shipment", _("no shipment %(s)s in this warehouse") % {"s": v.get("shipment") or "—"}))
        elif shipment.status == ShipmentStatus.CANCELLED:
            result.errors.append(RowError(number, "shipment", _("shipment %(s)s is cancelled") % {"s": shipment.number}))
        elif shipment.status in (ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED) and shipment.tracking_number != v.get("tracking_number"):
            result.errors.append(RowError(number, "tracking_number", _("shipment %(s)s already shipped with %(t)s") % {"s": shipment.number, "t": shipment.tracking_number}))
        elif sid in seen:
            result.errors.append(RowError(number, "shipment", _("shipment %(s)s is also on row %(row)s") % {"s": shipment.number, "row": seen[sid]}))
        for column in ("carrier", "tracking_number"):
            if not v.get(column):
                result.errors.append(RowError(number, column, _("required")))
        if sid:
            seen[sid] = number
        result.rows.append({"row": number, "shipment_id": sid, "shipment": v.get("shipment", ""), "carrier": v.get("carrier", ""),
                            "tracking_number": v.get("tracking_number", "")})
    if not raw_rows:
        result.errors.append(RowError(2, "-", _("the file has no rows")))
    return result


@transaction.atomic
def tracking_csv_apply(*, text: str, actor=None, warehouse_id: int | None = None, progress=None) -> TrackingImport:
    """Ship every row's shipment, or none. `progress(done, total)` is told every 50 rows."""
    from orders.services.pipeline import shipment_ship

    result = tracking_csv_parse(text=text, warehouse_id=warehouse_id)
    if result.errors:
        raise OrderError(_("The file has %(n)s problem(s); nothing was imported.") % {"n": len(result.errors)})
    for done, row in enumerate(result.rows):
        if progress and done % 50 == 0:
            progress(done, len(result.rows))
        shipment_ship(shipment_id=row["shipment_id"], carrier=row["carrier"], tracking_number=row["tracking_number"], actor=actor)
    return result
