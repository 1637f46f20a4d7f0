"""Issue 16: Manage renewal. A change scheduled on the subscription page is shown, can be
changed or removed until the term ends, and is applied by the lifecycle job; each step is
in the history. Who may schedule is the permission table's "subscriptions.renewal"."""

import datetime

import pytest
from django.urls import reverse

from portal.scoping import unscoped
from subscriptions.models import ScheduledChange, Subscription, SubscriptionEvent
from subscriptions.services.renewals import run_lifecycle
from tests.factories import CustomerFactory, OfferFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

END = datetime.date(2027, 11, 1)


@pytest.fixture
def sub(world):
    with unscoped("test setup"):
        offer = OfferFactory(name="Business Basic", term="P1Y", available_terms=["P1M"])
        premium = OfferFactory(name="Business Premium", term="P1Y")
        offer.upgrades.add(premium)
        customer = CustomerFactory(provider=world.provider, reseller=world.reseller)
        return SubscriptionFactory(
            customer=customer,
            offer=offer,
            quantity=5,
            start_date=datetime.date(2026, 11, 1),
            renewal_date=END,
        )


def url(org, name, sub):
    return reverse(name, kwargs={"org_slug": org.slug, "pk": sub.pk})


def fresh(sub) -> Subscription:
    with unscoped("test"):
        return Subscription.objects.get(pk=sub.pk)


def schedule_of(sub):
    with unscoped("test"):
        return ScheduledChange.objects.filter(subscription=sub).first()


def history(sub) -> list[str]:
    with unscoped("test"):
        return list(
            SubscriptionEvent.objects.filter(subscription=sub)
            .order_by("pk")
            .values_list("verb", flat=True)
        )


def test_schedule_show_change_remove_and_the_job_applies_it(world, client_for, sub):
    client = client_for(world.provider_admin)
    with unscoped("test"):
        premium = sub.offer.upgrades.get()
    response = client.post(url(world.provider, "subscriptions:renewal", sub), {"quantity": 12})
    assert response.status_code == 302
    assert schedule_of(sub).quantity == 12
    page = client.get(url(world.provider, "subscriptions:detail", sub)).content.decode()
    assert "Manage renewal" in page
    assert "12 licenses" in page

    # Changed: an upgrade, on the monthly term, instead.
    client.post(
        url(world.provider, "subscriptions:renewal", sub),
        {"quantity": 8, "offer": premium.pk, "billing_frequency": "annual"},
    )
    schedule = schedule_of(sub)
    assert (schedule.quantity, schedule.offer_id, schedule.billing_frequency) == (
        8,
        premium.pk,
        "annual",
    )
    # Removed, then scheduled again.
    client.post(url(world.provider, "subscriptions:renewal-remove", sub))
    assert schedule_of(sub) is None
    client.post(
        url(world.provider, "subscriptions:renewal", sub),
        {"quantity": 8, "offer": premium.pk, "billing_frequency": "annual"},
    )
    assert fresh(sub).quantity == 5  # nothing changes before the term ends

    run_lifecycle(as_of=END)
    renewed = fresh(sub)
    assert (renewed.quantity, renewed.offer_id, renewed.billing_frequency) == (
        8,
        premium.pk,
        "annual",
    )
    assert renewed.renewal_date == datetime.date(2028, 11, 1)
    assert schedule_of(sub) is None
    assert history(sub) == [
        "renewal_scheduled",
        "renewal_scheduled",
        "renewal_schedule_removed",
        "renewal_scheduled",
        "renewed",
    ]
    page = client.get(url(world.provider, "subscriptions:detail", sub)).content.decode()
    assert "the scheduled change was applied" in page


def test_a_shorter_term_among_those_the_catalog_allows(world, client_for, sub):
    client = client_for(world.provider_sales)
    client.post(url(world.provider, "subscriptions:renewal", sub), {"term": "P1M"})
    assert schedule_of(sub).term == "P1M"
    run_lifecycle(as_of=END)
    renewed = fresh(sub)
    assert (renewed.term, renewed.renewal_date) == ("P1M", datetime.date(2027, 12, 1))


def test_terms_and_billing_the_catalog_does_not_allow_are_refused(world, client_for, sub):
    client = client_for(world.provider_admin)
    client.post(url(world.provider, "subscriptions:renewal", sub), {"term": "P3Y"})
    assert schedule_of(sub) is None
    client.post(
        url(world.provider, "subscriptions:renewal", sub),
        {"term": "P1M", "billing_frequency": "annual"},
    )
    assert schedule_of(sub) is None
    client.post(url(world.provider, "subscriptions:renewal", sub), {"quantity": 100000})
    assert schedule_of(sub) is None


def test_auto_renew_off_at_renewal_expires_the_subscription(world, client_for, sub):
    client = client_for(world.provider_admin)
    client.post(url(world.provider, "subscriptions:renewal", sub), {"expire": "on"})
    assert schedule_of(sub).expire
    run_lifecycle(as_of=END)
    assert fresh(sub).status == Subscription.Status.EXPIRED


def test_the_delegated_resellers_sellers_may_schedule(world, client_for, sub):
    client = client_for(world.reseller_admin)
    with unscoped("test setup"):
        from partners.models import Partnership

        Partnership.objects.create(provider=world.provider, reseller=world.reseller)
    response = client.post(url(world.reseller, "subscriptions:renewal", sub), {"quantity": 7})
    assert response.status_code == 302
    assert schedule_of(sub).quantity == 7


def test_support_agents_may_not_schedule(world, client_for, sub):
    client = client_for(world.provider_support)
    page = client.get(url(world.provider, "subscriptions:detail", sub)).content.decode()
    assert "Manage renewal" not in page
    response = client.post(url(world.provider, "subscriptions:renewal", sub), {"quantity": 7})
    assert response.status_code == 404
    assert schedule_of(sub) is None


def test_an_expired_subscription_is_read_only(world, client_for, sub):
    with unscoped("test setup"):
        Subscription.objects.filter(pk=sub.pk).update(status=Subscription.Status.EXPIRED)
    client = client_for(world.provider_admin)
    page = client.get(url(world.provider, "subscriptions:detail", sub)).content.decode()
    assert "Manage renewal" not in page
    assert "renewed until" in page
    client.post(url(world.provider, "subscriptions:renewal", sub), {"quantity": 7})
    assert schedule_of(sub) is None
