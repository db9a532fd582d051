"""What other apps may listen to, sent inside the transaction that made the change (a listener's
writes commit or roll back with it):
- `statements_issued`: statement_ids (list of int) — issued, or issued again after a dispute.
- `statement_paid`: statement_id (int) — its payout went out."""
from django.dispatch import Signal

statements_issued = Signal()
statement_paid = Signal()
