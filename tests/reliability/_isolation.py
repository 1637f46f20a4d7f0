"""The T1 world of RELIABILITY.md section 1, with a canary in every name and address.

Providers P1, P2 (and P3, which only sends R1 a request); resellers R1, R2 partnered
with P1, R3 partnered with P2, R4 whose partnership with P1 ended; customers C1 (P1,
delegated to R1), C1b (P1, no reseller) and C2 (P2); their orders and subscriptions;
partnership requests, team invitations, outbox rows and activity entries under each.

Every object carries `CANARY-<label>-<hex>`; a response body containing the hex of a
label the role may not see (VISIBLE below) is a leak. VISIBLE is written out by hand
from the product rules, not computed from `visible_to`, so it can catch a wrong rule.
"""

import datetime
import uuid
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.db.models import Count, Max
from django.test import Client
from django.utils import timezone

from partners.audit import record_event
from partners.models import (
    AuditEvent,
    Membership,
    Organization,
    Partnership,
    PartnershipRequest,
)
from partners.services.team import invite_member
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from portal.tokens import new_token
from subscriptions.models import Order, Subscription
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    OfferFactory,
    ProviderFactory,
    ResellerFactory,
    SubscriptionFactory,
    UserFactory,
)
from tests.routes import OUR_APPS

# Who may see each canary (role names as in T1.users). The reasons are product rules:
VISIBLE: dict[str, set[str]] = {
    # An organization's name: itself, its active partners, and its customers' admins.
    "P1": {"p1", "r1", "r2", "c1"},
    "P2": {"p2", "r3", "c2"},
    "P3": {"r1"},  # sent R1 a partnership request (R1's incoming requests)
    "R1": {"r1", "p1", "c1"},  # C1's reseller and its subscription's support contact
    "R2": {"r2", "p1"},
    "R3": {"r3", "p2"},
    "R4": {"p1"},  # an ended partner of P1: P1's history only
    # People: their own organization; an actor on an entry about a relationship is
    # shown to both sides of it (P1u acted on ACTP1R1, P2u on ACTP2R3).
    "P1u": {"p1", "r1"},
    "P1m": {"p1"},
    "P2u": {"p2", "r3"},
    "R1u": {"r1"},
    "R1m": {"r1"},
    "R2u": {"r2"},
    "R3u": {"r3"},
    "STAFF": {"staff"},  # only in their own user menu
    # Customers: the name goes wherever a visible subscription is listed (R2 is
    # credited for incentives on C1b's subscription); the private details (domain,
    # address, contact and admin emails) only to the provider, the delegated reseller
    # and the customer itself.
    "C1": {"p1", "r1", "c1"},
    "C1p": {"p1", "r1", "c1"},
    "C1b": {"p1", "r2"},
    "C1bp": {"p1"},
    "C2": {"p2", "c2"},
    "C2p": {"p2", "c2"},
    # Partnership requests (and their outbox rows): the provider that sent them; a
    # request addressed to a reseller's user: that reseller too.
    "REQP1": {"p1"},
    "REQP2": {"p2"},
    "REQP3R1": {"r1"},
    "OUTP1": {"p1"},
    "OUTP2": {"p2"},
    # Team invitations: the inviting organization.
    "INVP1": {"p1"},
    "INVP2": {"p2"},
    "INVR1": {"r1"},
    "INVR2": {"r2"},
    "INVR3": {"r3"},
    # Activity: the acting organization and the two sides of the relationship.
    "ACTP1": {"p1"},
    "ACTP1R1": {"p1", "r1"},
    "ACTP2": {"p2"},
    "ACTP2R3": {"p2", "r3"},
    "ACTR2": {"r2"},
}

ROLES = ("anonymous", "p1", "p2", "r1", "r2", "r3", "c1", "c2", "staff")
ORG_OF_ROLE = {"p1": "p1", "p2": "p2", "r1": "r1", "r2": "r2", "r3": "r3"}


@dataclass
class T1:
    orgs: dict[str, Organization]
    users: dict[str, User | None]  # role -> the person acting in that role
    customers: dict[str, object]
    subscriptions: dict[str, Subscription]
    offers: dict[str, object]
    partnerships: dict[str, Partnership]
    requests: dict[str, object]
    request_tokens: dict[str, str]
    invitations: dict[str, object]
    members: dict[str, Membership]
    canaries: dict[str, str] = field(default_factory=dict)  # label -> hex
    clients: dict[str, Client] = field(default_factory=dict)

    def org(self, role: str) -> Organization | None:
        return self.orgs.get(ORG_OF_ROLE.get(role, ""))

    def forbidden(self, role: str) -> dict[str, str]:
        """label -> hex of every canary `role` may not see."""
        return {label: hex_ for label, hex_ in self.canaries.items() if role not in VISIBLE[label]}

    def leaks(self, role: str, body: bytes | str) -> list[str]:
        text = body.decode(errors="replace") if isinstance(body, bytes) else body
        text = text.lower()
        return sorted(label for label, hex_ in self.forbidden(role).items() if hex_ in text)

    def shows(self, label: str, body: bytes) -> bool:
        return self.canaries[label] in body.decode(errors="replace").lower()


def build_t1() -> T1:
    """Build the world. Call inside unscoped(...) (fixtures are, via tests/conftest.py)."""
    canaries: dict[str, str] = {}

    def tag(label: str) -> str:
        assert label in VISIBLE, label
        canaries[label] = hex_ = uuid.uuid4().hex
        return hex_

    def canary(label: str) -> str:
        return f"CANARY-{label}-{tag(label)}"

    def org(factory, label: str, slug: str) -> Organization:
        hex_ = tag(label)
        return factory(
            name=f"CANARY-{label}-{hex_}",
            slug=slug,
            contact_email=f"contact@canary-{label.lower()}-{hex_}.example",
        )

    def person(org_, label: str, role=Membership.Role.ADMIN) -> Membership:
        user = UserFactory(email=f"canary-{label.lower()}-{tag(label)}@example.test")
        return MembershipFactory(organization=org_, user=user, role=role)

    orgs = {
        "p1": org(ProviderFactory, "P1", "t1-p1"),
        "p2": org(ProviderFactory, "P2", "t1-p2"),
        "p3": org(ProviderFactory, "P3", "t1-p3"),
        "r1": org(ResellerFactory, "R1", "t1-r1"),
        "r2": org(ResellerFactory, "R2", "t1-r2"),
        "r3": org(ResellerFactory, "R3", "t1-r3"),
        "r4": org(ResellerFactory, "R4", "t1-r4"),
    }
    p1, p2, p3, r1, r2, r3, r4 = (orgs[k] for k in ("p1", "p2", "p3", "r1", "r2", "r3", "r4"))
    members = {
        "p1": person(p1, "P1u"),
        "p1m": person(p1, "P1m", Membership.Role.SUPPORT_AGENT),
        "p2": person(p2, "P2u"),
        "r1": person(r1, "R1u"),
        "r1m": person(r1, "R1m", Membership.Role.SALES_AGENT),
        "r2": person(r2, "R2u"),
        "r3": person(r3, "R3u"),
    }
    partnerships = {
        "p1r1": Partnership.objects.create(provider=p1, reseller=r1),
        "p1r2": Partnership.objects.create(provider=p1, reseller=r2),
        "p2r3": Partnership.objects.create(provider=p2, reseller=r3),
        "p1r4": Partnership.objects.create(provider=p1, reseller=r4, ended_at=timezone.now()),
    }

    def customer(label: str, provider, reseller=None):
        name, private = canary(label), tag(f"{label}p")
        return CustomerFactory(
            provider=provider,
            reseller=reseller,
            company_name=name,
            domain=f"canary-{label.lower()}p-{private}.example",
            street=f"CANARY-{label}p-{private} Street 1",
        )

    customers = {
        "c1": customer("C1", p1, r1),
        "c1b": customer("C1b", p1),
        "c2": customer("C2", p2),
    }
    offers = {"base": OfferFactory(), "upgrade": OfferFactory(), "retired": OfferFactory()}
    offers["retired"].is_active = False
    offers["retired"].save()
    offers["base"].upgrades.add(offers["upgrade"], offers["retired"])

    today = timezone.localdate()

    def subscription(customer_, **extra):
        order = Order.objects.create(provider=customer_.provider, customer=customer_)
        return SubscriptionFactory(
            customer=customer_,
            order=order,
            offer=offers["base"],
            start_date=today,
            renewal_date=today + datetime.timedelta(days=365),
            **extra,
        )

    subscriptions = {
        "s1": subscription(customers["c1"], support_contact=r1),
        "s1s": subscription(customers["c1"], status=Subscription.Status.SUSPENDED),
        # R2 is credited on C1b's subscription: it sees that one, read-only.
        "s1b": subscription(customers["c1b"], reseller=r2),
        "s2": subscription(customers["c2"]),
    }

    requests, tokens = {}, {}

    def partnership_request(key, provider, actor, email, contact_name):
        # Rows written directly: the world must not depend on the request service.
        tokens[key], digest = new_token()
        requests[key] = PartnershipRequest.objects.create(
            provider=provider,
            email=email,
            contact_name=contact_name,
            subject=f"Partner with {provider.name}",
            body=f"Hello {contact_name}",
            token_digest=digest,
            requested_by=actor,
            expires_at=PartnershipRequest.default_expiry(),
        )

    for key, provider, actor, label in (
        ("p1", p1, members["p1"].user, "REQP1"),
        ("p2", p2, members["p2"].user, "REQP2"),
    ):
        hex_ = tag(label)
        email = f"canary-{label.lower()}-{hex_}@prospect.example"
        partnership_request(key, provider, actor, email, f"CANARY-{label}-{hex_}")
        out_label = label.replace("REQ", "OUT")
        requests[key].outbound_email = OutboundEmail.objects.create(
            to=email, subject=canary(out_label), body_text=canary(out_label)
        )
        requests[key].save(update_fields=["outbound_email"])
    # P3, a provider with no users here, asks R1's admin: an incoming request for R1.
    partnership_request("p3r1", p3, None, members["r1"].user.email, canary("REQP3R1"))

    invitations = {}
    for key in ("p1", "p2", "r1", "r2", "r3"):
        label = f"INV{key.upper()}"
        invitations[key], _token = invite_member(
            org=orgs[key],
            actor=members[key].user,
            email=f"canary-{label.lower()}-{tag(label)}@example.test",
            role=Membership.Role.SALES_AGENT,
        )

    def event(label, org_, actor, **sides):
        record_event(org=org_, actor=actor, verb="customer.updated", target=canary(label), **sides)

    event("ACTP1", p1, members["p1"].user, provider=p1)
    event("ACTP1R1", p1, members["p1"].user, provider=p1, reseller=r1)
    event("ACTP2", p2, members["p2"].user, provider=p2)
    event("ACTP2R3", p2, members["p2"].user, provider=p2, reseller=r3)
    event("ACTR2", r2, members["r2"].user, reseller=r2)

    staff = UserFactory(
        email=f"canary-staff-{tag('STAFF')}@example.test", is_staff=True, is_superuser=True
    )
    users = {
        "anonymous": None,
        **{role: members[role].user for role in ("p1", "p2", "r1", "r2", "r3")},
        "c1": customers["c1"].admin_user,
        "c2": customers["c2"].admin_user,
        "staff": staff,
    }
    world = T1(
        orgs=orgs,
        users=users,
        customers=customers,
        subscriptions=subscriptions,
        offers=offers,
        partnerships=partnerships,
        requests=requests,
        request_tokens=tokens,
        invitations=invitations,
        members=members,
        canaries=canaries,
    )
    assert set(canaries) == set(VISIBLE), set(VISIBLE) ^ set(canaries)
    return world


@pytest.fixture
def t1(db) -> T1:
    world = build_t1()
    for role, user in world.users.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        world.clients[role] = client
    return world


def tenant_models() -> list:
    """Every model of our apps (the tenant tables and the global ones they hang off)."""
    return [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]


def tenant_snapshot() -> dict:
    """Row count, newest created_at and newest updated_at of every table of ours.

    Sign-ins are logged as activity; they are not changes made by the request under test.
    """
    snapshot = {}
    for model in tenant_models():
        with unscoped("snapshot every tenant table"):
            rows = model.objects.all()
        if model is AuditEvent:
            rows = rows.exclude(verb__startswith="login.")
        names = {f.name for f in model._meta.concrete_fields}
        aggregates = {"n": Count("pk")}
        for column in ("created_at", "updated_at", "last_login"):
            if column in names:
                aggregates[column] = Max(column)
        snapshot[model._meta.label] = rows.aggregate(**aggregates)
    return snapshot


def account_body(customer) -> dict:
    return {
        "company_name": customer.company_name,
        "domain": customer.domain,
        "country": "US",
        "city": "Elsewhere",
        "street": customer.street,
        "postal_code": "98052",
        "contact_first_name": "Alex",
        "contact_last_name": "Doe",
        "contact_email": customer.contact_email,
        "contact_phone": "+1 425 555 0100",
        "language": "en",
    }


def private(response) -> bool:
    cache_control = response.get("Cache-Control", "")
    vary = [v.strip().lower() for v in response.get("Vary", "").split(",")]
    return ("private" in cache_control or "no-store" in cache_control) and "cookie" in vary
