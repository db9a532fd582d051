"""Short-lived coordination state of the stock sync (dirty sets, single-flight claims) and the
recent webhook rejections live in Redis, under keys that carry the seller's schema name."""
from functools import cache

import redis
from django.conf import settings
from django.db import connection


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True, socket_timeout=5)


def tenant_key(*parts) -> str:
    return ":".join(["fanout", connection.schema_name, *map(str, parts)])
