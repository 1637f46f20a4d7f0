"""Issue 19's defects, each as a new user meets it in the browser."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from partners.models import Membership, Partnership, TeamInvitation
from partners.services.partnerships import request_partnership
from portal.scoping import unscoped
from portal.tokens import new_token
from subscriptions.models import Order, Subscription
from tests.browser.test_accessibility import log_in
from tests.factories import CustomerFactory, OfferFactory, ResellerFactory, SubscriptionFactory


@pytest.fixture
def shop(world):
    """R1 administers Litware; R2 (Fabrikam) is also a partner of P1."""
    with unscoped("polish test data"):
        Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        fabrikam = ResellerFactory(name="Wingtip Test")
        Partnership.objects.create(provider=world.provider, reseller=fabrikam)
        customer = CustomerFactory(
            provider=world.provider, reseller=world.reseller, company_name="Litware Inc"
        )
        basic = OfferFactory(name="Business Basic")
        standard = OfferFactory(name="Business Standard")
        basic.upgrades.add(standard)
        today = timezone.localdate()

        def subscription(**extra):
            order = Order.objects.create(provider=world.provider, customer=customer)
            return SubscriptionFactory(customer=customer, order=order, offer=basic, **extra)

        return {
            "customer": customer,
            "fabrikam": fabrikam,
            # Bought 30 days ago: the cancellation window has closed.
            "old": subscription(
                start_date=today - datetime.timedelta(days=30),
                renewal_date=today + datetime.timedelta(days=335),
            ),
            "new": subscription(
                start_date=today, renewal_date=today + datetime.timedelta(days=365)
            ),
            "cancelled": subscription(
                start_date=today,
                renewal_date=today + datetime.timedelta(days=365),
                status=Subscription.Status.CANCELLED,
            ),
        }


def org_url(world, name, **kwargs):
    return reverse(name, kwargs={"org_slug": world.provider.slug, **kwargs})


def test_dashboard_counts_requests_and_invitations_apart(live_server, page: Page, world, shop):
    with unscoped("setup"):
        request_partnership(
            provider=world.provider, actor=world.provider_admin, email="owner@prospect.example"
        )
    log_in(page, live_server.url, world.provider_admin.email)
    page.goto(live_server.url + org_url(world, "dashboard"))
    stat = page.locator(".stat", has_text="Pending partnership requests")
    expect(stat.locator(".stat__value")).to_have_text("1")
    expect(
        page.locator(".stat", has_text="Pending team invitations").locator(".stat__value")
    ).to_have_text("0")


def test_revoke_asks_first_and_resend_says_the_old_link_dies(live_server, page: Page, world):
    with unscoped("setup"):
        request_partnership(
            provider=world.provider, actor=world.provider_admin, email="owner@prospect.example"
        )
    log_in(page, live_server.url, world.provider_admin.email)
    # A second request to the same address offers Resend right there (defect 2).
    page.goto(live_server.url + org_url(world, "partners:request-create"))
    page.get_by_label("Reseller's email address").fill("owner@prospect.example")
    page.get_by_role("button", name="Next: Draft email").click()
    page.get_by_role("link", name="Resend to owner@prospect.example").click()
    expect(page.get_by_text("The link you have now stops working at once")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name="Revoke the request to owner@prospect.example").click()
    expect(page.get_by_role("heading", name="Revoke the partnership request")).to_be_visible()
    page.get_by_role("button", name="Revoke the request").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("was revoked; its link no longer works")).to_be_visible()


def test_subscription_page_offers_only_what_the_rules_allow(live_server, page: Page, world, shop):
    log_in(page, live_server.url, world.provider_admin.email)
    # Window closed: no Cancel button, and the date the page writes.
    old = shop["old"]
    page.goto(live_server.url + org_url(world, "subscriptions:detail", pk=old.pk))
    expect(page.get_by_role("link", name="Cancel subscription")).to_have_count(0)
    expect(page.get_by_text("Cancelling is not possible")).to_be_visible()
    page.goto(live_server.url + org_url(world, "subscriptions:cancel", pk=old.pk))
    expect(page.get_by_role("button", name="Cancel subscription")).to_have_count(0)
    # One license form; support contact: the provider or the delegated reseller only.
    new = shop["new"]
    page.goto(live_server.url + org_url(world, "subscriptions:detail", pk=new.pk))
    expect(page.get_by_label("Number of licenses")).to_have_count(1)
    expect(page.get_by_text("Add licenses", exact=True)).to_have_count(0)
    options = page.get_by_label("Designated support contact").locator("option")
    expect(options).to_have_text([world.provider.name, world.reseller.name], ignore_case=False)
    assert page.locator("[id=id_version]").count() <= 1
    # Upgrade: a review step first.
    page.get_by_label("Upgrade to").select_option(label="Business Standard")
    page.get_by_role("button", name="Next: Review").click()
    expect(page.get_by_role("heading", name="Review the upgrade")).to_be_visible()
    with unscoped("assert"):
        assert Subscription.objects.get(pk=new.pk).offer.name == "Business Basic"
    page.get_by_role("button", name="Upgrade").click()
    expect(page.get_by_text("The subscription was upgraded")).to_be_visible()
    # Cancelled: read-only, no renewal line.
    page.goto(live_server.url + org_url(world, "subscriptions:detail", pk=shop["cancelled"].pk))
    expect(page.get_by_role("heading", name="Actions")).to_have_count(0)
    expect(page.get_by_text("Renews")).to_have_count(0)


def test_change_reseller_without_a_change_says_nothing_changed(
    live_server, page: Page, world, shop
):
    log_in(page, live_server.url, world.provider_admin.email)
    page.goto(live_server.url + org_url(world, "customers:reseller", pk=shop["customer"].pk))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(f"Nothing changed: {world.reseller.name}")).to_be_visible()


def test_users_page_shows_an_invitations_role_by_name(live_server, page: Page, world):
    with unscoped("setup"):
        _token, digest = new_token()
        TeamInvitation.objects.create(
            organization=world.provider,
            email="new.colleague@example.test",
            role=Membership.Role.SALES_AGENT,
            token_digest=digest,
            invited_by=world.provider_admin,
            expires_at=TeamInvitation.default_expiry(),
        )
    log_in(page, live_server.url, world.provider_admin.email)
    page.goto(live_server.url + org_url(world, "team:list"))
    row = page.get_by_role("row", name="new.colleague@example.test")
    expect(row).to_contain_text("Sales agent")
    expect(row).not_to_contain_text("sales_agent")


def test_resellers_customers_page_shows_the_created_column_whole_at_1280(
    live_server, page: Page, world, shop
):
    """Defect 10: at 1280 px the reseller's Customers table fits its column: every header,
    the last (Created) included, lies inside the content area, with no clipping."""
    with unscoped("setup"):
        world.provider.name = "Contoso Cloud Distribution Europe Middle East and Africa"
        world.provider.save(update_fields=["name"])
        world.reseller.name = "Northwind Information Technology Services"
        world.reseller.save(update_fields=["name"])
        for n in range(3):
            CustomerFactory(
                provider=world.provider,
                reseller=world.reseller,
                company_name=f"Contoso Pharmaceuticals International Holdings {n}",
                domain=f"contoso-pharmaceuticals-international-holdings-{n}.example",
            )
    page.set_viewport_size({"width": 1280, "height": 720})
    log_in(page, live_server.url, world.reseller_admin.email)
    page.goto(live_server.url + reverse("customers:list", kwargs={"org_slug": world.reseller.slug}))
    created = page.get_by_role("columnheader", name="Created")
    expect(created).to_be_visible()
    # The reseller is not named on each of its own rows; the provider is.
    expect(page.get_by_role("columnheader", name="Indirect reseller")).to_have_count(0)
    expect(page.get_by_role("columnheader", name="Indirect provider")).to_be_visible()
    box = created.bounding_box()
    assert box["x"] + box["width"] <= 1280
    overflow = page.evaluate(
        """() => [...document.querySelectorAll('table')].map(t => {
            const wrap = t.parentElement;
            return wrap.scrollWidth - wrap.clientWidth;
        })"""
    )
    assert overflow and max(overflow) <= 0, overflow
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
