"""Whole numbers and row ids from request data. `str.isdigit()` is true for "²" (and `int("²")`
fails), and a 30-digit id overflows PostgreSQL's bigint: both were 500s. These accept ASCII
digits only, within bigint."""
from collections.abc import Iterable

MAX_BIGINT = 2**63 - 1


def whole(text, *, maximum: int = MAX_BIGINT) -> int | None:
    """The non-negative whole number `text` spells in ASCII digits, or None."""
    text = str(text if text is not None else "").strip()
    if not text or len(text) > 19 or not (text.isascii() and text.isdecimal()):
        return None
    value = int(text)
    return value if value <= maximum else None


def ids(values: Iterable, *, limit: int = 500) -> list[int]:
    """The valid row ids among `values` (others dropped), at most `limit` of them."""
    return [v for v in (whole(x) for x in values) if v is not None][:limit]
