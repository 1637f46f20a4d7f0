"""The New customer order flow and the Customers page, in a real Chromium."""

import re

import pytest
from playwright.sync_api import Page, expect

from customers.models import Customer
from partners.models import Partnership
from portal.scoping import unscoped
from subscriptions.models import Subscription
from tests.factories import PASSWORD, CustomerFactory, OfferFactory, SubscriptionFactory

NEW_PASSWORD = "a-brand-new-passphrase-42"


@pytest.fixture
def catalog(world):
    with unscoped("test setup"):
        Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        return [
            OfferFactory(name="Business Basic", min_licenses=1, max_licenses=300),
            OfferFactory(name="Teams Essentials", min_licenses=1, max_licenses=300),
            OfferFactory(name="Retired Plan", is_active=False),
        ]


def log_in(page: Page, base: str, email: str, password: str = PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()


def fill_details(page: Page):
    page.get_by_label("Company name").fill("Lamna Healthcare")
    page.get_by_label("Primary domain").fill("Lamna.example")
    page.get_by_label("Country").select_option("US")
    page.get_by_label("City").fill("Boston")
    page.get_by_label("Street address").fill("5 Elm Street")
    page.get_by_label("Postal code").fill("02110")
    page.get_by_label("Contact first name").fill("Lee")
    page.get_by_label("Contact last name").fill("Ray")
    page.get_by_label("Contact email").fill("lee@lamna.example")
    page.get_by_label("Contact phone").fill("+1 617 555 0100")
    page.get_by_label("Customer agreement accepted on").fill("2026-11-20")
    page.get_by_label("Accepted by (name)").fill("Lee Ray")
    page.get_by_label("Accepted by (email)").fill("lee@lamna.example")
    page.get_by_label("I confirm the customer accepted the customer agreement.").check()


def test_add_a_customer_for_a_reseller_and_its_admin_signs_in(
    live_server, page: Page, browser, world, catalog, screenshot
):
    base = live_server.url
    log_in(page, base, world.provider_admin.email)
    page.get_by_role("link", name="Indirect resellers").click()
    page.get_by_role("link", name=f"Add new customer for {world.reseller.name}").click()
    expect(page.get_by_label("Indirect reseller")).to_have_value(str(world.reseller.pk))
    fill_details(page)
    # The sign-in domain follows the primary domain as it is typed (static/js).
    expect(page.get_by_label("Sign-in domain")).to_have_value("lamna")
    expect(page.get_by_text(".portal.example", exact=True)).to_be_visible()
    screenshot("details")
    page.get_by_role("button", name="Next: Subscriptions").click()

    expect(page.get_by_role("heading", name="New subscription")).to_be_visible()
    expect(page.get_by_label("Retired Plan")).to_have_count(0)
    page.get_by_label("Business Basic").fill("10")
    page.get_by_label("Teams Essentials").fill("3")
    screenshot("subscriptions")
    page.get_by_role("button", name="Next: Review").click()

    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    expect(page.get_by_text("lamna.example", exact=True)).to_be_visible()
    expect(page.get_by_text("lamna.portal.example", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="Business Basic")).to_be_visible()
    # Back and forth keeps every input.
    page.get_by_role("button", name="Back to customer details").click()
    expect(page.get_by_label("Company name")).to_have_value("Lamna Healthcare")
    page.get_by_role("button", name="Next: Subscriptions").click()
    expect(page.get_by_label("Business Basic")).to_have_value("10")
    page.get_by_role("button", name="Next: Review").click()
    screenshot("review")
    page.get_by_role("button", name="Submit").click()

    expect(page.get_by_role("heading", name="Setup info")).to_be_visible()
    account = page.locator("#setup-account").inner_text()
    password = page.locator("#setup-password").inner_text()
    # On the portal's own sign-in domain, never on the customer's lamna.example.
    assert account == "admin@lamna.portal.example"
    expect(page.locator("#setup-domain")).to_have_text("lamna.portal.example")
    assert len(password) >= 16
    screenshot("setup-info")
    page.reload()
    expect(page.get_by_text("no longer available")).to_be_visible()
    expect(page.get_by_text(password)).to_have_count(0)
    page.get_by_role("link", name="Done").click()
    row = page.get_by_role("row", name=re.compile("Lamna Healthcare"))
    expect(row).to_contain_text(world.reseller.name)
    with unscoped("assert"):
        customer = Customer.objects.get(domain="lamna.example")
        assert customer.reseller == world.reseller
        assert Subscription.objects.filter(customer=customer).count() == 2

    customer_page = browser.new_context().new_page()
    log_in(customer_page, base, account, password)
    expect(customer_page.get_by_role("heading", name="Change Password")).to_be_visible()
    customer_page.goto(f"{base}/customer/")
    expect(customer_page.get_by_role("heading", name="Change Password")).to_be_visible()
    customer_page.get_by_label("Current Password").fill(password)
    customer_page.get_by_label("New Password", exact=True).fill(NEW_PASSWORD)
    customer_page.get_by_label("New Password (again)").fill(NEW_PASSWORD)
    customer_page.get_by_role("button", name="Change Password").click()
    customer_page.goto(f"{base}/customer/")
    expect(customer_page.get_by_role("heading", name="Lamna Healthcare")).to_be_visible()
    expect(customer_page.get_by_role("cell", name="Teams Essentials")).to_be_visible()
    expect(customer_page.get_by_text("lamna.portal.example", exact=True)).to_be_visible()
    # A customer's sign-in account is offered no enrollment, and told why at /enroll/.
    customer_page.locator(".user-menu summary").click()
    expect(customer_page.get_by_role("menuitem", name="Enroll a reseller company")).to_have_count(0)
    customer_page.goto(f"{base}/enroll/")
    expect(customer_page.get_by_text("a customer's sign-in account")).to_be_visible()
    expect(customer_page.get_by_role("button", name="Enroll")).to_have_count(0)


def test_cancel_writes_nothing(live_server, page: Page, world, catalog, screenshot):
    log_in(page, live_server.url, world.provider_sales.email)
    page.get_by_role("link", name="Customers", exact=True).click()
    page.get_by_role("link", name="Add new customer").first.click()
    fill_details(page)
    page.get_by_role("button", name="Next: Subscriptions").click()
    page.get_by_label("Business Basic").fill("2")
    page.get_by_role("button", name="Next: Review").click()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("The new customer was cancelled. Nothing was saved.")).to_be_visible()
    screenshot("cancelled")
    with unscoped("assert"):
        assert Customer.objects.count() == 1  # only P2's canary customer


def test_expanding_rows_work_with_the_keyboard(live_server, page: Page, world, catalog, screenshot):
    with unscoped("test setup"):
        customer = CustomerFactory(provider=world.provider, company_name="Adatum Corp")
        SubscriptionFactory(customer=customer, offer=catalog[0], quantity=12)
    log_in(page, live_server.url, world.provider_admin.email)
    page.goto(f"{live_server.url}/orgs/{world.provider.slug}/customers/")
    toggle = page.get_by_role("button", name="Show details of Adatum Corp")
    toggle.focus()
    page.keyboard.press("Enter")
    details = page.locator(f"#customer-{customer.pk}-details")
    expect(details).to_be_visible()
    expect(details).to_contain_text("12 licenses")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    screenshot("expanded")
    toggle.focus()
    page.keyboard.press(" ")
    expect(details).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    page.keyboard.press(" ")
    expect(details).to_be_visible()
    expect(details.get_by_role("link", name="Add subscription")).to_be_visible()


def tab_to(page: Page, name: str, limit: int = 60) -> None:
    """Press Tab until the control with this name attribute (or button text) has focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e ? (e.name || '') + '|' + (e.textContent || '').trim() : '' }"
        )
        field, _sep, text = focused.partition("|")
        if name in (field, text):
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_the_wizard_works_with_the_keyboard_alone(
    live_server, page: Page, world, catalog, screenshot
):
    log_in(page, live_server.url, world.provider_sales.email)
    page.goto(f"{live_server.url}/orgs/{world.provider.slug}/customers/new/")
    typed = [
        ("details-company_name", "Keyboard Co"),
        ("details-domain", "keyboard.example"),
        ("details-city", "Austin"),
        ("details-street", "9 Key Street"),
        ("details-postal_code", "73301"),
        ("details-contact_first_name", "Kim"),
        ("details-contact_last_name", "Lee"),
        ("details-contact_email", "kim@keyboard.example"),
        ("details-contact_phone", "+1 512 555 0100"),
    ]
    for name, value in typed[:2]:
        tab_to(page, name)
        page.keyboard.type(value)
    tab_to(page, "details-country")
    page.keyboard.type("United States of America")
    for name, value in typed[2:]:
        tab_to(page, name)
        page.keyboard.type(value)
    tab_to(page, "details-agreement_accepted_on")
    page.keyboard.type("11202026")
    tab_to(page, "details-agreement_accepted_by_name")
    page.keyboard.type("Kim Lee")
    tab_to(page, "details-agreement_accepted_by_email")
    page.keyboard.type("kim@keyboard.example")
    tab_to(page, "details-agreement_attested")
    page.keyboard.press(" ")
    tab_to(page, "Next: Subscriptions")
    screenshot("details")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="New subscription")).to_be_visible()
    tab_to(page, f"subscriptions-offer_{catalog[0].pk}")
    page.keyboard.type("4")
    tab_to(page, "Next: Review")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    expect(page.get_by_text("keyboard.example", exact=True)).to_be_visible()
    tab_to(page, "Submit")
    screenshot("review")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Setup info")).to_be_visible()
    with unscoped("assert"):
        assert Customer.objects.get(domain="keyboard.example").country.code == "US"
