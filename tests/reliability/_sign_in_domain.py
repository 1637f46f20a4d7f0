"""Helpers of the sign-in domain tests (issue 14, finding 2): a customer admin made through
the wizard, what a refused request must not have written, and legacy rows from before the fix.
"""

import html
import re
from types import SimpleNamespace

from django.test import Client
from django.urls import reverse

from partners.models import (
    AuditEvent,
    Membership,
    Organization,
    Partnership,
    PartnershipRequest,
    TeamInvitation,
)
from partners.services import partnerships
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from portal.tokens import new_token
from tests.factories import (
    details,
    lines,
    shown_password,
    submit,
    text,
    to_review,
)

NEW_PASSWORD = "violet-lantern-orbit-47"
NOT_AVAILABLE = "is not available. Choose another sign-in domain."
CUSTOMER_ACCOUNT = "a customer's sign-in account"


def wizard_customer_admin(client_for, provider, sales_user, shop, **changes) -> SimpleNamespace:
    """A customer made by the real wizard; its admin signs in with the account name and
    password Setup info shows, and chooses a password of its own."""
    sales = client_for(sales_user)
    review = to_review(sales, provider, details(**changes), lines((shop.basic, 1)))
    done = submit(sales, provider, review)
    assert done.status_code == 302, text(done)[:2000]
    info = sales.get(done["Location"])
    account = html.unescape(
        re.search(r'id="setup-account">([^<]*)<', info.content.decode()).group(1)
    )
    password = shown_password(info)
    client = Client()
    client.post(reverse("account_login"), {"login": account, "password": password})
    changed = client.post(
        reverse("account_change_password"),
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    with unscoped("the account the wizard made"):
        user = User.objects.get(email__iexact=account)
    return SimpleNamespace(client=client, email=account, user=user)


def written() -> dict:
    """Everything enrolling, joining or answering could write."""
    with unscoped("count what was written"):
        return {
            "organizations": Organization.objects.count(),
            "memberships": Membership.objects.count(),
            "partnerships": Partnership.objects.count(),
            "answered": PartnershipRequest.objects.exclude(state="pending").count(),
            "joined": TeamInvitation.objects.exclude(accepted_at=None).count(),
            "activity": AuditEvent.objects.exclude(verb__startswith="login.").count(),
            "outbox": OutboundEmail.objects.count(),
        }


def legacy_request(provider, email: str) -> tuple[PartnershipRequest, str]:
    """A pending request to `email`, as one made before this release (the portal now
    refuses to make one to a sign-in address)."""
    token, digest = new_token()
    with unscoped("test setup: a request made before this release"):
        request = PartnershipRequest.objects.create(
            provider=provider,
            email=email,
            subject="Partner with us",
            body=f"Hello\n{partnerships.LINK_MARKER}\n",
            token_digest=digest,
            expires_at=PartnershipRequest.default_expiry(),
        )
    return request, token


def legacy_invitation(org, email: str) -> tuple[TeamInvitation, str]:
    token, digest = new_token()
    with unscoped("test setup: an invitation made before this release"):
        invitation = TeamInvitation.objects.create(
            organization=org,
            email=email,
            role=Membership.Role.ADMIN,
            token_digest=digest,
            expires_at=TeamInvitation.default_expiry(),
        )
    return invitation, token


def enroll_data(**changes) -> dict:
    return {
        "name": "Adatum Reselling",
        "partner_id": "4455667",
        "country": "US",
        "contact_email": "dana@adatum.example",
        **changes,
    }


def body(response) -> str:
    return html.unescape(response.content.decode())
