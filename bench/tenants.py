"""How long a new seller takes to provision, and what a no-op migration costs per schema.

    make bench NAME=tenants            # 50 sellers
    make bench NAME=tenants ARGS=20    # another count

Works in a scratch database (bench_tenants) that is dropped at the end. First the schema template
is built (what a deployment's first sign-up after new migrations pays, in the background), then
each seller goes through the real provisioning service: validation, the schema cloned from the
template, domain and owner account, all in one transaction. Last line:
tenants=<N> per_tenant_s=<x> noop_migrate_per_schema_s=<y> template_build_s=<z> max_tenant_s=<m>
"""
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._db import scratch_platform  # noqa: E402


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with scratch_platform("bench_tenants"):
        from django.core.management import call_command

        from sellers.schemas import template_ensure
        from sellers.services import seller_signup

        started = time.perf_counter()
        template_ensure()
        template_build = time.perf_counter() - started
        print(f"schema template built in {template_build:.2f}s", flush=True)
        durations = []
        for i in range(count):
            started = time.perf_counter()
            seller_signup(
                company_name=f"Bench Seller {i}", subdomain=f"bench-{i:04d}",
                owner_email=f"owner{i}@bench.example", password="Bench-password-2026",
            )
            durations.append(time.perf_counter() - started)
            if (i + 1) % 10 == 0:
                print(f"  {i + 1}/{count} sellers, last {durations[-1]:.2f}s", flush=True)

        started = time.perf_counter()
        call_command("migrate_schemas", "--tenant", verbosity=0)
        noop_total = time.perf_counter() - started

    per_tenant = statistics.mean(durations)
    print(f"new seller: mean {per_tenant:.3f}s, median {statistics.median(durations):.3f}s, max {max(durations):.3f}s")
    print(f"no-op migrate_schemas over {count} seller schemas: {noop_total:.2f}s")
    print(f"tenants={count} per_tenant_s={per_tenant:.3f} noop_migrate_per_schema_s={noop_total / count:.4f} "
          f"template_build_s={template_build:.2f} max_tenant_s={max(durations):.3f}")


if __name__ == "__main__":
    main()
