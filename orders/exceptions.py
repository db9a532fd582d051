class OrderError(Exception):
    """A refused order operation; the message names what was wrong and is shown as is."""


class IntakeRejected(ValueError):
    """A channel's order carries a value Fanout cannot take; the message names the field and the value."""


class ChannelOrderMissing(LookupError):
    """The channel announced an order its API does not return (deleted, another shop's, or not there yet)."""
