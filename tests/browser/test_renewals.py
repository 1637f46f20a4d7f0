"""Issue 16 in a real Chromium: a change scheduled with Manage renewal is reminded of and
applied at the term end, and an expired subscription is renewed with its Renew button.

The lifecycle job runs in the test's process, as `manage.py run_lifecycle --as-of` does,
with the day it runs for as its argument: time moves by `as_of`, never by a clock."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from playwright.sync_api import Page, expect

from portal.models import OutboundEmail
from portal.scoping import unscoped
from subscriptions.models import Subscription, renewal_date
from subscriptions.services.renewals import run_lifecycle
from tests.factories import CustomerFactory, OfferFactory, SubscriptionFactory, log_in


def shown(day: datetime.date) -> str:
    """A date as the English pages and emails write it."""
    with translation.override("en"):
        return date_format(day, "DATE_FORMAT")


@pytest.fixture
def customer(world):
    with unscoped("browser test data"):
        return CustomerFactory(provider=world.provider, company_name="Adatum Corp")


def subscription_for(customer, *, term_end: datetime.date, auto_renew: bool) -> Subscription:
    with unscoped("browser test data"):
        return SubscriptionFactory(
            customer=customer,
            offer=OfferFactory(name="Business Basic", term="P1Y", max_licenses=300),
            quantity=10,
            term="P1Y",
            billing_frequency="monthly",
            auto_renew=auto_renew,
            start_date=term_end - datetime.timedelta(days=365),
            renewal_date=term_end,
        )


def open_subscription(page: Page, base: str, world) -> None:
    """From the dashboard, as a person would: Subscriptions, then the subscription."""
    page.goto(f"{base}{reverse('dashboard', kwargs={'org_slug': world.provider.slug})}")
    page.get_by_role("navigation", name="Dashboard").get_by_role(
        "link", name="Subscriptions"
    ).click()
    page.get_by_role("link", name="Business Basic").click()
    expect(page.get_by_role("heading", name="Business Basic", level=1)).to_be_visible()


def details(page: Page, term: str):
    """The value shown for `term` in the subscription's Details."""
    return page.locator(f"dt:text-is('{term}') + dd").first


def test_a_scheduled_change_is_reminded_of_then_applied_at_the_term_end(
    live_server, page: Page, world, customer, screenshot
):
    end = timezone.localdate() + datetime.timedelta(days=20)
    subscription = subscription_for(customer, term_end=end, auto_renew=True)
    log_in(page, live_server.url, world.provider_admin.email)
    open_subscription(page, live_server.url, world)

    renewal = page.locator("#renewal")
    expect(renewal).to_contain_text("Renews automatically for another term.")
    renewal.get_by_label("Licenses for the next term").fill("15")
    renewal.get_by_role("button", name="Schedule the change").click()
    expect(page.get_by_text("The change was scheduled for the renewal.")).to_be_visible()
    expect(page.locator("#renewal")).to_contain_text("15 licenses")
    screenshot("renewal-scheduled")

    # A week before the end, the reminder says what the renewal will be.
    run_lifecycle(as_of=end - datetime.timedelta(days=7))
    reminder = OutboundEmail.objects.get(template="subscription_renewal_reminder")
    assert reminder.to == world.provider_admin.email
    assert reminder.subject
    body = reminder.body_text
    assert (
        f"The subscription of Adatum Corp to Business Basic (10 licenses) ends its term on "
        f"{shown(end)} and will renew automatically:"
    ) in body
    assert "Licenses: 15" in body
    assert f"The new term would end on {shown(renewal_date(end, 'P1Y'))}." in body
    assert "This includes the change scheduled for the renewal." in body

    # The term end: the job renews with the change.
    result = run_lifecycle(as_of=end)
    assert result.renewed == 1
    page.reload()
    expect(details(page, "Licenses")).to_have_text("15")
    next_end = renewal_date(end, "P1Y")
    expect(details(page, "Renews")).to_contain_text(shown(next_end))
    history = page.get_by_role("cell", name=re.compile("Renewed at the term end"))
    expect(history).to_contain_text("with 15 licenses")
    expect(history).to_contain_text("the scheduled change was applied")
    screenshot("renewal-applied")
    with unscoped("assert"):
        renewed = Subscription.objects.get(pk=subscription.pk)
    assert (renewed.quantity, renewed.renewal_date) == (15, next_end)


def test_an_expired_subscription_is_renewed_with_its_renew_button(
    live_server, page: Page, world, customer, screenshot
):
    today = timezone.localdate()
    end = today - datetime.timedelta(days=5)
    subscription = subscription_for(customer, term_end=end, auto_renew=False)
    assert run_lifecycle(as_of=end).expired == 1

    log_in(page, live_server.url, world.provider_admin.email)
    open_subscription(page, live_server.url, world)
    expect(page.locator(".page-header .badge")).to_have_text("Expired")
    renewal = page.locator("#renewal")
    until = end + datetime.timedelta(days=90)
    expect(renewal).to_contain_text(
        f"Expired on {shown(end)}. It is read-only; it can be renewed until {shown(until)}."
    )
    screenshot("expired")

    # By keyboard: the Renew link, then the confirmation's Renew button.
    renew = renewal.get_by_role("link", name="Renew", exact=True)
    renew.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Renew the subscription")).to_be_visible()
    next_end = renewal_date(today, "P1Y")
    expect(page.locator("dt:text-is('Offer') + dd")).to_have_text("Business Basic")
    expect(page.locator("dt:text-is('Licenses') + dd")).to_have_text("10")
    expect(page.locator("dt:text-is('New term') + dd")).to_have_text(
        f"{shown(today)} \N{EN DASH} {shown(next_end)}"
    )
    screenshot("renew-confirmation")
    page.get_by_role("button", name="Renew", exact=True).focus()
    page.keyboard.press("Enter")

    expect(
        page.get_by_text(
            "The subscription was renewed: it is active again, and its new term ends on "
            f"{shown(next_end)}."
        )
    ).to_be_visible()
    expect(page.locator(".page-header .badge")).to_have_text("Active")
    expect(details(page, "Renews")).to_contain_text(shown(next_end))
    expect(page.locator("#renewal").get_by_role("link", name="Renew", exact=True)).to_have_count(0)
    expect(page.get_by_role("cell", name=re.compile("Renewed after it expired on"))).to_be_visible()
    screenshot("renewed")
    with unscoped("assert"):
        renewed = Subscription.objects.get(pk=subscription.pk)
    assert renewed.status == Subscription.Status.ACTIVE
    assert renewed.renewal_date == next_end
    assert OutboundEmail.objects.filter(template="subscription_renewed_manually").count() == 1
