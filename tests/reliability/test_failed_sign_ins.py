"""Issue 14, finding 6: anonymous failed sign-ins no longer flood an organization's Activity.

Before, every failed sign-in wrote one entry into every organization of the account, so
anyone could grow any organization's log without limit. Now they are counted: at most one
entry per account, organization and hour, with the count and the last IP address.
"""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from partners.models import AuditEvent
from portal.scoping import unscoped
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

LOGIN = "account_login"


def failed_entries(user) -> list[AuditEvent]:
    with unscoped("assert"):
        return list(AuditEvent.objects.filter(verb="login.failed", actor=user).order_by("pk"))


@pytest.fixture
def member_of_two(world):
    """R1's Admin, also a Sales agent of P1: failures show in both organizations."""
    MembershipFactory(user=world.reseller_admin, organization=world.provider, role="sales_agent")
    return world.reseller_admin


def fail(client: Client, email: str, ip: str) -> None:
    response = client.post(
        reverse(LOGIN), {"login": email, "password": "wrong password"}, REMOTE_ADDR=ip
    )
    assert response.status_code == 200  # the form again, with its error


def test_many_failed_sign_ins_make_one_entry_per_organization_with_the_exact_count(
    world, member_of_two
):
    client = Client()
    for n in range(60):
        fail(client, member_of_two.email, f"203.0.113.{n}")
    entries = failed_entries(member_of_two)
    assert {e.organization for e in entries} == {world.provider, world.reseller}
    assert len(entries) == 2  # was 120: one per attempt and organization
    for entry in entries:
        assert entry.data == {"count": 60, "ip": "203.0.113.59"}
        assert entry.target == member_of_two.email
    # Each side still sees it, counted.
    page = Client()
    page.force_login(world.provider_admin)
    text = page.get(reverse("activity", kwargs={"org_slug": world.provider.slug})).content
    assert "60 attempts within the hour" in text.decode()


def test_failed_sign_ins_are_counted_per_hour(world, member_of_two):
    from partners.audit import record_failed_sign_in

    with unscoped("the service under test"):
        for minute, ip in ((5, "198.51.100.1"), (59, "198.51.100.2")):
            at = datetime(2026, 12, 4, 10, minute, 30, tzinfo=UTC)
            record_failed_sign_in(user=member_of_two, ip=ip, at=at)
        record_failed_sign_in(
            user=member_of_two, ip="198.51.100.3", at=datetime(2026, 12, 4, 11, 0, tzinfo=UTC)
        )
    by_hour = {}
    for entry in failed_entries(member_of_two):
        by_hour.setdefault(entry.hour.hour, []).append(entry.data)
    assert by_hour == {
        10: [{"count": 2, "ip": "198.51.100.2"}] * 2,
        11: [{"count": 1, "ip": "198.51.100.3"}] * 2,
    }


def test_a_successful_sign_in_is_still_one_entry_each(world, member_of_two):
    from tests.factories import PASSWORD

    for _ in range(3):
        Client().post(reverse(LOGIN), {"login": member_of_two.email, "password": PASSWORD})
    with unscoped("assert"):
        assert AuditEvent.objects.filter(verb="login.succeeded", actor=member_of_two).count() == 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_failed_sign_ins_keep_one_entry_and_count_every_one(world, member_of_two):
    """8 browsers at once, 6 failures each, starting together on an hour with no entry yet
    (so the first insert races too): 2 rows, 48 counted in each."""
    threads, per_thread = 8, 6
    barrier = threading.Barrier(threads)
    errors: list = []

    def attacker(n: int) -> None:
        try:
            client = Client()
            barrier.wait(timeout=30)
            for i in range(per_thread):
                fail(client, member_of_two.email, f"192.0.2.{n * per_thread + i}")
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=attacker, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(w.is_alive() for w in workers), "a sign-in hung"
    assert not errors, errors[0]
    entries = failed_entries(member_of_two)
    assert len(entries) == 2
    assert [e.data["count"] for e in entries] == [threads * per_thread] * 2
