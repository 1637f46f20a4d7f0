"""Issue 19: from each dashboard, a figure leads to the list it counts, and the chart's
figures are there as a table for whoever cannot see the chart."""

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from partners.models import Partnership
from portal.scoping import unscoped
from tests.browser.test_accessibility import log_in
from tests.factories import CustomerFactory, OfferFactory, ResellerFactory, SubscriptionFactory


@pytest.fixture
def accounts(world):
    """P1 partners R1 (two delegated customers) and Idle (none yet); R1 is credited for a
    subscription of P1's own customer."""
    with unscoped("dashboard test data"):
        Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        idle = ResellerFactory(name="Idle Reseller")
        Partnership.objects.create(provider=world.provider, reseller=idle)
        offer = OfferFactory(name="Business Basic")
        for name in ("Adatum", "Bellows"):
            customer = CustomerFactory(
                provider=world.provider, reseller=world.reseller, company_name=name
            )
            SubscriptionFactory(customer=customer, offer=offer)
        own = CustomerFactory(provider=world.provider, company_name="Contoso Pharma")
        SubscriptionFactory(customer=own, offer=offer, reseller=world.reseller)
    return {"idle": idle}


def chart_rows(page: Page) -> list[list[str]]:
    page.get_by_text("Show the chart's data as a table").click()
    table = page.locator("details.chart__data table")
    expect(table).to_be_visible()
    return [
        [cell.strip() for cell in row.locator("th, td").all_inner_texts()]
        for row in table.locator("tbody tr").all()
    ]


def test_provider_follows_resellers_with_no_customer_to_that_list(
    live_server, page: Page, world, accounts
):
    log_in(page, live_server.url, world.provider_admin.email)
    page.goto(live_server.url + reverse("dashboard", kwargs={"org_slug": world.provider.slug}))
    figure = page.locator("a.stat", has_text="Reseller with no customer yet")
    expect(figure.locator(".stat__value")).to_have_text("1")
    figure.click()
    expect(page).to_have_url(
        f"{live_server.url}/orgs/{world.provider.slug}/resellers/?customers=none"
    )
    expect(page.get_by_label("Customers", exact=True)).to_have_value("none")
    rows = page.locator("#resellers tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Idle Reseller")

    page.go_back()
    rows = chart_rows(page)
    assert len(rows) == 12
    assert rows[-1] == [timezone.localdate().strftime("%B %Y"), "3"]


def test_reseller_follows_its_named_subscriptions_to_that_list(
    live_server, page: Page, world, accounts
):
    log_in(page, live_server.url, world.reseller_admin.email)
    page.goto(live_server.url + reverse("dashboard", kwargs={"org_slug": world.reseller.slug}))
    expect(
        page.locator("a.stat", has_text="Delegated customers").locator(".stat__value")
    ).to_have_text("2")
    figure = page.locator("a.stat", has_text="Subscription you support or are credited for")
    expect(figure.locator(".stat__value")).to_have_text("1")
    figure.click()
    expect(page.get_by_label("Your role")).to_have_value("yes")
    rows = page.locator("#subscriptions tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Contoso Pharma")

    page.go_back()
    rows = chart_rows(page)
    assert len(rows) == 12
    assert rows[-1] == [timezone.localdate().strftime("%B %Y"), "2"]
