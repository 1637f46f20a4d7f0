"""The lifecycle job's throughput and flatness (issue 16). Two modes:

Scratch (flatness): the same set inserted into a database of any size, e.g. an empty one
and a copy of make bench's 3,000,000-subscription set:

    .venv/bin/python bench/lifecycle.py --total 10000 --due 2000 --day 2026-12-06

Inserts `total` subscriptions for one scratch provider (bulk, not through the services:
this measures the job, not the orders), `due` of them ending on `--day` (two thirds
auto-renew, one third expire), runs the job's renewals and expiries for that day and
reports subscriptions per second, then EXPLAINs the job's read of what is due. Removes its
rows afterwards. `--day` must be a day on which nothing else in the database is due (for
the seeded set: the day it was seeded; its live terms all end later). Reminders are left
out here: in a big set they would be every reminder of the next 30 days at once.

Seeded (a day's work at scale), on a COPY of make bench's database (it writes):

    .venv/bin/python bench/lifecycle.py --seeded --day 2026-12-07

Records the reminders an earlier daily run would have sent (30 days ahead up to the day
before, 7 days ahead likewise), as if the job had run every day, then runs the whole job
(`run_lifecycle`) for `--day`: that day's renewals, expiries and 7- and 30-day reminders.
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from customers.models import Customer  # noqa: E402
from partners.models import Membership, Organization  # noqa: E402
from portal.models import OutboundEmail, User  # noqa: E402
from portal.scoping import unscoped  # noqa: E402
from subscriptions.models import Offer, Subscription  # noqa: E402
from subscriptions.services import renewals  # noqa: E402
from subscriptions.services.renewals import due_subscriptions, run_lifecycle  # noqa: E402

DAY = datetime.date(2031, 6, 30)


def explain(day: datetime.date) -> None:
    sql, params = (
        due_subscriptions(day)
        .order_by("renewal_date", "pk")
        .values_list("renewal_date", "pk")[:500]
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        print("\n".join(row[0] for row in cursor.fetchall()))


def seeded(day: datetime.date) -> None:
    """A day's whole job on the seeded set, with reminders in their steady state."""
    live = ["active", "suspended"]
    with connection.cursor() as cursor:
        for days in (30, 7):
            cursor.execute(
                """INSERT INTO subscriptions_renewalreminder
                       (subscription_id, term_end, days_before, recipients, created_at)
                   SELECT id, renewal_date, %s, 1, now() FROM subscriptions_subscription
                   WHERE status = ANY(%s) AND renewal_date > %s AND renewal_date < %s
                   ON CONFLICT DO NOTHING""",
                [days, live, day, day + datetime.timedelta(days=days)],
            )
            print(f"{cursor.rowcount:,} {days}-day reminders recorded as already sent")
        cursor.execute("ANALYZE subscriptions_renewalreminder")
        cursor.execute(
            "SELECT count(*) FROM subscriptions_subscription WHERE status = ANY(%s)"
            " AND renewal_date <= %s",
            [live, day],
        )
        print(f"due on {day}: {cursor.fetchone()[0]:,}")
        cursor.execute("SELECT count(*) FROM subscriptions_subscription")
        print(f"subscriptions in all: {cursor.fetchone()[0]:,}")
    started = time.perf_counter()
    result = run_lifecycle(as_of=day)
    seconds = time.perf_counter() - started
    done = result.renewed + result.expired
    print(f"{day}: {result.as_dict()}")
    print(
        f"whole job {seconds:.1f} s; {done:,} transitions and {result.reminded:,} reminders,"
        f" {(done + result.reminded) / seconds:.1f} subscriptions/s"
    )
    with unscoped("counting the job's emails"):
        print(f"outbox rows: {OutboundEmail.objects.count():,}")
    explain(day)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=2_000)
    parser.add_argument("--day", type=datetime.date.fromisoformat, default=DAY)
    parser.add_argument("--seeded", action="store_true")
    opts = parser.parse_args()
    if opts.seeded:
        with unscoped("benchmark: the whole job on the seeded set"):
            seeded(opts.day)
        return
    day = opts.day
    with unscoped("benchmark set-up"):
        provider = Organization.objects.create(
            kind="provider",
            name="Bench lifecycle",
            slug=f"bench-lc-{os.getpid()}",
            partner_id=str(9_000_000 + os.getpid() % 999_999),
            country="US",
            contact_email="bench@example.test",
        )
        admin = User.objects.create(email=f"bench-lc-{os.getpid()}@example.test")
        Membership.objects.create(user=admin, organization=provider, role="admin")
        offer = Offer.objects.create(name="Bench offer", offer_id=f"BENCH-LC-{os.getpid()}")
        customers = Customer.objects.bulk_create(
            Customer(
                provider=provider,
                company_name=f"Bench {n}",
                domain=f"b{os.getpid()}-{n}.example",
                sign_in_prefix=f"b{os.getpid()}x{n}",
                country="US",
                agreement_accepted_on=day,
            )
            for n in range(max(1, opts.total // 3))
        )
        rows = []
        for n in range(opts.total):
            end = day if n < opts.due else day + datetime.timedelta(days=1 + n % 360)
            rows.append(
                Subscription(
                    customer=customers[n % len(customers)],
                    offer=offer,
                    quantity=5,
                    term="P1Y",
                    billing_frequency="monthly",
                    start_date=end - datetime.timedelta(days=365),
                    renewal_date=end,
                    auto_renew=n % 3 != 0,
                )
            )
        Subscription.objects.bulk_create(rows, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE subscriptions_subscription")
        try:
            started = time.perf_counter()
            result = renewals.LifecycleResult()
            # The renewals and expiries only (see the docstring).
            renewals._transitions(
                day, settings.SUBSCRIPTION_LIFECYCLE_BATCH, result, renewals._Recipients()
            )
            seconds = time.perf_counter() - started
            done = result.renewed + result.expired
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM subscriptions_subscription")
                in_all = cursor.fetchone()[0]
            print(f"{in_all:,} subscriptions in the database; due {opts.due}: {result.as_dict()}")
            print(
                f"{seconds:.2f} s, {done / seconds:.0f} subscriptions/s, "
                f"{seconds / done * 1000:.2f} ms each"
            )
            explain(day)
        finally:
            OutboundEmail.objects.filter(to=admin.email).delete()
            from partners.models import AuditEvent

            AuditEvent.objects.filter(provider=provider).delete()
            Subscription.objects.filter(customer__provider=provider).delete()
            Customer.objects.filter(provider=provider).delete()
            Membership.objects.filter(organization=provider).delete()
            provider.delete()
            offer.delete()
            admin.delete()


if __name__ == "__main__":
    main()
