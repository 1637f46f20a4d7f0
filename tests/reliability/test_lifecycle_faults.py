"""Issue 16, faults: the lifecycle job runs twice at once, on a real Celery worker, and
has its process killed in the middle of a transition. Either way no subscription renews
twice, none is missed, and each reminder and notice is sent once. Real PostgreSQL (the
runs' transactions are committed), no sleeps, no patched clock."""

import datetime
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection, transaction

from portal.models import OutboundEmail
from portal.scoping import unscoped
from subscriptions.models import RenewalReminder, Subscription, SubscriptionEvent, TermTransition
from subscriptions.services.renewals import run_lifecycle
from tests.factories import CustomerFactory, OfferFactory, SubscriptionFactory, wait_for
from tests.reliability._faults import database_url
from tests.reliability._orders import concurrently

ROOT = Path(__file__).resolve().parents[2]
D = datetime.date
END = D(2027, 1, 31)


def population(world, n: int = 12) -> list[Subscription]:
    """n subscriptions ending on END (two thirds renew, one third expire), and n ending
    a week later (a 7-day reminder due on END)."""
    with unscoped("test setup"):
        offer = OfferFactory(term="P1Y")
        subs = []
        for i in range(n):
            customer = CustomerFactory(provider=world.provider)
            subs.append(
                SubscriptionFactory(
                    customer=customer,
                    offer=offer,
                    start_date=D(2026, 1, 31),
                    renewal_date=END,
                    auto_renew=i % 3 != 0,
                )
            )
            SubscriptionFactory(
                customer=customer,
                offer=offer,
                start_date=D(2026, 2, 7),
                renewal_date=END + datetime.timedelta(days=7),
            )
    return subs


def assert_exactly_once(subs: list[Subscription], reminders: int) -> None:
    with unscoped("test"):
        for sub in subs:
            assert TermTransition.objects.filter(subscription=sub).count() == 1
            assert SubscriptionEvent.objects.filter(subscription=sub).count() == 1
            now = Subscription.objects.get(pk=sub.pk)
            if sub.auto_renew:
                assert (now.status, now.renewal_date) == ("active", D(2028, 1, 31))
            else:
                assert now.status == "expired"
        assert RenewalReminder.objects.count() == reminders
    renewed = sum(1 for s in subs if s.auto_renew)
    expired = len(subs) - renewed
    # One provider Admin gets each notice and reminder, once.
    assert OutboundEmail.objects.filter(template="subscription_renewed").count() == renewed
    assert OutboundEmail.objects.filter(template="subscription_expired").count() == expired
    assert (
        OutboundEmail.objects.filter(template="subscription_renewal_reminder").count() == reminders
    )


@pytest.mark.django_db(transaction=True)
def test_three_runs_at_once_do_every_transition_and_reminder_once(world):
    subs = population(world)
    results = concurrently(*[lambda: run_lifecycle(as_of=END, batch_size=3) for _ in range(3)])
    assert sum(r.renewed for r in results) == 8
    assert sum(r.expired for r in results) == 4
    assert sum(r.reminded for r in results) == 12
    assert_exactly_once(subs, reminders=12)
    # And a fourth run, after them, has nothing left to do.
    again = run_lifecycle(as_of=END)
    assert (again.renewed, again.expired, again.reminded) == (0, 0, 0)


def test_the_beat_task_runs_on_a_real_worker(world, celery_worker):
    from subscriptions.tasks import run_lifecycle as task

    subs = population(world, n=3)
    outcome = task.delay(END.isoformat()).get(timeout=60)
    assert outcome == {"renewed": 2, "expired": 1, "reminded": 3, "skipped": 0}
    assert task.delay(END.isoformat()).get(timeout=60)["renewed"] == 0
    assert_exactly_once(subs, reminders=3)


def _backend_waiting_on_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction the statistics are a snapshot, unless cleared each time.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query ILIKE %s AND pid <> pg_backend_pid()",
            ["%subscriptions_termtransition%"],
        )
        return cursor.fetchone() is not None


def _backend_gone() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_stat_activity WHERE query ILIKE %s AND pid <> pg_backend_pid() "
            "AND state <> 'idle'",
            ["%subscriptions_termtransition%"],
        )
        return cursor.fetchone() is None


@pytest.mark.django_db(transaction=True)
def test_a_run_killed_in_the_middle_of_a_transition_leaves_nothing_half_done(world):
    """The job's process is killed (SIGKILL) after it renewed a subscription's row but
    before it recorded the transition: PostgreSQL rolls the transition back whole (row,
    history, activity, notice), and the next run does it, once."""
    subs = population(world, n=6)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PYTHONFAULTHANDLER": "1",
    }
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Inserts into the transition table wait while this transaction holds it.
            cursor.execute("LOCK TABLE subscriptions_termtransition IN SHARE MODE")
        proc = subprocess.Popen(  # noqa: S603 (our own command, fixed arguments)
            [sys.executable, "manage.py", "run_lifecycle", "--as-of", END.isoformat()],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for(lambda: proc.poll() is not None or _backend_waiting_on_lock(proc.pid), 60)
            assert proc.poll() is None, proc.communicate()
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    wait_for(_backend_gone, timeout=30)
    with unscoped("test"):
        assert not TermTransition.objects.exists()
        assert not SubscriptionEvent.objects.exists()
        assert all(
            s.renewal_date == END for s in Subscription.objects.filter(pk__in=[s.pk for s in subs])
        )
    assert not OutboundEmail.objects.exists()
    result = run_lifecycle(as_of=END)
    assert (result.renewed, result.expired) == (4, 2)
    assert_exactly_once(subs, reminders=6)
