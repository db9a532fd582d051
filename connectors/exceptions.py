class ConnectorError(Exception):
    """A channel action could not be done; the message is for the user. `errors` lists row errors."""

    def __init__(self, message: str, *, errors=None):
        super().__init__(message)
        self.errors = list(errors or [])


class WebhookRejected(Exception):
    """A webhook delivery is refused with `status`; nothing of it is stored."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason
