"""What only a browser proves for the foundation: real forms, real cookies, CSP, the worker."""

import re

import pytest
from playwright.sync_api import Page, expect

from partners.models import Membership, Organization
from tests.factories import PASSWORD, wait_for


@pytest.fixture
def console_errors(page: Page):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def log_in(page: Page, base: str, email: str, password: str = PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()


def test_provider_logs_in_and_invites_a_colleague(
    live_server, page: Page, world, screenshot, console_errors
):
    page.goto(live_server.url)
    screenshot("landing")
    log_in(page, live_server.url, world.provider_admin.email)
    expect(page.get_by_role("heading", level=1)).to_have_text(world.provider.name)
    expect(page).to_have_title(re.compile(f"Dashboard · {world.provider.name}"))
    screenshot("dashboard")

    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    page.get_by_role("link", name="Invite user").click()
    page.get_by_label("Email address").fill("not an email")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    page.get_by_label("Email address").fill("new.colleague@example.test")
    page.get_by_label("Role").select_option("support_agent")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to new.colleague@example.test.")).to_be_visible()
    expect(page.get_by_role("cell", name="new.colleague@example.test")).to_be_visible()
    screenshot("users")
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors


def test_a_new_reseller_signs_up_verifies_by_code_and_enrolls(
    live_server, page: Page, celery_worker, mailoutbox, screenshot, console_errors
):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Email").fill("owner@adventure.example")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label(re.compile("Password \\(again\\)")).fill(PASSWORD)
    screenshot("signup")
    page.get_by_role("button", name="Sign Up").click()

    wait_for(lambda: len(mailoutbox) == 1)
    code = re.search(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b", mailoutbox[0].body).group(0)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Enroll as an indirect reseller")).to_be_visible()
    page.get_by_label("Company name").fill("Adventure Works IT")
    page.get_by_label("Partner ID").fill("5123456")
    page.get_by_label("Country").select_option("FR")
    page.get_by_role("button", name="Enroll").click()
    expect(page.get_by_text("is enrolled as an indirect reseller")).to_be_visible()
    expect(page.get_by_role("link", name="Indirect providers")).to_be_visible()
    screenshot("enrolled")
    org = Organization.objects.get(partner_id="5123456")
    assert Membership.objects.get(organization=org).user.email == "owner@adventure.example"
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors


def test_the_menus_work_with_the_keyboard(live_server, page: Page, world, screenshot):
    Membership.objects.create(
        user=world.reseller_admin, organization=world.provider, role=Membership.Role.SALES_AGENT
    )
    log_in(page, live_server.url, world.reseller_admin.email)
    switcher = page.locator("details.org-switcher summary")
    switcher.focus()
    page.keyboard.press("Enter")
    link = page.get_by_role("link", name=re.compile(world.provider.name))
    expect(link).to_be_visible()
    screenshot("switcher-open")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(world.provider.name)
