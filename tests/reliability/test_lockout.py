"""Issue 14, finding 6 ("Account lockout"): anyone can lock an account by failing its
password (allauth's login_failed limit, "5/300s/key", which stays). Its owner gets in
anyway with a one-time code emailed to the address, and TOTP is still asked when on.

allauth's real views, the limits counted in the real Redis (tests/reliability/_abuse.py),
the code read from the outbox row the portal queued.
"""

import html

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import OutboundEmail
from tests.factories import PASSWORD, UserFactory, activate_totp, totp_code, wrong_totp_code
from tests.reliability._mailbox import emailed_code
from tests.reliability._tokens import logged_in_as, login

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed login attempts. Try again later."
OFFER = "Sign in with a code sent to your email instead."


def lock_out(email: str):
    """What an anonymous stranger can do: fail the password until allauth refuses."""
    for attempt in range(6):
        response = login(Client(), email, f"wrong-{attempt}")
    return response


def sign_in_by_code(client, email: str, page: str):
    """Follow the link the locked-out alert offers, ask for a code, type it back."""
    href = html.unescape(page.split(OFFER)[0].rsplit('href="', 1)[1].split('"', 1)[0])
    assert href.startswith(reverse("account_request_login_code"))
    assert client.get(href).status_code == 200
    response = client.post(href, {"email": email})
    assert response["Location"] == reverse("account_confirm_login_code")
    return client.post(reverse("account_confirm_login_code"), {"code": emailed_code(email)})


def test_a_locked_out_user_signs_in_with_the_emailed_code(world, rate_limits_on):
    email = world.reseller_admin.email
    locked = lock_out(email)
    page = html.unescape(locked.content.decode())
    assert LOCKED in page and OFFER in page  # the alert offers the way in
    client = Client()
    refused = login(client, email, PASSWORD)  # even the right password, for 5 minutes
    assert LOCKED in refused.content.decode() and logged_in_as(client) is None

    response = sign_in_by_code(client, email, html.unescape(refused.content.decode()))
    assert response.status_code == 302
    assert logged_in_as(client) == str(world.reseller_admin.pk)
    assert client.get(reverse("account_email")).status_code == 200
    # allauth's limit stays: the password is still refused until it expires.
    assert LOCKED in login(Client(), email, PASSWORD).content.decode()
    mail = OutboundEmail.objects.filter(to=email).latest("pk")
    assert mail.template == "account/email/login_code"


def test_a_wrong_code_does_not_sign_in_and_the_code_works_once(world, rate_limits_on):
    email = world.reseller_admin.email
    page = html.unescape(lock_out(email).content.decode())
    client = Client()
    href = html.unescape(page.split(OFFER)[0].rsplit('href="', 1)[1].split('"', 1)[0])
    client.post(href, {"email": email})
    wrong = client.post(reverse("account_confirm_login_code"), {"code": "AAAA-AAAA"})
    assert wrong.status_code == 200 and logged_in_as(client) is None
    code = emailed_code(email)
    assert client.post(reverse("account_confirm_login_code"), {"code": code}).status_code == 302
    assert logged_in_as(client) == str(world.reseller_admin.pk)
    replay = Client()
    replay.post(href, {"email": email})
    replay.post(reverse("account_confirm_login_code"), {"code": code})
    assert logged_in_as(replay) is None  # a new request got a new code; the old one is spent


def test_a_locked_out_totp_user_still_needs_totp_after_the_emailed_code(rate_limits_on):
    user = UserFactory(email="two-factor@example.test")
    own = Client()
    assert login(own, user.email).status_code == 302
    secret, _codes = activate_totp(own)

    page = html.unescape(lock_out(user.email).content.decode())
    assert OFFER in page
    client = Client()
    response = sign_in_by_code(client, user.email, page)
    assert response["Location"] == reverse("mfa_authenticate")
    assert logged_in_as(client) is None  # the code alone is not enough
    wrong = client.post(reverse("mfa_authenticate"), {"code": wrong_totp_code(secret)})
    assert "Incorrect code." in wrong.content.decode() and logged_in_as(client) is None
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert logged_in_as(client) == str(user.pk)


def test_the_login_page_offers_the_code_only_when_locked_out(world, rate_limits_on):
    wrong = login(Client(), world.reseller_admin.email, "wrong")
    assert "are not correct" in wrong.content.decode()
    assert OFFER not in wrong.content.decode()
