"""WCAG 2.2 AA: every page, for every role that can see it, passes axe-core with no serious
or critical violation.

axe-core comes from npm (package.json; `make test` runs `npm ci` when it is missing). It is
evaluated through the DevTools protocol, which the site's strict CSP does not apply to.
One test per role; each logs in once through the real login form and sweeps its pages,
then fails with every blocking violation of every page at once.
"""

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.factories import fill_customer_details, log_in

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}
VIEWPORTS = {"desktop": {"width": 1280, "height": 720}, "phone": {"width": 375, "height": 800}}
# Violations whose fix belongs to a file this suite's owners don't edit: (rule id, CSS
# selector of the element, why). They are printed, not failed; drop an entry once fixed.
# Empty: the account menu's label mismatch was fixed in templates/components/user_menu.html.
KNOWN_ELSEWHERE: list[tuple[str, str, str]] = []
RUN_AXE = """
async ([tags, known]) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
  });
  const exempt = (id, target) => known.some(([rule, selector]) => {
    if (rule !== id || target.length !== 1) return false;
    const element = document.querySelector(target[0]);
    return element !== null && element.matches(selector);
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.filter(n => !exempt(v.id, n.target)).map(n => n.target.join(" ")),
    known: v.nodes.filter(n => exempt(v.id, n.target)).map(n => n.target.join(" ")),
  }));
}
"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(
            f"{AXE_JS} is missing: run `npm ci` in the project root (make test does it for you)."
        )
    return AXE_JS.read_text(encoding="utf-8")


@dataclass
class Sweep:
    """Runs axe on pages of one browser page and collects blocking violations."""

    page: Page
    base: str
    source: str
    role: str
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    known_seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        # No animations or transitions: a menu fading in, or a button's colour easing to
        # its hover state, must not be measured half-way.
        self.page.emulate_media(reduced_motion="reduce")

    def visit(self, label: str, path: str, status: int = 200) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None
        assert response.status == status, f"{label}: {path} answered {response.status}"
        self.check(label)

    def check(self, label: str) -> None:
        """Run axe on the page as it is now, at a desktop width and again at a phone's
        (the narrow layout hides, stacks and scrolls things differently)."""
        self.page.wait_for_load_state("load")
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.evaluate(self.source)
        known = [[rule, selector] for rule, selector, _why in KNOWN_ELSEWHERE]
        self.checked.append(label)
        for width, size in VIEWPORTS.items():
            self.page.set_viewport_size(size)
            for v in self.page.evaluate(RUN_AXE, [WCAG_TAGS, known]):
                if v["known"] and v["id"] not in self.known_seen:
                    self.known_seen.add(v["id"])
                    warnings.warn(
                        f"known, fixed elsewhere: [{self.role}] {label}: {v['id']} {v['known']}",
                        stacklevel=1,
                    )
                if v["impact"] not in BLOCKING or not v["targets"]:
                    continue
                targets = "\n      ".join(v["targets"][:10])
                more = f" (+{len(v['targets']) - 10} more)" if len(v["targets"]) > 10 else ""
                self.problems.append(
                    f"[{self.role}] {label}, {width} ({self.page.url})\n"
                    f"  {v['id']} ({v['impact']}): {v['help']}{more}\n      {targets}"
                )
        self.page.set_viewport_size(VIEWPORTS["desktop"])

    def assert_clean(self) -> None:
        assert self.checked
        assert not self.problems, (
            f"{len(self.problems)} serious/critical axe violation(s):\n\n"
            + "\n\n".join(self.problems)
        )


def test_anonymous_pages(live_server, page: Page, data, axe_source):
    sweep = Sweep(page, live_server.url, axe_source, "anonymous")
    sweep.visit("Landing", reverse("home"))
    sweep.visit("Log in", reverse("account_login"))
    sweep.visit("Sign up", reverse("account_signup"))
    sweep.visit("Password reset", reverse("account_reset_password"))
    sweep.visit("Partnership link (valid)", reverse("partnership-link", args=[data.link_token]))
    sweep.visit(
        "Partnership link (invalid)",
        reverse("partnership-link", args=["not-a-real-token"]),
        status=404,
    )
    sweep.visit("Team invitation", reverse("team-invitation", args=[data.invitation_token]))
    sweep.visit("Not found", "/no-such-page/", status=404)
    # A form sent back with errors.
    page.goto(live_server.url + reverse("account_login"))
    page.get_by_label("Email").fill("nobody@example.test")
    page.get_by_label("Password").fill("wrong-password-1")
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator(".form-errors, .errorlist").first).to_be_visible()
    sweep.check("Log in (with errors)")
    # Signing in with an emailed code (what a locked-out user is offered).
    sweep.visit("Send me a sign-in code", reverse("account_request_login_code"))
    page.get_by_label("Email").fill("nobody@example.test")
    page.get_by_role("button", name="Request Code").click()
    expect(page.get_by_role("heading", name="Enter Sign-In Code")).to_be_visible()
    sweep.check("Enter sign-in code")
    sweep.assert_clean()


def test_provider_admin_pages(live_server, page: Page, world, data, axe_source):
    sweep = Sweep(page, live_server.url, axe_source, "provider admin")
    log_in(page, live_server.url, world.provider_admin.email)
    org = {"org_slug": world.provider.slug}
    customer = {**org, "pk": data.customer.pk}
    subscription = {**org, "pk": data.subscription.pk}

    sweep.visit("Dashboard", reverse("dashboard", kwargs=org))
    page.get_by_text("Show the chart's data as a table").click()
    sweep.check("Dashboard (chart's data table open)")
    sweep.visit("Indirect resellers", reverse("partners:reseller-list", kwargs=org))
    sweep.visit("Request a partnership", reverse("partners:request-create", kwargs=org))
    page.get_by_label("Reseller's email address").fill("not an email")
    page.get_by_role("button", name="Next: Draft email").click()
    expect(page.locator(".errorlist").first).to_be_visible()
    sweep.check("Request a partnership (with errors)")
    page.get_by_label("Reseller's email address").fill("owner@newreseller.example")
    page.get_by_role("button", name="Next: Draft email").click()
    expect(page.get_by_text("Draft email message to owner@newreseller.example.")).to_be_visible()
    sweep.check("Request a partnership: draft")

    sweep.visit("Customers", reverse("customers:list", kwargs=org))
    # The sort order is announced; the sort arrows stay out of the header's name.
    expect(page.get_by_role("columnheader", name="Company name", exact=True)).to_have_attribute(
        "aria-sort", "ascending"
    )
    expect(page.get_by_role("columnheader", name="Details", exact=True)).to_be_attached()
    details_id = f"customer-{data.customer.pk}-details"
    toggle = page.get_by_role("button", name="Show details of Adatum Corp")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_attribute("aria-controls", details_id)
    toggle.click()
    expect(page.locator(f"#{details_id}")).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    sweep.check("Customers (row expanded)")
    sweep.visit("Customer row (no JavaScript)", reverse("customers:row", kwargs=customer))
    sweep.visit("Customer detail", reverse("customers:detail", kwargs=customer))
    sweep.visit("Customer edit", reverse("customers:edit", kwargs=customer))
    sweep.visit("Reseller relationship", reverse("customers:reseller", kwargs=customer))
    sweep.visit("Remove reseller", reverse("customers:reseller-remove", kwargs=customer))

    sweep.visit("New customer: details", reverse("subscriptions:new-customer", kwargs=org))
    current_step = page.get_by_role("list", name="Steps").locator("[aria-current=step]")
    expect(current_step).to_have_text("Customer details")
    page.get_by_role("button", name="Next: Subscriptions").click()
    expect(page.locator(".errorlist").first).to_be_visible()
    sweep.check("New customer: details (with errors)")
    fill_customer_details(page)
    page.get_by_role("button", name="Next: Subscriptions").click()
    expect(page.get_by_role("heading", name="New subscription")).to_be_visible()
    sweep.check("New customer: subscriptions")
    page.get_by_label("Business Basic").fill("10")
    expect(current_step).to_have_text("New subscription")
    page.get_by_role("button", name="Next: Review").click()
    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    expect(current_step).to_have_text("Review")
    sweep.check("New customer: review")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Setup info")).to_be_visible()
    sweep.check("Setup info")

    sweep.visit("Subscription detail", reverse("subscriptions:detail", kwargs=subscription))
    sweep.visit("New subscription", reverse("subscriptions:add", kwargs=customer))
    page.get_by_label("Associate with reseller (incentive credit)").select_option("")
    page.get_by_label("Teams Essentials").fill("2")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".form-field--error").first).to_be_visible()
    sweep.check("New subscription (confirmation needed)")
    sweep.visit("Cancel subscription", reverse("subscriptions:cancel", kwargs=subscription))
    sweep.visit("Subscriptions", reverse("subscriptions:list", kwargs=org))
    sweep.visit("Activity", reverse("activity", kwargs=org))
    sweep.visit("Users", reverse("team:list", kwargs=org))
    sweep.visit("Invite user", reverse("team:invite", kwargs=org))
    sweep.visit(
        "End partnership",
        reverse("partners:partnership-end", kwargs={**org, "pk": data.partnership.pk}),
    )
    sweep.visit("Email addresses", reverse("account_email"))
    sweep.visit("Change password", reverse("account_change_password"))
    sweep.visit("Two-factor authentication", reverse("mfa_index"))
    sweep.visit("Enroll a reseller company", reverse("enroll"))
    sweep.visit(
        "Not found (logged in)", reverse("customers:detail", kwargs={**org, "pk": 999999}), 404
    )
    sweep.visit("Dashboard (menus)", reverse("dashboard", kwargs=org))
    page.locator("details.user-menu summary").click()
    sweep.check("Account menu open")
    page.keyboard.press("Escape")
    page.locator("details.org-switcher summary").click()
    sweep.check("Organization switcher open")
    sweep.assert_clean()


def test_reseller_admin_pages(live_server, page: Page, world, data, axe_source):
    sweep = Sweep(page, live_server.url, axe_source, "reseller admin")
    log_in(page, live_server.url, world.reseller_admin.email)
    org = {"org_slug": world.reseller.slug}
    customer = {**org, "pk": data.customer.pk}

    sweep.visit("Dashboard", reverse("dashboard", kwargs=org))
    page.get_by_text("Show the chart's data as a table").click()
    sweep.check("Dashboard (chart's data table open)")
    sweep.visit("Indirect providers", reverse("partners:provider-list", kwargs=org))
    expect(page.get_by_role("region", name="Partnership requests")).to_contain_text(
        world.other_provider.name
    )
    sweep.visit("Customers", reverse("customers:list", kwargs=org))
    page.get_by_role("button", name="Show details of Adatum Corp").click()
    expect(page.locator(f"#customer-{data.customer.pk}-details")).to_be_visible()
    sweep.check("Customers (row expanded)")
    sweep.visit("Customer detail", reverse("customers:detail", kwargs=customer))
    sweep.visit("Customer edit", reverse("customers:edit", kwargs=customer))
    sweep.visit("Subscriptions", reverse("subscriptions:list", kwargs=org))
    sweep.visit(
        "Subscription detail",
        reverse("subscriptions:detail", kwargs={**org, "pk": data.subscription.pk}),
    )
    sweep.visit("Activity", reverse("activity", kwargs=org))
    sweep.visit("Users", reverse("team:list", kwargs=org))
    sweep.visit("Partnership link (signed in)", reverse("partnership-link", args=[data.link_token]))
    sweep.assert_clean()


@pytest.mark.parametrize("role", ["sales agent", "support agent"])
def test_provider_agent_pages(live_server, page: Page, world, data, axe_source, role):
    """The agents' pages show fewer controls; sweep every page their sidebar offers."""
    user = world.provider_sales if role == "sales agent" else world.provider_support
    sweep = Sweep(page, live_server.url, axe_source, f"provider {role}")
    log_in(page, live_server.url, user.email)
    org = {"org_slug": world.provider.slug}
    sidebar = page.get_by_role("navigation", name="Dashboard").get_by_role("link")
    links = [(link.inner_text(), link.get_attribute("href")) for link in sidebar.all()]
    assert len(links) >= 3, links
    for name, href in links:
        sweep.visit(name, href)
    sweep.visit(
        "Customer detail", reverse("customers:detail", kwargs={**org, "pk": data.customer.pk})
    )
    sweep.visit(
        "Subscription detail",
        reverse("subscriptions:detail", kwargs={**org, "pk": data.subscription.pk}),
    )
    sweep.assert_clean()


def test_customer_admin_pages(live_server, page: Page, world, axe_source):
    sweep = Sweep(page, live_server.url, axe_source, "customer admin")
    log_in(page, live_server.url, world.customer_admin.email)
    sweep.visit("Customer area", reverse("customer-home"))
    sweep.assert_clean()


# Every colour variant of the design system's components, rendered by the real stylesheet
# inside the real layout: not every state shows up on a sweep (a failed email, an expired
# request, an error message), but each must meet the contrast minimums.
BADGES = ["accepted", "admin", "danger", "declined", "expired", "failed", "info", "muted"]
BADGES += ["pending", "provider", "queued", "reseller", "revoked", "sent", "success", "warning"]
MESSAGES = ["debug", "info", "success", "warning", "error"]
BUTTONS = ["primary", "secondary", "danger", "link"]


def gallery() -> str:
    badges = " ".join(f'<span class="badge badge--{k}">{k}</span>' for k in BADGES)
    messages = "".join(f'<p class="message message--{k}">{k} message</p>' for k in MESSAGES)
    buttons = "".join(f'<a class="btn btn--{k}" href="#g">{k}</a>' for k in BUTTONS)
    return f"""
<section class="section card" aria-label="Gallery">
  <p>{badges}</p>
  <div class="messages">{messages}</div>
  <div class="notice"><p>Notice</p></div>
  <div class="notice notice--warning"><p>Warning</p></div>
  <div class="button-row">{buttons}</div>
  <div class="form-field form-field--error"><label for="g-in">Field</label>
    <input id="g-in" aria-describedby="g-help"><ul class="errorlist"><li>Error</li></ul>
    <div class="helptext" id="g-help">Help</div></div>
  <div class="form-errors"><p>Form error</p></div>
  <nav class="breadcrumbs" aria-label="Trail"><a href="#g">Up</a> / <span>Here</span></nav>
  <p class="muted">Muted</p>
  <div class="stat"><span class="stat__value">3</span><span class="stat__label">Users</span></div>
  <div class="table-wrap" tabindex="0"><table class="table">
    <thead><tr><th scope="col">Head</th></tr></thead>
    <tbody><tr><td>Cell <small class="muted">small</small></td></tr>
    <tr><td class="table__empty">Empty</td></tr></tbody></table></div>
  <div class="empty-state"><h2>Empty</h2><p>Nothing here</p></div>
</section>"""


def test_every_component_colour_meets_contrast(live_server, page: Page, axe_source):
    sweep = Sweep(page, live_server.url, axe_source, "design system")
    page.goto(live_server.url + reverse("home"))
    page.evaluate(
        "html => document.querySelector('main').insertAdjacentHTML('beforeend', html)", gallery()
    )
    sweep.check("Component gallery")
    sweep.assert_clean()
