"""Two people sign up the same subdomain at the same moment: one seller, one schema, a clear
error for the other, and nothing half-made (committed data, real threads and connections)."""
import threading

from django.db import connection
from django_tenants.utils import schema_context

from sellers.exceptions import SignupError
from sellers.models import Domain, Seller
from sellers.services import seller_signup
from tests.support import PASSWORD


def _schemas(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", [name])
        return cursor.fetchone()[0]


def test_concurrent_signups_for_one_subdomain_make_one_seller(committed):
    barrier = threading.Barrier(2)
    results: list[str] = []

    def attempt(i: int) -> None:
        try:
            barrier.wait()
            seller_signup(company_name=f"Racer {i}", subdomain="racer", owner_email=f"r{i}@race.test", password=PASSWORD)
            results.append("created")
        except SignupError as exc:
            results.append(" ".join(exc.errors.get("subdomain", [])))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["This subdomain is already taken.", "created"]
        with schema_context("public"):
            assert Seller.objects.filter(subdomain="racer").count() == 1
            assert Domain.objects.filter(domain="racer.localhost").count() == 1
        assert _schemas("racer") == 1
    finally:
        with schema_context("public"):
            for seller in Seller.objects.filter(subdomain="racer"):
                seller.delete(force_drop=True)
    assert _schemas("racer") == 0


def test_concurrent_signup_requests_for_one_subdomain_hold_it_once(committed):
    """Two addresses ask for the same subdomain at the same moment: one holds it, the other is told."""
    from sellers.models import SignupRequest
    from sellers.services.signup_requests import signup_request_create

    barrier = threading.Barrier(2)
    results: list[str] = []

    def attempt(i: int) -> None:
        try:
            barrier.wait()
            signup_request_create(company_name=f"Racer {i}", subdomain="racer", owner_email=f"r{i}@race.test", ip=f"192.0.2.{i + 1}")
            results.append("held")
        except SignupError as exc:
            results.append(" ".join(exc.errors.get("subdomain", [])))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["This subdomain is already taken.", "held"]
        with schema_context("public"):
            assert SignupRequest.objects.filter(subdomain="racer").count() == 1
    finally:
        with schema_context("public"):
            SignupRequest.objects.filter(subdomain="racer").delete()
