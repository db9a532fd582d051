"""Tenant and role isolation sweep over every URL pattern of a seller's site.

    make bench NAME=isolation_sweep

Scratch database (bench_isolation_sweep, dropped at the end) with two sellers made through the real
sign-up, each given data in every module (tests/sweep.py world_build: SKUs, warehouses, a purchase
order, orders with shipments, creators, commission lines, a closed period, statements, a payout,
portal accounts and notifications, an invitation, shops with a webhook inbox, the cockpit's
rollups), every text marked with a canary of its seller.

Then every pattern found by walking the seller URL resolver (staff modules, shell, seller admin,
creator portal, webhooks, plus /health/) is requested GET and POST as anonymous, each staff role
and a portal creator: with the own ids, with the other seller's ids (URL, query string, form
fields) also where the identity is refused up front, with another creator's ids on portal pages,
and with the same cookies on the other seller's host. Both directions (each seller as "own").
A leak is a 500, an answer other than 403/404/405/sign-in redirect where the identity has no
access, the other seller's (or, in the portal, another creator's) canary in a page, CSV, PDF or
redirect, or a row written by a request that may not write (tests/sweep.py judge()).

Prints a summary per area and direction, every leak, and as its last line:
requests=<n> leaks=<n>
"""
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_DEBUG"] = "false"
os.environ.setdefault("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ["CELERY_DEFAULT_QUEUE"] = "bench-isolation-sweep"  # nobody consumes it; emptied at the end
from bench._db import scratch_platform  # noqa: E402

PASSWORD = "Bench-sweep-2026"


def main() -> int:
    started = time.perf_counter()
    with scratch_platform("bench_isolation_sweep"):
        from django.db import transaction

        from sellers.services import seller_signup
        from tests.sweep import IDENTITIES, sweep, walk, world_build

        # As in Django's TestCase: the sweep runs each request in a savepoint it rolls back.
        transaction.Atomic._ensure_durability = False
        logging.disable(logging.CRITICAL)  # rejected webhooks and refused pages log by design; the sweep reports
        sellers = {}
        for tag, floor in (("alpha", 1_000_000), ("beta", 2_000_000)):
            seller = seller_signup(company_name=f"Sweep {tag.title()}", subdomain=f"sweep{tag}", owner_email=f"owner@sweep{tag}.example",
                                   password=PASSWORD).seller
            sellers[tag] = world_build(seller, tag, id_floor=floor)
        print(f"two sellers with data in every module in {time.perf_counter() - started:.0f} s", flush=True)
        routes = walk()
        print(f"patterns={len(routes)} identities={len(IDENTITIES)} ({', '.join(IDENTITIES)})", flush=True)

        requests, leaks, errors = 0, [], 0
        for own, foreign in ((sellers["alpha"], sellers["beta"]), (sellers["beta"], sellers["alpha"])):
            def progress(done, total, result, own=own):
                if done % 40 == 0 or done == total:
                    print(f"  {own.tag}: {done}/{total} patterns, {result.requests} requests, {len(result.leaks)} leaks", flush=True)

            result = sweep(own, foreign, routes=routes, thorough=True, progress=progress)
            print(f"\n{own.tag} as own, {foreign.tag} as foreign ({result.seconds:.0f} s):\n{result.summary()}\n", flush=True)
            requests += result.requests
            errors += result.errors
            leaks += result.leaks
        for leak in leaks:
            print(f"LEAK {leak}")
        print(f"errors(5xx)={errors} total {time.perf_counter() - started:.0f} s")
    _queue_empty()
    print(f"requests={requests} leaks={len(leaks)}")
    return 1 if leaks else 0


def _queue_empty() -> None:
    try:
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).delete("bench-isolation-sweep")
    except Exception:  # noqa: BLE001 — a leftover queue of a scratch run harms nobody
        pass


if __name__ == "__main__":
    sys.exit(main())
