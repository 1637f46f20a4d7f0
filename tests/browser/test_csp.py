"""T5.5: the strict CSP blocks nothing the portal itself needs.

A real Chromium visits every page (anonymous, provider admin, reseller admin, the Django
admin, an htmx row expansion and forms sent back with errors) with a
`securitypolicyviolation` listener installed before any page script runs, and collects
console errors and uncaught exceptions. Any of them fails the test with its page.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.factories import fill_customer_details, log_in

pytestmark = [pytest.mark.reliability]

LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` (${e.sourceFile || ""}:${e.lineNumber || ""})`);
});
"""


class Watch:
    """Visits pages and keeps every CSP violation, console error and page error."""

    def __init__(self, page: Page, base: str):
        self.page, self.base = page, base
        self.problems: list[str] = []
        self.visited: list[str] = []
        self.expected_status = 200
        page.context.add_init_script(LISTEN)
        page.on("console", self.on_console)
        page.on("pageerror", lambda e: self.problems.append(f"{page.url}: error {e}"))

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        # Chromium logs the status of a page we asked for on purpose (a 404 page).
        expected = f"the server responded with a status of {self.expected_status} "
        if self.expected_status != 200 and expected in message.text:
            return
        self.problems.append(f"{self.page.url}: console {message.text}")

    def visit(self, path: str, status: int = 200) -> None:
        self.expected_status = status
        try:
            response = self.page.goto(self.base + path)
            assert response is not None and response.status == status, (path, response.status)
            self.check()
        finally:
            self.expected_status = 200

    def check(self) -> None:
        self.page.wait_for_load_state("load")
        self.visited.append(self.page.url)
        for violation in self.page.evaluate("() => window.__cspViolations"):
            self.problems.append(f"{self.page.url}: CSP {violation}")

    def assert_clean(self, at_least: int) -> None:
        assert len(self.visited) >= at_least, self.visited
        assert not self.problems, "\n".join(self.problems)


def test_no_page_violates_the_csp_or_logs_an_error(live_server, page: Page, world, data):
    watch = Watch(page, live_server.url)
    org = {"org_slug": world.provider.slug}
    customer = {**org, "pk": data.customer.pk}
    subscription = {**org, "pk": data.subscription.pk}

    # Anonymous.
    for path in (reverse("home"), reverse("account_signup"), reverse("account_reset_password")):
        watch.visit(path)
    watch.visit(reverse("partnership-link", args=["not-a-real-token"]), status=404)
    watch.visit(reverse("team-invitation", args=[data.invitation_token]))
    watch.visit(reverse("account_login"))
    page.get_by_label("Email").fill("nobody@example.test")
    page.get_by_label("Password").fill("wrong-password-1")
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator(".form-errors, .errorlist").first).to_be_visible()
    watch.check()

    # A provider admin: every page, an htmx row expansion, the wizard, forms with errors.
    log_in(page, live_server.url, world.provider_admin.email)
    watch.check()
    for name in (
        "dashboard",
        "partners:reseller-list",
        "subscriptions:list",
        "activity",
        "team:list",
        "team:invite",
    ):
        watch.visit(reverse(name, kwargs=org))
    watch.visit(reverse("partners:request-create", kwargs=org))
    page.get_by_label("Reseller's email address").fill("owner@newreseller.example")
    page.get_by_role("button", name="Next: Draft email").click()
    expect(page.get_by_text("Draft email message to owner@newreseller.example.")).to_be_visible()
    watch.check()

    watch.visit(reverse("customers:list", kwargs=org))
    page.get_by_role("button", name="Show details of Adatum Corp").click()  # htmx GET + swap
    expect(page.locator(f"#customer-{data.customer.pk}-details")).to_be_visible()
    watch.check()
    for name in ("customers:detail", "customers:edit", "customers:reseller", "subscriptions:add"):
        watch.visit(reverse(name, kwargs=customer))
    watch.visit(reverse("subscriptions:detail", kwargs=subscription))
    watch.visit(reverse("subscriptions:cancel", kwargs=subscription))
    watch.visit(reverse("subscriptions:new-customer", kwargs=org))
    fill_customer_details(page)
    page.get_by_role("button", name="Next: Subscriptions").click()
    page.get_by_label("Business Basic").fill("10")
    page.get_by_role("button", name="Next: Review").click()
    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    watch.check()
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Setup info")).to_be_visible()
    watch.check()
    for name in ("account_email", "account_change_password", "mfa_index", "enroll"):
        watch.visit(reverse(name))
    watch.visit(reverse("customers:detail", kwargs={**org, "pk": 999999}), status=404)

    # A reseller admin.
    page.context.clear_cookies()
    log_in(page, live_server.url, world.reseller_admin.email)
    for name in ("dashboard", "partners:provider-list", "customers:list"):
        watch.visit(reverse(name, kwargs={"org_slug": world.reseller.slug}))
    watch.visit(reverse("partnership-link", args=[data.link_token]))

    # Staff in the Django admin: index, a changelist with its filters, a change form.
    page.context.clear_cookies()
    log_in(page, live_server.url, world.staff.email)
    watch.visit(reverse("admin:index"))
    watch.visit(reverse("admin:portal_user_changelist"))
    page.locator("#searchbar").fill("example")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?q=example"))
    watch.check()
    watch.visit(reverse("admin:portal_user_change", args=[world.provider_admin.pk]))
    watch.visit(reverse("admin:partners_organization_changelist"))
    watch.visit(reverse("admin:partners_organization_change", args=[world.provider.pk]))

    watch.assert_clean(at_least=35)
