"""The lifecycle job's throughput and flatness (issue 16), on a scratch data set:

    .venv/bin/python bench/lifecycle.py --total 10000 --due 2000
    .venv/bin/python bench/lifecycle.py --total 200000 --due 2000

Inserts `total` subscriptions for one scratch provider (bulk, not through the services:
this measures the job, not the orders), `due` of them ending on the run's day (two
thirds auto-renew, one third expire), runs `run_lifecycle` once and reports
subscriptions per second, then EXPLAINs the job's read of what is due. Removes its rows
afterwards. Not part of `make bench` (its 3,000,000-row run was not done: see
docs/performance.md).
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

from django.db import connection  # noqa: E402

from customers.models import Customer  # noqa: E402
from partners.models import Membership, Organization  # noqa: E402
from portal.models import OutboundEmail, User  # noqa: E402
from portal.scoping import unscoped  # noqa: E402
from subscriptions.models import Offer, Subscription  # noqa: E402
from subscriptions.services.renewals import due_subscriptions, run_lifecycle  # noqa: E402

DAY = datetime.date(2031, 6, 30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=2_000)
    opts = parser.parse_args()
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
                agreement_accepted_on=DAY,
            )
            for n in range(max(1, opts.total // 3))
        )
        rows = []
        for n in range(opts.total):
            end = DAY if n < opts.due else DAY + datetime.timedelta(days=1 + n % 360)
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
            result = run_lifecycle(as_of=DAY)
            seconds = time.perf_counter() - started
            done = result.renewed + result.expired
            print(f"total {opts.total}, due {opts.due}: {result.as_dict()}")
            print(
                f"{seconds:.2f} s, {done / seconds:.0f} subscriptions/s, "
                f"{seconds / done * 1000:.2f} ms each"
            )
            sql, params = (
                due_subscriptions(DAY)
                .order_by("renewal_date", "pk")
                .values_list("renewal_date", "pk")[:500]
                .query.sql_with_params()
            )
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN {sql}", params)
                print("\n".join(row[0] for row in cursor.fetchall()))
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
