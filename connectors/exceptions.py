class ConnectorError(Exception):
    """A channel action could not be done; the message is for the user. `errors` lists row errors."""

    def __init__(self, message: str, *, errors=None):
        super().__init__(message)
        self.errors = list(errors or [])


class WebhookRejected(Exception):
    """A webhook delivery is refused with `status`; nothing of it is stored. `retry_after`
    (seconds) goes with a 429."""

    def __init__(self, status: int, reason: str, *, retry_after: int | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class WebhookNotConfirmed(Exception):
    """The platform does not confirm what a (verified) event says, e.g. an app/uninstalled while
    the shop still answers our token: the event is ignored, and the message says why."""
