class SignupError(Exception):
    """Sign-up could not complete; `errors` maps form field names to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class SignupThrottled(Exception):
    """Too many sign-ups from one address or one client IP within the window."""

    def __init__(self, *, minutes: int, by_address: bool):
        super().__init__(f"sign-up throttled for {minutes} minutes")
        self.minutes = minutes
        self.by_address = by_address


class SignupLinkInvalid(Exception):
    """A sign-up confirmation link that cannot be used; the message says why, in words."""
