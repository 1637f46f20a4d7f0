"""Accounts through allauth's real views: sign-up by code, login, logout, password reset and
change, TOTP two-factor with recovery codes, and the failed-login rate limit.

allauth's emails land in the outbox (portal.models.OutboundEmail); one test runs the real
Celery worker to deliver them. Everything else reads the outbox rows directly.
"""

import re
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from portal.emails import personalized
from portal.models import OutboundEmail, User
from tests.factories import (
    PASSWORD,
    UserFactory,
    activate_totp,
    totp_code,
    wait_for,
    wrong_totp_code,
)

NEW_PASSWORD = "violet-lantern-orbit-47"
CODE_RE = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$", re.MULTILINE)
BAD_LOGIN = "The email address and/or password you specified are not correct."


# ------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------
def signup(client, email, password1=NEW_PASSWORD, password2=None, **kwargs):
    data = {"email": email, "password1": password1, "password2": password2 or password1}
    return client.post(reverse("account_signup"), data, **kwargs)


def login(client, email, password=PASSWORD, **kwargs):
    return client.post(reverse("account_login"), {"login": email, "password": password}, **kwargs)


def session_user_id(client) -> str | None:
    return client.session.get("_auth_user_id")


def outbox(to: str, template: str) -> OutboundEmail:
    return OutboundEmail.objects.get(to=to, template=template)


@pytest.fixture
def mfa_user(db):
    """A verified user who turned TOTP on (their own client is left logged in)."""
    user = UserFactory(email="two-factor@example.test")
    client = Client()
    assert login(client, user.email).status_code == 302
    secret, codes = activate_totp(client)
    return user, secret, codes


# ------------------------------------------------------------------------------
# Sign-up
# ------------------------------------------------------------------------------
@pytest.mark.worker
def test_signup_sends_a_code_and_verifying_it_logs_in(client, celery_worker, mailoutbox):
    email = "newcomer@example.test"
    response = signup(client, email)

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    user = User.objects.get(email=email)
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.primary, address.verified) == (email, True, False)
    assert session_user_id(client) is None
    row = outbox(email, "account/email/email_confirmation_signup")

    wait_for(lambda: OutboundEmail.objects.filter(pk=row.pk, status="sent").exists())
    [message] = mailoutbox
    assert message.to == [email]
    assert message.subject.startswith("[Partner Portal] ")
    code = CODE_RE.search(message.body).group()
    # Sent: the row keeps a marker where the code was, and nothing to rebuild it from.
    row.refresh_from_db()
    assert code not in row.body_text and "{code}" in row.body_text
    assert row.sealed_secrets == ""

    wrong = client.post(reverse("account_email_verification_sent"), {"code": "AAAA-AAAA"})
    assert "Incorrect code." in wrong.content.decode()
    address.refresh_from_db()
    assert not address.verified

    response = client.post(reverse("account_email_verification_sent"), {"code": code}, follow=True)
    address.refresh_from_db()
    assert address.verified
    assert session_user_id(client) == str(user.pk)
    assert response.redirect_chain[-1][0] == reverse("enroll")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "password1", "password2", "error"),
    [
        ("not-an-email", NEW_PASSWORD, None, "Enter a valid email address."),
        ("mismatch@example.test", NEW_PASSWORD, "other-" + NEW_PASSWORD, "the same password"),
        ("short@example.test", "Xq7!", None, "This password is too short."),
        ("common@example.test", "password123", None, "This password is too common."),
    ],
    ids=["invalid-email", "mismatched-passwords", "too-short", "too-common"],
)
def test_signup_with_bad_input_explains_why_and_creates_nobody(
    client, email, password1, password2, error
):
    response = signup(client, email, password1, password2)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not User.objects.exists()
    assert not EmailAddress.objects.exists()
    assert not OutboundEmail.objects.exists()


@pytest.mark.django_db
def test_signup_with_a_taken_address_pretends_success_and_warns_the_owner(client):
    owner = UserFactory(email="taken@example.test")

    response = signup(client, "Taken@example.test", follow=True)

    # Same answer as a real sign-up: the code page, with the same message.
    assert response.redirect_chain == [(reverse("account_email_verification_sent"), 302)]
    assert "Confirmation email sent to taken@example.test." in response.content.decode()
    assert User.objects.filter(email__iexact="taken@example.test").count() == 1
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)
    assert session_user_id(client) is None
    warning = outbox("taken@example.test", "account/email/account_already_exists")
    assert reverse("account_reset_password") in warning.body_text


# ------------------------------------------------------------------------------
# Login and logout
# ------------------------------------------------------------------------------
def test_login_with_the_right_password_lands_on_the_users_dashboard(client, world):
    response = login(client, world.provider_admin.email, follow=True)

    assert session_user_id(client) == str(world.provider_admin.pk)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == world.provider.get_absolute_url()


def test_login_with_a_wrong_password_is_refused(client, world):
    response = login(client, world.provider_admin.email, password="wrong-" + PASSWORD)

    assert response.status_code == 200
    assert BAD_LOGIN in response.content.decode()
    assert session_user_id(client) is None


@pytest.mark.django_db
def test_login_with_an_unverified_address_sends_a_code_instead_of_a_session(client):
    user = UserFactory(email="unverified@example.test", verified=False)
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)

    response = login(client, user.email)

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert session_user_id(client) is None
    [row] = OutboundEmail.objects.filter(to=user.email)
    assert row.template.startswith("account/email/email_confirmation")
    assert not CODE_RE.search(row.body_text)  # queued: the code is sealed...
    assert CODE_RE.search(personalized(row).text)  # ...and goes out with the message
    assert not EmailAddress.objects.get(user=user).verified


def test_logout_by_post_ends_the_session(client, world):
    login(client, world.provider_admin.email)
    dashboard = world.provider.get_absolute_url()

    client.get(reverse("account_logout"))  # GET only asks for confirmation
    assert session_user_id(client) == str(world.provider_admin.pk)

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert session_user_id(client) is None
    assert client.get(dashboard).url.startswith(reverse("account_login"))


# ------------------------------------------------------------------------------
# Password reset and change
# ------------------------------------------------------------------------------
def test_password_reset_answers_unknown_addresses_exactly_like_known_ones(client, world):
    known = client.post(reverse("account_reset_password"), {"email": world.no_org_user.email})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.test"})

    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url == reverse("account_reset_password_done")
    link = outbox(world.no_org_user.email, "account/email/password_reset_key")
    assert "/accounts/password/reset/key/" not in link.body_text
    assert "/accounts/password/reset/key/" in personalized(link).text
    # allauth tells the unknown address's owner that no account exists; nobody is created.
    notice = outbox("nobody@example.test", "account/email/unknown_account")
    assert "/accounts/password/reset/key/" not in notice.body_text
    assert not User.objects.filter(email="nobody@example.test").exists()


def test_password_reset_link_sets_a_new_password_that_logs_in(client, world):
    user = world.no_org_user
    client.post(reverse("account_reset_password"), {"email": user.email})
    body = personalized(outbox(user.email, "account/email/password_reset_key")).text
    link = urlparse(re.search(r"https?://\S+/password/reset/key/\S+/", body).group()).path

    response = client.get(link)  # the key moves into the session, out of the URL
    assert response.status_code == 302
    assert response.url.endswith("-set-password/")
    response = client.post(response.url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert response.status_code == 302
    assert session_user_id(client) == str(user.pk)  # ACCOUNT_LOGIN_ON_PASSWORD_RESET
    fresh = Client()
    assert login(fresh, user.email, NEW_PASSWORD).status_code == 302
    assert session_user_id(fresh) == str(user.pk)
    assert BAD_LOGIN in login(Client(), user.email, PASSWORD).content.decode()
    assert Client().get(link).context["token_fail"]  # the link is single-use


def test_password_change_replaces_the_old_password(client, world):
    user = world.provider_admin
    login(client, user.email)
    url = reverse("account_change_password")

    refused = client.post(
        url, {"oldpassword": "wrong", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert "Please type your current password." in refused.content.decode()
    response = client.post(
        url, {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert session_user_id(client) == str(user.pk)  # still signed in here
    assert client.get(reverse("home")).url == world.provider.get_absolute_url()
    assert BAD_LOGIN in login(Client(), user.email, PASSWORD).content.decode()
    fresh = Client()
    assert login(fresh, user.email, NEW_PASSWORD).status_code == 302
    assert session_user_id(fresh) == str(user.pk)


# ------------------------------------------------------------------------------
# Two-factor (TOTP + recovery codes)
# ------------------------------------------------------------------------------
def test_activating_totp_also_creates_recovery_codes(mfa_user):
    user, _secret, codes = mfa_user

    types = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    assert types == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
    assert len(codes) == 10
    assert all(re.fullmatch(r"[0-9]{8}", code) for code in codes)


def test_login_with_totp_needs_a_correct_code(client, mfa_user):
    user, secret, _codes = mfa_user

    response = login(client, user.email)
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    assert session_user_id(client) is None

    refused = client.post(reverse("mfa_authenticate"), {"code": wrong_totp_code(secret)})
    assert refused.status_code == 200
    assert "Incorrect code." in refused.content.decode()
    assert session_user_id(client) is None

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)}, follow=True)
    assert session_user_id(client) == str(user.pk)
    assert response.redirect_chain[-1][0] == reverse("enroll")


def test_a_recovery_code_replaces_the_totp_code_once(client, mfa_user):
    user, _secret, codes = mfa_user

    login(client, user.email)
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert response.status_code == 302
    assert session_user_id(client) == str(user.pk)

    again = Client()
    login(again, user.email)
    refused = again.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert "Incorrect code." in refused.content.decode()
    assert session_user_id(again) is None
    rc = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    assert rc.wrap().get_unused_codes() == codes[1:]


# ------------------------------------------------------------------------------
# Rate limits
# ------------------------------------------------------------------------------
@pytest.fixture
def login_rate_limits(settings):
    cache.clear()
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "3/m/ip,3/300s/key"}
    yield
    cache.clear()


@pytest.mark.usefixtures("login_rate_limits")
def test_repeated_wrong_passwords_lock_the_login_even_for_the_right_one(client, world):
    email = world.provider_admin.email
    for _ in range(3):
        assert BAD_LOGIN in login(client, email, password="wrong-" + PASSWORD).content.decode()

    response = login(client, email)

    assert response.status_code == 200
    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert session_user_id(client) is None
