class OrderError(Exception):
    """A refused order operation; the message names what was wrong and is shown as is."""
