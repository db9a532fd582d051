class AccountsError(Exception):
    """A refused change to staff accounts; the message is shown to the user as is."""


class InvitationInvalid(AccountsError):
    pass
