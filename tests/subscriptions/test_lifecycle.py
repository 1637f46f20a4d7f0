"""Issue 16: the daily lifecycle job. Terms renew or expire once per term end, whatever
happens (run twice, run late, two runs at once), with history, activity and notices.
Time moves by the job's `as_of`, never by a patched clock."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command

from partners.models import AuditEvent, Membership
from portal.models import OutboundEmail
from portal.scoping import org_scope, unscoped
from subscriptions.models import (
    RenewalReminder,
    ScheduledChange,
    Subscription,
    SubscriptionEvent,
    TermTransition,
)
from subscriptions.services.lifecycle import change_licenses
from subscriptions.services.renewals import run_lifecycle
from tests.factories import CustomerFactory, MembershipFactory, OfferFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

D = datetime.date
END = D(2027, 1, 31)


def make(world, *, auto_renew=True, term="P1Y", end=END, **kwargs) -> Subscription:
    with unscoped("test setup"):
        customer = kwargs.pop("customer", None) or CustomerFactory(provider=world.provider)
        offer = kwargs.pop("offer", None) or OfferFactory(term=term)
        start = {
            "P1M": end - datetime.timedelta(days=31),
            "P1Y": D(end.year - 1, end.month, end.day),
        }
        return SubscriptionFactory(
            customer=customer,
            offer=offer,
            term=term,
            auto_renew=auto_renew,
            start_date=start.get(term, D(2024, 1, 31)),
            renewal_date=end,
            **kwargs,
        )


def fresh(subscription) -> Subscription:
    with unscoped("test"):
        return Subscription.objects.get(pk=subscription.pk)


def verbs(subscription) -> list[str]:
    with unscoped("test"):
        return list(
            SubscriptionEvent.objects.filter(subscription=subscription)
            .order_by("pk")
            .values_list("verb", flat=True)
        )


def activity(verb: str, subscription) -> int:
    with unscoped("test"):
        return AuditEvent.objects.filter(verb=verb, subscription_id=subscription.pk).count()


def mails(template: str) -> list[str]:
    return sorted(OutboundEmail.objects.filter(template=template).values_list("to", flat=True))


def test_auto_renew_on_starts_a_new_term_with_history_activity_and_notice(world):
    subscription = make(world)
    result = run_lifecycle(as_of=END)
    assert (result.renewed, result.expired) == (1, 0)
    renewed = fresh(subscription)
    assert renewed.status == Subscription.Status.ACTIVE
    assert renewed.term_start == END
    assert renewed.term_end == D(2028, 1, 31)
    assert renewed.quantity == subscription.quantity
    assert verbs(subscription) == ["renewed"]
    assert activity("subscription.renewed", subscription) == 1
    with unscoped("test"):
        assert TermTransition.objects.get(subscription=subscription).kind == "renewed"
    assert mails("subscription_renewed") == ["p1-admin@example.test"]


def test_the_cancellation_window_opens_again_for_seven_days_after_renewal(world):
    subscription = make(world)
    assert not fresh(subscription).in_cancellation_window  # a year into the term (today)
    run_lifecycle(as_of=END)
    assert fresh(subscription).cancellation_window_ends == END + datetime.timedelta(days=7)


def test_auto_renew_off_expires_read_only_renewable_for_ninety_days_then_closed(world):
    subscription = make(world, auto_renew=False)
    result = run_lifecycle(as_of=END)
    assert (result.renewed, result.expired) == (0, 1)
    expired = fresh(subscription)
    assert expired.status == Subscription.Status.EXPIRED
    assert expired.is_final
    assert expired.renewable_until == END + datetime.timedelta(days=90)
    assert not expired.is_closed(END + datetime.timedelta(days=90))
    assert expired.is_closed(END + datetime.timedelta(days=91))
    assert verbs(subscription) == ["expired"]
    assert activity("subscription.expired", subscription) == 1
    assert mails("subscription_expired") == ["p1-admin@example.test"]


def test_suspended_subscriptions_expire_at_term_end(world):
    subscription = make(world, status=Subscription.Status.SUSPENDED)
    run_lifecycle(as_of=END)
    assert fresh(subscription).status == Subscription.Status.EXPIRED


def test_nothing_happens_before_the_term_ends(world):
    subscription = make(world)
    result = run_lifecycle(as_of=END - datetime.timedelta(days=1))
    assert (result.renewed, result.expired) == (0, 0)
    assert fresh(subscription).renewal_date == END


def test_running_twice_changes_nothing_the_second_time(world):
    renews, expires = make(world), make(world, auto_renew=False)
    first = run_lifecycle(as_of=END)
    second = run_lifecycle(as_of=END)
    assert (first.renewed, first.expired) == (1, 1)
    assert (second.renewed, second.expired, second.reminded) == (0, 0, 0)
    assert verbs(renews) == ["renewed"]
    assert verbs(expires) == ["expired"]
    assert (
        OutboundEmail.objects.filter(
            template__in=["subscription_renewed", "subscription_expired"]
        ).count()
        == 2
    )


def test_a_late_run_catches_up_on_every_missed_term_end(world):
    """Monthly terms, and the job down for three months: three renewals, one per term end,
    each recorded; the subscription ends up in the term that contains `as_of`."""
    subscription = make(world, term="P1M", end=D(2027, 1, 31))
    result = run_lifecycle(as_of=D(2027, 4, 15))
    assert result.renewed == 3
    with unscoped("test"):
        ends = list(
            TermTransition.objects.filter(subscription=subscription)
            .order_by("term_end")
            .values_list("term_end", flat=True)
        )
    assert ends == [D(2027, 1, 31), D(2027, 2, 28), D(2027, 3, 28)]
    assert fresh(subscription).renewal_date == D(2027, 4, 28)
    assert verbs(subscription) == ["renewed"] * 3


def test_a_late_run_expires_once(world):
    subscription = make(world, auto_renew=False)
    run_lifecycle(as_of=END + datetime.timedelta(days=40))
    run_lifecycle(as_of=END + datetime.timedelta(days=41))
    assert verbs(subscription) == ["expired"]


def test_mid_term_license_increases_are_co_termed(world):
    """Licenses added in mid-term end with the term: one term end for all, and the
    renewal carries them all into the next term."""
    subscription = make(world, quantity=5)
    with org_scope(world.provider):
        change_licenses(
            subscription=subscription,
            actor=world.provider_admin,
            org=world.provider,
            quantity=8,
            version=None,
        )
    assert fresh(subscription).term_end == END
    run_lifecycle(as_of=END)
    renewed = fresh(subscription)
    assert (renewed.quantity, renewed.term_end) == (8, D(2028, 1, 31))


def test_batches_are_read_through_keyset_pages(world):
    subs = [make(world) for _ in range(7)]
    result = run_lifecycle(as_of=END, batch_size=2)
    assert result.renewed == 7
    assert all(fresh(s).renewal_date == D(2028, 1, 31) for s in subs)


def test_the_management_command_takes_an_as_of_date(world):
    subscription = make(world)
    out = StringIO()
    call_command("run_lifecycle", "--as-of", "2027-01-31", stdout=out)
    assert "1 renewed" in out.getvalue()
    assert fresh(subscription).renewal_date == D(2028, 1, 31)


def test_notices_go_to_provider_admins_and_the_associated_resellers_admins(world):
    subscription = make(world, reseller=world.reseller)
    MembershipFactory(organization=world.provider, role=Membership.Role.SALES_AGENT)
    run_lifecycle(as_of=END)
    assert mails("subscription_renewed") == ["p1-admin@example.test", "r1-admin@example.test"]
    assert subscription


def test_a_schedule_from_an_earlier_term_is_never_applied(world):
    subscription = make(world, quantity=5)
    with unscoped("test setup"):
        ScheduledChange.objects.create(
            subscription=subscription, term_end=D(2026, 1, 31), quantity=9
        )
    run_lifecycle(as_of=END)
    assert fresh(subscription).quantity == 5
    with unscoped("test"):
        assert not ScheduledChange.objects.filter(subscription=subscription).exists()
        assert not RenewalReminder.objects.exists()
