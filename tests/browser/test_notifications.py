"""Issue 19's notifications as their people meet them: a reseller Admin turns one kind of
email off on the profile, and the provider's delegation reaches the Admin who left it on
(through the outbox, a real worker and the local SMTP server), not the one who turned it
off."""

from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from partners.models import Membership, Partnership
from portal.models import OutboundEmail
from portal.scoping import unscoped
from tests.browser.test_partnerships import inbox, log_in
from tests.factories import CustomerFactory, MembershipFactory, UserFactory, wait_for

QUIET = "r1-quiet@example.test"


def test_a_reseller_admin_turns_delegation_emails_off_and_only_the_other_admin_is_told(
    live_server, page: Page, browser: Browser, world, celery_worker, smtp_settings, screenshot
):
    with unscoped("test setup"):
        Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        customer = CustomerFactory(provider=world.provider, company_name="Coho Winery")
        MembershipFactory(
            organization=world.reseller, role=Membership.Role.ADMIN, user=UserFactory(email=QUIET)
        )
    mailbox = inbox(smtp_settings)

    # The quiet Admin unticks one kind on the profile page.
    log_in(page, live_server.url, QUIET)
    page.goto(live_server.url + reverse("profile"))
    expect(page.get_by_role("heading", name="Email notifications")).to_be_visible()
    box = page.get_by_label("Email me about delegated customers")
    expect(box).to_be_checked()
    box.uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your email settings were saved.")).to_be_visible()
    expect(page.get_by_label("Email me about delegated customers")).not_to_be_checked()
    expect(page.get_by_label("Email me about renewals")).to_be_checked()
    screenshot("profile-saved")

    # The provider, in its own browser, delegates a customer to the reseller.
    context = browser.new_context()
    try:
        provider = context.new_page()
        log_in(provider, live_server.url, world.provider_admin.email)
        provider.goto(
            live_server.url
            + reverse(
                "customers:reseller", kwargs={"org_slug": world.provider.slug, "pk": customer.pk}
            )
        )
        provider.get_by_label("Indirect reseller").select_option(label=world.reseller.name)
        provider.get_by_role("button", name="Confirm").click()
        expect(
            provider.get_by_text(f"{world.reseller.name} now administers Coho Winery.")
        ).to_be_visible()
    finally:
        context.close()

    # The worker delivers it to the Admin who left the kind on, and to no one else.
    wait_for(lambda: mailbox())
    (mail,) = mailbox()
    assert mail.to == [world.reseller_admin.email]
    assert mail.subject == f"{world.provider.name} delegated Coho Winery to you"
    assert f"{world.reseller.name} the reseller of its customer Coho Winery" in mail.body
    with unscoped("the outbox after delivery"):
        wait_for(
            lambda: OutboundEmail.objects.filter(
                template="customer_delegated", status=OutboundEmail.Status.SENT
            ).exists()
        )
        assert list(
            OutboundEmail.objects.filter(template="customer_delegated").values_list("to", flat=True)
        ) == [world.reseller_admin.email]
