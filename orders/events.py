"""What other apps may listen to, sent inside the transaction that made the change:
- `shipment_shipped`: shipment (Shipment, with its order) — handed to the carrier with a
  tracking number."""
from django.dispatch import Signal

shipment_shipped = Signal()
