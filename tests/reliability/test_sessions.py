"""Sessions and two-factor (issue 7): the session key rotates at login, sessions expire, a
password change or reset signs out every other session, and every role can turn on TOTP
through allauth's pages and is then asked for it at login.

All through allauth's real views and Django's database sessions; TOTP codes are computed
from the secret allauth keeps in the session, as an authenticator app would.
"""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.emails import personalized
from portal.models import OutboundEmail
from tests.factories import PASSWORD, totp_code, wrong_totp_code
from tests.reliability._tokens import (
    BAD_LOGIN,
    NEW_PASSWORD,
    change_password,
    invite_member_via_view,
    logged_in_as,
    login,
    new_customer_admin,
    path_of,
)

pytestmark = pytest.mark.django_db


def signed_out(client) -> bool:
    """The next request is anonymous: an organization page sends to the login page."""
    response = client.get(reverse("enroll"))
    return response.status_code == 302 and urlparse(response["Location"]).path == reverse(
        "account_login"
    )


# ------------------------------------------------------------------------------
# Rotation and expiry
# ------------------------------------------------------------------------------
def test_the_session_key_rotates_at_login_and_keeps_what_the_visitor_opened(world, client_for):
    """Session fixation: the key a visitor had before logging in is dead afterwards."""
    link, _ = invite_member_via_view(
        client_for(world.provider_admin), world.provider, world.no_org_user.email
    )
    client = Client()
    client.get(path_of(link))  # an anonymous session holding the invitation
    before = client.session.session_key
    assert before and Session.objects.filter(session_key=before).exists()

    assert login(client, world.no_org_user.email).status_code == 302

    after = client.session.session_key
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert logged_in_as(client) == str(world.no_org_user.pk)
    # The invitation opened before login is still there to accept.
    assert client.get(reverse("team-invitation-accept")).status_code == 200
    stolen = Client()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = before
    assert signed_out(stolen)


def test_sessions_last_fourteen_days_with_remember_me_else_the_browser_session(world):
    assert settings.SESSION_COOKIE_AGE == 14 * 24 * 3600
    email = world.provider_admin.email

    remembered = Client()
    assert login(remembered, email, remember="on").status_code == 302
    cookie = remembered.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE
    row = Session.objects.get(session_key=cookie.value)
    assert abs(row.expire_date - (timezone.now() + timedelta(days=14))) < timedelta(minutes=1)

    browser = Client()
    assert login(browser, email).status_code == 302
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == "" and cookie["expires"] == ""  # gone when the browser closes
    assert browser.session.get_expire_at_browser_close()
    # The row itself still expires: no session lives longer than SESSION_COOKIE_AGE.
    row = Session.objects.get(session_key=cookie.value)
    assert row.expire_date <= timezone.now() + timedelta(days=14)

    # A session past its expiry date is refused even though the browser still sends it.
    Session.objects.filter(session_key=cookie.value).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert signed_out(browser)
    assert not signed_out(remembered)


# ------------------------------------------------------------------------------
# Password change and reset sign out the other sessions
# ------------------------------------------------------------------------------
def test_a_password_change_signs_out_every_other_session_and_keeps_this_one(world):
    user = world.provider_admin
    here, laptop, phone = Client(), Client(), Client()
    for client in (here, laptop, phone):
        assert login(client, user.email).status_code == 302

    assert change_password(here, PASSWORD).status_code == 302

    # allauth keeps the changing session (ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE is False and
    # it calls update_session_auth_hash); Django drops the others on their next request
    # because their stored password hash no longer matches.
    assert not signed_out(here)
    assert signed_out(laptop) and signed_out(phone)
    assert logged_in_as(laptop) is None


def test_a_password_reset_signs_out_every_session_of_the_account(world):
    user = world.no_org_user
    signed_in = Client()
    assert login(signed_in, user.email).status_code == 302
    resetting = Client()
    resetting.post(reverse("account_reset_password"), {"email": user.email})
    body = OutboundEmail.objects.get(to=user.email, template="account/email/password_reset_key")
    key_url = re.search(r"https?://\S+/password/reset/key/\S+/", personalized(body).text).group()
    response = resetting.get(urlparse(key_url).path)
    response = resetting.post(
        response["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302

    assert signed_out(signed_in)
    # ACCOUNT_LOGIN_ON_PASSWORD_RESET: the person who reset it is signed in, afresh.
    assert logged_in_as(resetting) == str(user.pk)


def test_replacing_a_temporary_password_signs_out_the_other_sessions(world):
    admin, temporary = new_customer_admin(world)
    here, elsewhere = Client(), Client()
    for client in (here, elsewhere):
        assert login(client, admin.email, temporary).status_code == 302

    assert change_password(here, temporary).status_code == 302

    assert here.get(reverse("customer-home")).status_code == 200
    assert elsewhere.get(reverse("customer-home")).status_code == 302
    assert logged_in_as(elsewhere) is None
    assert BAD_LOGIN in login(Client(), admin.email, temporary).content.decode()


# ------------------------------------------------------------------------------
# Two-factor for every role
# ------------------------------------------------------------------------------
def activate_totp(client, password: str) -> str:
    """Turn TOTP on through allauth's pages (re-entering the password if asked)."""
    url = reverse("mfa_activate_totp")
    response = client.get(url)
    if response.status_code == 302:
        assert urlparse(response["Location"]).path == reverse("account_reauthenticate")
        assert client.post(response["Location"], {"password": password})["Location"] == url
        response = client.get(url)
    assert response.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    refused = client.post(url, {"code": wrong_totp_code(secret)})
    assert "Incorrect code." in refused.content.decode()
    done = client.post(url, {"code": totp_code(secret)})
    assert done.status_code == 302, done.content.decode()[:2000]
    return secret


ROLES = [
    "provider_admin",
    "provider_sales",
    "provider_support",
    "reseller_admin",
    "customer_admin",
    "staff",
]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_turns_on_two_factor_and_is_asked_for_it_at_login(role, world):
    user, password = getattr(world, role), PASSWORD
    if role == "customer_admin":
        # A new customer's admin: the forced password change comes first.
        user, temporary = new_customer_admin(world)
        client = Client()
        assert login(client, user.email, temporary).status_code == 302
        blocked = client.get(reverse("mfa_activate_totp"))
        assert blocked["Location"] == reverse("account_change_password")
        assert change_password(client, temporary).status_code == 302
        password = NEW_PASSWORD
    else:
        client = Client()
        assert login(client, user.email).status_code == 302

    secret = activate_totp(client, password)
    types = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    assert types == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}

    fresh = Client()
    response = login(fresh, user.email, password)
    assert response["Location"] == reverse("mfa_authenticate")
    assert logged_in_as(fresh) is None
    # Nothing of the portal opens before the code, and the stage itself is not blocked.
    assert signed_out(fresh)
    refused = fresh.post(reverse("mfa_authenticate"), {"code": wrong_totp_code(secret)})
    assert refused.status_code == 200 and "Incorrect code." in refused.content.decode()
    assert logged_in_as(fresh) is None
    accepted = fresh.post(reverse("mfa_authenticate"), {"code": totp_code(secret)}, follow=True)
    assert logged_in_as(fresh) == str(user.pk)
    assert accepted.status_code == 200
    landing = accepted.redirect_chain[-1][0]
    expected = {
        "provider_admin": world.provider.get_absolute_url(),
        "provider_sales": world.provider.get_absolute_url(),
        "provider_support": world.provider.get_absolute_url(),
        "reseller_admin": world.reseller.get_absolute_url(),
        "customer_admin": reverse("customer-home"),
        "staff": reverse("admin:index"),
    }[role]
    assert landing == expected
