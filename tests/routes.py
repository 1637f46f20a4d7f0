"""The URL walker both isolation sweeps use (tests/test_tenancy.py, the persona matrix,
and tests/reliability/test_isolation.py, the T1 world): every route of our apps from the
live URLconf, who may use each, a sample object for its URL, and a one-query snapshot of
every tenant table to prove a refused request wrote nothing.

A route missing from ORG_ROUTES or PUBLIC_ROUTES fails
`tests/test_tenancy.py::test_every_route_is_classified`, so a view added later cannot slip
past the sweeps.
"""

import re

from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

from customers.models import Customer
from partners.models import (
    AuditEvent,
    Membership,
    Partnership,
    PartnershipRequest,
    TeamInvitation,
)
from partners.services.partnerships import request_partnership
from partners.services.team import invite_member
from portal.scoping import unscoped
from subscriptions.models import (
    Order,
    RenewalReminder,
    ScheduledChange,
    Subscription,
    SubscriptionEvent,
    TermTransition,
)
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    ProviderFactory,
    ResellerFactory,
    SubscriptionFactory,
)

OUR_APPS = {"portal", "partners", "customers", "subscriptions"}

PERSONAS = [
    "anonymous",
    "provider_admin",
    "provider_sales",
    "provider_support",
    "other_provider_admin",
    "reseller_admin",
    "no_org_user",
    "customer_admin",
]
P1_ALL = {"provider_admin", "provider_sales", "provider_support"}
P1_ADMIN = {"provider_admin"}
P1_SELLERS = {"provider_admin", "provider_sales"}
R1_ALL = {"reseller_admin"}
R1_ADMIN = {"reseller_admin"}

# route -> (who may GET it in P1 (a provider), who may GET it in R1 (a reseller), method)
# "post" routes answer GET with 405 to those allowed and 404 to everyone else.
ORG_ROUTES = {
    "dashboard": (P1_ALL, R1_ALL, "get"),
    "activity": (P1_ALL, R1_ALL, "get"),
    "partners:reseller-list": (P1_ALL, set(), "get"),
    "partners:request-create": (P1_SELLERS, set(), "get"),
    "partners:request-send": (P1_SELLERS, set(), "post"),
    # "confirm": a GET shows the confirmation page (or, with nothing to confirm, goes back).
    "partners:request-resend": (P1_SELLERS, set(), "confirm"),
    "partners:request-revoke": (P1_SELLERS, set(), "confirm"),
    "partners:provider-list": (set(), R1_ALL, "get"),
    "partners:request-respond": (set(), R1_ADMIN, "post"),
    "partners:partnership-end": (P1_ADMIN, R1_ADMIN, "get"),
    "customers:list": (P1_ALL, R1_ALL, "get"),
    "customers:detail": (P1_ALL, R1_ALL, "get"),
    "customers:row": (P1_ALL, R1_ALL, "get"),
    "customers:edit": (P1_SELLERS, R1_ADMIN, "get"),
    "customers:reseller": (P1_SELLERS, set(), "get"),
    "customers:reseller-remove": (P1_SELLERS, set(), "get"),
    "customers:setup-info": (P1_SELLERS, set(), "get"),
    "subscriptions:new-customer": (P1_SELLERS, set(), "get"),
    "subscriptions:add": (P1_SELLERS, set(), "get"),
    "subscriptions:list": (P1_ALL, R1_ALL, "get"),
    "subscriptions:detail": (P1_ALL, R1_ALL, "get"),
    # POST-only actions answer GET with 405 to the roles that may take the action, like
    # every other route (the view's `action` is the action itself); which subscriptions a
    # reseller may act on is tested in tests/subscriptions/ and tests/partners/test_permissions.py.
    "subscriptions:support-contact": (P1_ALL, set(), "post"),
    "subscriptions:incentive": (P1_SELLERS, set(), "post"),
    "subscriptions:licenses": (P1_SELLERS, R1_ALL, "post"),
    "subscriptions:add-licenses": (P1_SELLERS, R1_ALL, "post"),
    "subscriptions:auto-renew": (P1_SELLERS, set(), "post"),
    "subscriptions:upgrade": (P1_SELLERS, set(), "confirm"),
    "subscriptions:suspend": (P1_SELLERS, R1_ALL, "post"),
    "subscriptions:reactivate": (P1_SELLERS, R1_ALL, "post"),
    "subscriptions:cancel": (P1_SELLERS, set(), "get"),
    "subscriptions:renewal": (P1_SELLERS, R1_ALL, "post"),
    "subscriptions:renewal-remove": (P1_SELLERS, R1_ALL, "post"),
    # The sample is active: the page says only an expired one can be renewed (200).
    "subscriptions:renew": (P1_SELLERS, R1_ALL, "confirm"),
    "team:list": (P1_ALL, R1_ALL, "get"),
    "team:invite": (P1_ADMIN, R1_ALL, "get"),
    "team:edit": (P1_ADMIN, R1_ALL, "get"),
    # Everyone may open their own "leave" page; only Admins someone else's (tested in test_team).
    "team:remove": (P1_ADMIN, R1_ALL, "get"),
    "team:invitation-resend": (P1_ADMIN, R1_ALL, "post"),
    "team:invitation-revoke": (P1_ADMIN, R1_ALL, "post"),
}
# Routes outside /orgs/<org_slug>/, each with its own tests (named here).
PUBLIC_ROUTES = {
    "home": "tests/partners/test_switching.py",
    "healthz": "tests/portal/test_health.py",
    "favicon": "tests/portal/test_health.py",
    "set-language": "tests/portal/test_i18n.py",
    "profile": "tests/subscriptions/test_reminders.py",
    "enroll": "tests/partners/test_enrollment.py",
    "team-invitation": "tests/partners/test_team.py",
    "team-invitation-accept": "tests/partners/test_team.py",
    "partnership-link": "tests/partners/test_partnerships.py",
    "partnership-accept": "tests/partners/test_partnerships.py",
    "customer-home": "tests/customers/test_customer_area.py",
}


def _walk(patterns, prefix="", namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # the staff admin: tests/portal/test_admin.py
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            view = getattr(pattern.callback, "view_class", pattern.callback)
            if view.__module__.split(".")[0] in OUR_APPS:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                yield name, prefix + str(pattern.pattern)


def our_routes() -> dict[str, str]:
    """Every named route whose view lives in one of our apps: name -> URL pattern."""
    return dict(_walk(get_resolver().url_patterns))


def url_args(route: str) -> set[str]:
    """The URL arguments of `route` other than the organization's slug."""
    return set(re.findall(r"<(?:\w+:)?(\w+)>", our_routes()[route])) - {"org_slug"}


def object_routes() -> list[str]:
    """The routes with an object in their URL."""
    return sorted(name for name, pattern in our_routes().items() if "<int:pk>" in pattern)


def kwargs_for(route: str, org, world) -> dict:
    """Fill a route's URL arguments with objects belonging to `org`."""
    kwargs = {"org_slug": org.slug}
    for param in url_args(route):
        if param != "pk":
            raise AssertionError(f"{route}: no sample for URL argument {param!r}")
        kwargs["pk"] = _sample_pk(route, org, world)
    return kwargs


def _partnership(org, world) -> Partnership:
    """A partnership `org` is a side of (created with a partner from `world` if needed)."""
    existing = Partnership.objects.filter(Partnership.visible_to(org)).first()
    if existing:
        return existing
    if org.is_provider:
        reseller = ResellerFactory()
        return Partnership.objects.create(provider=org, reseller=reseller)
    return Partnership.objects.create(provider=ProviderFactory(), reseller=org)


def _customer_of(org):
    """A customer `org` may see: its own (provider) or one delegated to it (reseller)."""
    if org.is_provider:
        return CustomerFactory(provider=org)
    provider = ProviderFactory()
    Partnership.objects.create(provider=provider, reseller=org)
    return CustomerFactory(provider=provider, reseller=org)


def _request_of(org) -> PartnershipRequest:
    """A pending request sent by `org` when it is a provider, else by another provider."""
    provider = org if org.is_provider else ProviderFactory()
    existing = PartnershipRequest.objects.filter(provider=provider, state="pending").first()
    if existing:
        return existing
    actor = Membership.objects.filter(organization=provider).first()
    request, _ = request_partnership(
        provider=provider,
        actor=actor.user if actor else None,
        email=f"prospect-{provider.slug}@example.test",
    )
    return request


def _sample_pk(route: str, org, world) -> int:
    with unscoped("test samples"):
        if route == "partners:request-respond":
            # A request addressed to the reseller's admin (sent by some provider).
            admin = Membership.objects.filter(organization=org, role="admin").first()
            provider = ProviderFactory()
            request, _ = request_partnership(provider=provider, actor=None, email=admin.user.email)
            return request.pk
        if route.startswith("partners:request-"):
            return _request_of(org).pk
        if route.startswith("customers:") or route == "subscriptions:add":
            return _customer_of(org).pk
        if route.startswith("subscriptions:"):
            return SubscriptionFactory(customer=_customer_of(org)).pk
        if route == "partners:partnership-end":
            return _partnership(org, world).pk
        if route.startswith("team:invitation-"):
            invitation = TeamInvitation.objects.filter(organization=org).first()
            if invitation is None:
                invitation, _ = invite_member(
                    org=org, actor=None, email=f"invitee-{org.slug}@example.test", role="admin"
                )
            return invitation.pk
        if route in {"team:edit", "team:remove"}:
            # Someone who is none of the personas, so "remove" is never "leave".
            return MembershipFactoryForOrg(org).pk
    raise AssertionError(f"{route}: no sample for pk")


def MembershipFactoryForOrg(org):
    return MembershipFactory(organization=org, role=Membership.Role.SUPPORT_AGENT)


SNAPSHOT_MODELS = (
    Membership,
    TeamInvitation,
    Partnership,
    PartnershipRequest,
    Customer,
    Order,
    Subscription,
    SubscriptionEvent,
    ScheduledChange,
    TermTransition,
    RenewalReminder,
)


def snapshot(*extra_models):
    """Row counts of every tenant table (and `extra_models`), in one query: the sweeps
    and the fuzzers take one before and after thousands of requests."""
    models = (*SNAPSHOT_MODELS, *extra_models)
    # Our own table names, no input: nothing to inject.
    tables = [m._meta.db_table for m in models]
    counts = ", ".join("(SELECT count(*) FROM %s)" % table for table in tables)  # noqa: S608, UP031
    # Sign-ins are logged; they are not changes made by the request under test.
    activity = "(SELECT count(*) FROM %s WHERE verb NOT LIKE 'login.%%')" % (  # noqa: S608, UP031
        AuditEvent._meta.db_table
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {activity}, {counts}")
        row = cursor.fetchone()
    return {"activity": row[0]} | dict(zip(models, row[1:], strict=True))
