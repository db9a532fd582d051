"""Who is asking, and how often: the client's address behind the proxies we trust, and counters
per key and time window in Redis (the cache) for throttles.

- `client_ip(request)`: REMOTE_ADDR, unless the request came from a proxy listed in
  FANOUT_TRUSTED_PROXIES (addresses or networks; none by default): then the nearest address in
  X-Forwarded-For that is not one of our proxies. A header a client sends itself (not through a
  trusted proxy) is ignored, so nobody picks their own address.
- `throttle_hit(scope=..., key=..., limit=..., window_s=...)`: counts one hit in the current window
  and says how many seconds are left in it when the limit is exceeded (None while within it).
  Counters live in the cache, which django-tenants prefixes per seller schema.
"""
from __future__ import annotations

import hashlib
import ipaddress
import time
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache

THROTTLE_PREFIX = "fanout-throttle"


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _address(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address) -> bool:
    return address is not None and any(address in net for net in _networks(tuple(settings.FANOUT_TRUSTED_PROXIES)))


def client_ip(request) -> str:
    """The client's IP address as our own proxies saw it (see the module docstring)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if not _trusted(_address(remote)):
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # garbage a client put in front of the real chain: the last proxy's peer is all we know
            return remote
        if not _trusted(address):
            return str(address)
    return str(_address(hops[0])) if hops else remote


def throttle_hit(*, scope: str, key: str, limit: int, window_s: int) -> int | None:
    """Count one hit of `key` in `scope` in the current fixed window of `window_s` seconds.
    Returns None while the count is within `limit`, else the seconds until the window ends."""
    now = time.time()
    window = int(now // window_s)
    digest = hashlib.sha256(key.strip().lower().encode()).hexdigest()[:32]
    cache_key = f"{THROTTLE_PREFIX}:{scope}:{window_s}:{window}:{digest}"
    cache.add(cache_key, 0, timeout=window_s + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: this hit starts the count again
        cache.add(cache_key, 1, timeout=window_s + 5)
        count = 1
    if count <= limit:
        return None
    return max(1, int((window + 1) * window_s - now))
