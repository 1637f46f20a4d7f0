"""Helpers for the token, temporary-password, session and two-factor tests (RELIABILITY.md §2).

`where_is(secret)` is the at-rest scanner: every text-like column of every table in the
database (one UNION query built from information_schema), plus every session row decoded.
"""

import datetime
import re
import threading
import uuid

from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.urls import reverse

from customers.services import create_customer
from partners.models import AuditEvent, Membership, Partnership, PartnershipRequest, TeamInvitation
from portal.scoping import unscoped
from tests.factories import PASSWORD

TEXT_TYPES = ("character varying", "character", "text", "json", "jsonb")
PARTNERSHIP_LINK = re.compile(r"http://\S+/partnerships/([A-Za-z0-9_-]+)/")
TEAM_LINK = re.compile(r"http://\S+/team-invitations/([A-Za-z0-9_-]+)/")
NEW_PASSWORD = "violet-lantern-orbit-47"
BAD_LOGIN = "The email address and/or password you specified are not correct."


# ------------------------------------------------------------------------------
# At-rest scanning
# ------------------------------------------------------------------------------
def text_columns() -> list[tuple[str, str]]:
    """(table, column) of every char/text/json column of every table in the schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name
            FROM information_schema.columns c
            JOIN information_schema.tables t
              ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
              AND c.data_type = ANY(%s)
            ORDER BY 1, 2
            """,
            [list(TEXT_TYPES)],
        )
        return cursor.fetchall()


def db_hits(secret: str) -> list[str]:
    """Every table.column whose value contains `secret` anywhere (strpos: no wildcards)."""
    qn = connection.ops.quote_name
    # Names come from information_schema and are quoted; the secret is a parameter.
    parts = [
        f"SELECT '{table}.{column}' FROM {qn(table)} WHERE strpos({qn(column)}::text, %s) > 0"  # noqa: S608
        for table, column in text_columns()
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), [secret] * len(parts))
        return [row[0] for row in cursor.fetchall()]


def session_hits(secret: str) -> list[str]:
    """Session rows holding `secret`, raw or once decoded (session_data is base64 JSON)."""
    store = SessionStore()
    return [
        s.session_key
        for s in Session.objects.all()
        if secret in s.session_data or secret in repr(store.decode(s.session_data))
    ]


def where_is(secret: str) -> list[str]:
    return db_hits(secret) + [f"django_session:{key}" for key in session_hits(secret)]


# ------------------------------------------------------------------------------
# Links and counts
# ------------------------------------------------------------------------------
def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def request_partnership_via_view(client, provider, email: str) -> tuple[str, str]:
    """Request a partnership through the real view; returns (link, token) from the draft."""
    url = reverse("partners:request-create", kwargs={"org_slug": provider.slug})
    response = client.post(url, {"email": email, "contact_name": ""})
    assert response.status_code == 200, response.content.decode()[:2000]
    match = PARTNERSHIP_LINK.search(response.content.decode())
    return match.group(0), match.group(1)


def invite_member_via_view(client, org, email: str, role="sales_agent") -> tuple[str, str]:
    """Invite a colleague through the real view; returns (link, token) from the email."""
    from portal.emails import personalized
    from portal.models import OutboundEmail

    url = reverse("team:invite", kwargs={"org_slug": org.slug})
    assert client.post(url, {"email": email, "role": role}).status_code == 302
    # The link as the worker will send it: the queued row holds a marker, the link sealed.
    queued = OutboundEmail.objects.filter(to=email).latest("pk")
    match = TEAM_LINK.search(personalized(queued).text)
    return match.group(0), match.group(1)


def rows() -> dict[str, int]:
    """Row counts of everything accepting a link could write."""
    with unscoped("row counts"):
        return {
            "partnerships": Partnership.objects.count(),
            "memberships": Membership.objects.count(),
            "answered": PartnershipRequest.objects.exclude(state="pending").count(),
            "accepted_invitations": TeamInvitation.objects.exclude(accepted_at=None).count(),
            "activity": AuditEvent.objects.exclude(verb__startswith="login.").count(),
        }


def race(*actions) -> list:
    """Run the callables at the same moment in threads (own DB connections); results in order.

    An exception in a thread is returned in its slot, not raised, so the test can say
    which attempt failed and how.
    """
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait(timeout=10)
            results[index] = action()
        except Exception as exc:  # reported by the caller's assertions
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a racing request hung"
    return results


# ------------------------------------------------------------------------------
# Accounts
# ------------------------------------------------------------------------------
def login(client, email: str, password: str = PASSWORD, **extra):
    return client.post(reverse("account_login"), {"login": email, "password": password, **extra})


def logged_in_as(client) -> str | None:
    return client.session.get("_auth_user_id")


def customer_details(domain: str) -> dict:
    return {
        "company_name": "Adatum Corporation",
        "domain": domain,
        "sign_in_prefix": domain.split(".", 1)[0],
        "country": "US",
        "city": "Redmond",
        "street": "1 Microsoft Way",
        "postal_code": "98052",
        "contact_first_name": "Dana",
        "contact_last_name": "Lee",
        "contact_email": "dana@adatum.example",
        "contact_phone": "+1 425 555 0100",
        "language": "en",
        "agreement_accepted_on": datetime.date(2026, 1, 5),
        "agreement_accepted_by_name": "Dana Lee",
        "agreement_accepted_by_email": "dana@adatum.example",
    }


def new_customer_admin(world, domain="temp-password.example"):
    """A customer created by the real service: its admin account and temporary password."""
    with unscoped("test setup: a new customer"):
        customer, password = create_customer(
            provider=world.provider,
            actor=world.provider_sales,
            reseller=None,
            details=customer_details(domain),
            idempotency_key=uuid.uuid4(),
        )
    return customer.admin_user, password


def change_password(client, old: str, new: str = NEW_PASSWORD):
    return client.post(
        reverse("account_change_password"),
        {"oldpassword": old, "password1": new, "password2": new},
    )


def fresh_client() -> Client:
    return Client()
