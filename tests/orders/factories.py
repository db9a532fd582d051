from orders.services.intake import Intake, IntakeLine, order_upsert

ADDRESSES = {
    "CA": {"ship_name": "Ana Buyer", "ship_line1": "100 Main St", "ship_city": "San Diego", "ship_state": "CA", "ship_zip": "92101"},
    "IL": {"ship_name": "Ivan Buyer", "ship_line1": "1 N State St", "ship_city": "Springfield", "ship_state": "IL", "ship_zip": "62701"},
    "NY": {"ship_name": "Nia Buyer", "ship_line1": "350 5th Ave", "ship_city": "New York", "ship_state": "NY", "ship_zip": "10118"},
    "TX": {"ship_name": "Tex Buyer", "ship_line1": "1 Main St", "ship_city": "Dallas", "ship_state": "TX", "ship_zip": "75201"},
}


def place(external_id: str, lines, *, to: str = "CA", channel: str = "manual", **kwargs):
    """An order of [(sku_code, qty)] shipped to one of ADDRESSES; returns the Order."""
    intake = Intake(channel=channel, external_id=external_id, address=dict(ADDRESSES[to]),
                    lines=[IntakeLine(sku=code, quantity=qty, unit_price="20.00") for code, qty in lines], **kwargs)
    return order_upsert(intake)[0]
