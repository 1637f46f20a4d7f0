"""Issue 16: the demo has subscriptions that renew, expire and carry a scheduled change
within the next weeks; the lifecycle job, run a month ahead, shows all of it."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from portal.models import OutboundEmail
from portal.scoping import unscoped
from subscriptions.models import ScheduledChange, Subscription
from subscriptions.services.renewals import run_lifecycle

pytestmark = pytest.mark.django_db


def exchange(domain: str) -> Subscription:
    with unscoped("assert"):
        return Subscription.objects.select_related("customer").get(
            customer__domain=domain, offer__offer_id="EXO-P1-P1M"
        )


def test_the_demo_renews_expires_and_applies_a_schedule_within_weeks():
    call_command("seed_demo", force=True)
    call_command("seed_demo", force=True)  # twice: nothing doubles
    today = timezone.localdate()
    renews, expires = exchange("adatum.example"), exchange("alpineskihouse.example")
    assert renews.renewal_date <= today + datetime.timedelta(days=31)
    with unscoped("assert"):
        assert ScheduledChange.objects.get(subscription=renews).quantity == 15
    assert not expires.auto_renew

    # The 30-day reminders first (a month's term has 28 to 31 days), then the term end.
    assert run_lifecycle(as_of=today + datetime.timedelta(days=1)).reminded >= 2
    result = run_lifecycle(as_of=today + datetime.timedelta(days=31))
    assert result.renewed >= 1
    assert result.expired >= 2  # Alpine Ski House's, and Coho Winery's (suspended)
    assert exchange("adatum.example").quantity == 15
    assert exchange("alpineskihouse.example").status == "expired"
    assert OutboundEmail.objects.filter(template="subscription_renewed").exists()
    assert OutboundEmail.objects.filter(template="subscription_renewal_reminder").exists()
