"""What only a browser shows for account lockout (issue 14): the locked-out alert on the
login page offers the emailed sign-in code, and its pages lead into the portal. allauth's
limits are on, counted in the real Redis."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, wait_for
from tests.reliability._abuse import rate_limits_on, redis_cache  # noqa: F401 (fixtures)
from tests.reliability._mailbox import CODE

LOCKED = "Too many failed login attempts. Try again later."


def try_password(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()


def delivered_code(smtp, to: str) -> str | None:
    """The code in the newest mail to `to` that the SMTP server accepted and that holds
    one. Read from the delivered mail, not the outbox: a sent row keeps only a marker (its
    sealed code is wiped once sent), and a running worker may send before the test looks.
    """
    for received in reversed(smtp.messages):
        if to in received.rcpt_tos:
            match = CODE.search(received.message.get_body(("plain",)).get_content())
            if match:
                return match.group(0)
    return None


@pytest.mark.usefixtures("rate_limits_on")
def test_a_locked_out_reseller_follows_the_alert_and_signs_in_with_the_emailed_code(
    live_server, page: Page, world, celery_worker, smtp_settings, screenshot
):
    email = world.reseller_admin.email
    for attempt in range(6):
        try_password(page, live_server.url, email, f"wrong-{attempt}")
    try_password(page, live_server.url, email, PASSWORD)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(LOCKED)
    screenshot("locked-out")

    alert.get_by_role("link", name="Sign in with a code sent to your email instead.").click()
    expect(page.get_by_role("heading", name="Send me a sign-in code")).to_be_visible()
    page.get_by_label("Email").fill(email)
    screenshot("request-code")
    page.get_by_role("button", name="Request Code").click()
    expect(page.get_by_role("heading", name="Enter Sign-In Code")).to_be_visible()
    code = wait_for(lambda: delivered_code(smtp_settings, email))
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    page.get_by_label("Code").fill(code)
    screenshot("enter-code")
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(world.reseller.name)
    screenshot("signed-in")
