"""Add subscription and designate a support contact, in a real Chromium; the reseller sees it."""

import re

import pytest
from playwright.sync_api import Page, expect

from partners.models import Membership, Partnership
from portal.scoping import unscoped
from subscriptions.models import Subscription
from tests.factories import (
    PASSWORD,
    CustomerFactory,
    MembershipFactory,
    OfferFactory,
    ResellerFactory,
    UserFactory,
    wait_for,
)


@pytest.fixture
def story(world):
    with unscoped("test setup"):
        Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        customer = CustomerFactory(
            provider=world.provider, reseller=world.reseller, company_name="Adatum Corp"
        )
        CustomerFactory(provider=world.provider, company_name="Coho Winery")
        OfferFactory(name="Business Basic")
        other = ResellerFactory(name="Northwind Test")
        Partnership.objects.create(provider=world.provider, reseller=other)
        outsider = MembershipFactory(
            organization=other,
            role=Membership.Role.ADMIN,
            user=UserFactory(email="northwind-admin@example.test"),
        ).user
    return customer, outsider


def log_in(page: Page, base: str, email: str):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def test_add_a_subscription_designate_support_and_the_reseller_sees_it(
    live_server, page: Page, browser, world, story, celery_worker, mailoutbox, screenshot
):
    customer, outsider = story
    base = live_server.url
    log_in(page, base, world.provider_admin.email)
    page.get_by_role("link", name="Customers", exact=True).click()
    # Choosing a reseller filters at once (htmx); the Filter button is for no-JS browsers.
    page.get_by_label("Indirect reseller").select_option(str(world.reseller.pk))
    expect(page).to_have_url(re.compile(f"reseller={world.reseller.pk}"))
    expect(page.get_by_role("row", name=re.compile("Coho Winery"))).to_have_count(0)
    page.get_by_role("button", name="Show details of Adatum Corp").click()
    page.get_by_role("link", name="Add subscription").click()

    expect(page.get_by_role("heading", name="New subscription")).to_be_visible()
    expect(page.get_by_label("Associate with reseller (incentive credit)")).to_have_value(
        str(world.reseller.pk)
    )
    page.get_by_label("Business Basic").fill("15")
    screenshot("new-subscription")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("1 new subscription added for Adatum Corp")).to_be_visible()

    page.get_by_role("link", name="Business Basic").click()
    expect(page.get_by_role("heading", name="Business Basic")).to_be_visible()
    page.get_by_label("Designated support contact").select_option(str(world.reseller.pk))
    page.get_by_role("button", name="Submit").first.click()
    expect(page.get_by_text("The designated support contact was saved.")).to_be_visible()
    expect(
        page.get_by_role("cell", name=re.compile("Designated support contact changed"))
    ).to_be_visible()
    screenshot("designated")
    with unscoped("assert"):
        subscription = Subscription.objects.get(customer=customer)
    assert subscription.support_contact == world.reseller
    assert subscription.reseller == world.reseller
    wait_for(lambda: any(m.to == [world.reseller_admin.email] for m in mailoutbox))

    reseller = browser.new_context().new_page()
    log_in(reseller, base, world.reseller_admin.email)
    reseller.get_by_role("link", name="Customers", exact=True).click()
    expect(reseller.get_by_role("link", name="Adatum Corp")).to_be_visible()
    reseller.get_by_role("navigation", name="Dashboard").get_by_role(
        "link", name="Subscriptions"
    ).click()
    expect(reseller.get_by_role("link", name="Business Basic")).to_be_visible()
    screenshot("reseller")

    stranger = browser.new_context().new_page()
    log_in(stranger, base, outsider.email)
    stranger.goto(f"{base}/orgs/{outsider.memberships.get().organization.slug}/customers/")
    expect(stranger.get_by_text("Adatum Corp")).to_have_count(0)
    stranger.get_by_role("navigation", name="Dashboard").get_by_role(
        "link", name="Subscriptions"
    ).click()
    expect(stranger.get_by_text("Business Basic")).to_have_count(0)
