class SettlementError(Exception):
    """A settlement action that cannot be done, with a message for the user."""
