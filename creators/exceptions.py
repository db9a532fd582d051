class CreatorError(Exception):
    """A refused creator operation; the message is for the user (already translated)."""
