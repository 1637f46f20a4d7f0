"""Issue 16: the Subscriptions page made for renewals (search, filters, sort by term end,
CSV export, term end and change-scheduled columns) and the provider dashboard's counts,
each linking to the filtered list."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from partners.models import Partnership
from portal.scoping import unscoped
from subscriptions.models import ScheduledChange, Subscription
from tests.factories import CustomerFactory, OfferFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture
def book(world):
    """Four of P1's subscriptions: renewing in 10 days, expiring in 20 (auto-renew off),
    renewing in 50 with a change scheduled, and one a year out credited to R1."""
    with unscoped("test setup"):
        Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        basic = OfferFactory(name="Business Basic")
        teams = OfferFactory(name="Teams Essentials")

        def sub(company, offer, end, **extra):
            return SubscriptionFactory(
                customer=CustomerFactory(provider=world.provider, company_name=company),
                offer=offer,
                start_date=end - datetime.timedelta(days=365),
                renewal_date=end,
                **extra,
            )

        subs = {
            "soon": sub("Adatum", basic, days(10)),
            "expiring": sub("Bellows", basic, days(20), auto_renew=False),
            "scheduled": sub("Contoso Pharma", teams, days(50)),
            "later": sub("Datum", teams, days(300), reseller=world.reseller),
        }
        ScheduledChange.objects.create(
            subscription=subs["scheduled"], term_end=days(50), quantity=9
        )
    return subs


def page(client, org, **params) -> str:
    response = client.get(reverse("subscriptions:list", kwargs={"org_slug": org.slug}), params)
    assert response.status_code == 200
    return response.content.decode()


def shown(html: str) -> list[str]:
    return [c for c in ("Adatum", "Bellows", "Contoso Pharma", "Datum") if f">{c}<" in html]


def test_search_by_customer_or_offer(world, client_for, book):
    client = client_for(world.provider_admin)
    assert shown(page(client, world.provider, q="bellows")) == ["Bellows"]
    assert shown(page(client, world.provider, q="teams")) == ["Contoso Pharma", "Datum"]


def test_filters_status_offer_reseller_and_renewal_window(world, client_for, book):
    client = client_for(world.provider_admin)
    teams = book["later"].offer
    assert shown(page(client, world.provider, offer=teams.pk)) == ["Contoso Pharma", "Datum"]
    assert shown(page(client, world.provider, reseller=world.reseller.pk)) == ["Datum"]
    assert shown(page(client, world.provider, renews_within=30)) == ["Adatum", "Bellows"]
    assert shown(page(client, world.provider, renews_within=60)) == [
        "Adatum",
        "Bellows",
        "Contoso Pharma",
    ]
    with unscoped("test setup"):
        Subscription.objects.filter(pk=book["soon"].pk).update(status="suspended")
    assert shown(page(client, world.provider, status="suspended")) == ["Adatum"]
    assert shown(page(client, world.provider, at_term_end="expires")) == ["Adatum", "Bellows"]
    assert shown(page(client, world.provider, at_term_end="scheduled")) == ["Contoso Pharma"]


def test_sorted_by_term_end_with_its_column_and_the_schedule_column(world, client_for, book):
    client = client_for(world.provider_admin)
    html = page(client, world.provider, sort="-renewal_date")
    order = sorted(shown(html), key=html.index)
    assert order == ["Datum", "Contoso Pharma", "Bellows", "Adatum"]
    assert "Term ends" in html
    assert "Change scheduled" in html


def test_csv_export_has_the_term_end_and_the_schedule(world, client_for, book):
    client = client_for(world.provider_admin)
    url = reverse("subscriptions:list", kwargs={"org_slug": world.provider.slug})
    response = client.get(url, {"_export": "csv", "renews_within": 60})
    assert response.status_code == 200
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    lines = text.decode().strip().splitlines()
    assert "Term ends" in lines[0]
    assert len(lines) == 4
    assert any("Contoso Pharma" in line and "yes" in line for line in lines)


def test_the_reseller_sees_only_what_it_may_with_the_same_filters(world, client_for, book):
    client = client_for(world.reseller_admin)
    html = page(client, world.reseller)
    assert shown(html) == ["Datum"]
    assert 'name="reseller"' not in html
    assert shown(page(client, world.reseller, renews_within=30)) == []


def test_the_provider_dashboard_counts_link_to_the_filtered_list(world, client_for, book):
    client = client_for(world.provider_admin)
    html = client.get(reverse("dashboard", kwargs={"org_slug": world.provider.slug})).content
    html = html.decode()
    assert "Renewing in the next 30 days" in html
    for query, count in (
        ("renews_within=30&amp;at_term_end=renews", 1),
        ("renews_within=30&amp;at_term_end=expires", 1),
        ("at_term_end=scheduled", 1),
    ):
        link = f'href="/orgs/{world.provider.slug}/subscriptions/?{query}"'
        assert link in html
        start = html.index(link)
        assert f'<span class="stat__value">{count}</span>' in html[start : start + 200]


def test_the_reseller_dashboard_counts_only_its_own_renewals(world, client_for, book):
    # Issue 19 gives the reseller its renewals too: of what it sees (R1 is credited for
    # Datum, a year out), so none of P1's three within 30 days or scheduled.
    client = client_for(world.reseller_admin)
    html = client.get(reverse("dashboard", kwargs={"org_slug": world.reseller.slug})).content
    html = html.decode()
    assert "Renewing in the next 30 days" in html
    for query in ("renews_within=30&amp;at_term_end=renews", "at_term_end=scheduled"):
        link = f'href="/orgs/{world.reseller.slug}/subscriptions/?{query}"'
        start = html.index(link)
        assert '<span class="stat__value">0</span>' in html[start : start + 200]
