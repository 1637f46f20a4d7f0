"""Helpers for the proof-of-mailbox tests (issue 14, finding 1): read allauth's emailed
code, and sign up through a link the way a browser does."""

import re

from django.urls import reverse

from portal.emails import personalized
from portal.models import OutboundEmail
from portal.scoping import unscoped
from tests.factories import PASSWORD

CODE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b")  # allauth's code format, e.g. WRHM-BXRS


def emailed_code(to: str) -> str:
    """The code in the newest queued mail to `to` that holds one (there must be one). The
    row holds only a marker; personalized() puts the sealed code back as the worker does.
    Only for tests with no worker running: a sent row's sealed code is wiped."""
    with unscoped("reading the outbox"):
        rows = list(OutboundEmail.objects.filter(to=to).order_by("-pk")[:5])
    for row in rows:
        match = CODE.search(personalized(row).text)
        if match:
            return match.group(0)
    raise AssertionError(f"no queued mail to {to} holds a code")


def sign_up(client, email: str, next_url: str):
    """Post allauth's sign-up form as the link page's "Sign up" button leads to it."""
    return client.post(
        f"{reverse('account_signup')}?next={next_url}",
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def enter_code(client, code: str):
    """Type the emailed code on allauth's "confirm your address" page."""
    return client.post(reverse("account_email_verification_sent"), {"code": code})
