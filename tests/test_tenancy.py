"""The URL x persona matrix: every route of our apps, requested as every persona.

The walker reads the live URLconf. A route of ours that is missing from the tables
below fails `test_every_route_is_classified`, so a view added later cannot slip past
the isolation check. Anyone not allowed gets 404 (never 403, never the data);
anonymous visitors of organization pages are sent to log in.
"""

import re
from urllib.parse import urlparse

import pytest
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from partners.models import AuditEvent, Membership, TeamInvitation
from partners.services import invite_member
from portal.scoping import unscoped

OUR_APPS = {"portal", "partners", "customers", "subscriptions"}

PERSONAS = [
    "anonymous",
    "provider_admin",
    "provider_sales",
    "provider_support",
    "other_provider_admin",
    "reseller_admin",
    "no_org_user",
]
P1_ALL = {"provider_admin", "provider_sales", "provider_support"}
P1_ADMIN = {"provider_admin"}
R1_ALL = {"reseller_admin"}

# route -> (who may GET it in P1 (a provider), who may GET it in R1 (a reseller), method)
# "post" routes answer GET with 405 to those allowed and 404 to everyone else.
ORG_ROUTES = {
    "dashboard": (P1_ALL, R1_ALL, "get"),
    "partners:reseller-list": (P1_ALL, set(), "get"),
    "partners:provider-list": (set(), R1_ALL, "get"),
    "customers:list": (P1_ALL, R1_ALL, "get"),
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
    "enroll": "tests/partners/test_enrollment.py",
    "team-invitation": "tests/partners/test_team.py",
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
    return dict(_walk(get_resolver().url_patterns))


def _kwargs(route: str, org, world) -> dict:
    """Fill a route's URL arguments with objects belonging to `org`."""
    params = set(re.findall(r"<(?:\w+:)?(\w+)>", our_routes()[route])) - {"org_slug"}
    kwargs = {"org_slug": org.slug}
    for param in params:
        if param != "pk":
            raise AssertionError(f"{route}: no sample for URL argument {param!r}")
        kwargs["pk"] = _sample_pk(route, org, world)
    return kwargs


def _sample_pk(route: str, org, world) -> int:
    with unscoped("test samples"):
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
    from tests.factories import MembershipFactory

    return MembershipFactory(organization=org, role=Membership.Role.SUPPORT_AGENT)


def _snapshot():
    with unscoped("row counts"):
        return {
            model: model._base_manager.count() for model in (Membership, TeamInvitation, AuditEvent)
        }


def test_every_route_is_classified():
    routes = our_routes()
    for name, pattern in routes.items():
        if "<org_slug>" in pattern or "<slug:org_slug>" in pattern:
            assert name in ORG_ROUTES, f"{name} ({pattern}) is missing from ORG_ROUTES"
        else:
            assert name in PUBLIC_ROUTES, f"{name} ({pattern}) is missing from PUBLIC_ROUTES"
    assert set(ORG_ROUTES) | set(PUBLIC_ROUTES) == set(routes), "stale entries in the tables"


@pytest.mark.parametrize("route", sorted(ORG_ROUTES))
@pytest.mark.parametrize("target", ["provider", "reseller"])
def test_route_answers_each_persona_as_the_matrix_says(route, target, world, client_for):
    org = getattr(world, target)
    allowed_in_p1, allowed_in_r1, method = ORG_ROUTES[route]
    allowed = allowed_in_p1 if target == "provider" else allowed_in_r1
    url = reverse(route, kwargs=_kwargs(route, org, world))
    for persona in PERSONAS:
        user = None if persona == "anonymous" else getattr(world, persona)
        response = client_for(user).get(url)
        if persona == "anonymous":
            assert response.status_code == 302, (route, persona)
            assert urlparse(response["Location"]).path == reverse("account_login")
        elif persona in allowed:
            expected = 200 if method == "get" else 405
            assert response.status_code == expected, (route, target, persona)
        else:
            assert response.status_code == 404, (route, target, persona)
            assert org.name not in response.content.decode(), (route, persona)


@pytest.mark.parametrize("route", sorted(ORG_ROUTES))
def test_outsiders_cannot_change_anything_by_posting(route, world, client_for):
    """POST straight at P1's URLs, bypassing the UI: 404 or login, and no row changes."""
    url = reverse(route, kwargs=_kwargs(route, world.provider, world))
    before = _snapshot()
    for persona in ("anonymous", "other_provider_admin", "reseller_admin", "no_org_user"):
        user = None if persona == "anonymous" else getattr(world, persona)
        response = client_for(user).post(url, {"email": "x@example.test", "role": "admin"})
        assert response.status_code == (302 if user is None else 404), (route, persona)
    assert _snapshot() == before


@pytest.mark.parametrize(
    "route", [r for r in sorted(ORG_ROUTES) if "<int:pk>" in our_routes().get(r, "")]
)
def test_objects_of_another_organization_answer_404(route, world, client_for):
    """P1's admin, in P1's URL space, asking for P2's object by id."""
    foreign = _kwargs(route, world.other_provider, world)
    url = reverse(route, kwargs={**foreign, "org_slug": world.provider.slug})
    client = client_for(world.provider_admin)
    before = _snapshot()
    # POST-only routes answer any GET with 405 before looking anything up.
    assert client.get(url).status_code == (404 if ORG_ROUTES[route][2] == "get" else 405)
    assert client.post(url, {"role": "admin"}).status_code == 404
    assert _snapshot() == before


def test_state_changing_routes_refuse_get(world, client_for):
    client = client_for(world.provider_admin)
    for route, (_, _, method) in ORG_ROUTES.items():
        if method == "post":
            url = reverse(route, kwargs=_kwargs(route, world.provider, world))
            assert client.get(url).status_code == 405, route


def test_forms_need_a_csrf_token(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.provider_admin)
    before = _snapshot()
    url = reverse("team:invite", kwargs={"org_slug": world.provider.slug})
    response = client.post(url, {"email": "new@example.test", "role": "admin"})
    assert response.status_code == 403
    assert _snapshot() == before


@pytest.mark.django_db
def test_models_snapshot_covers_every_tenant_model():
    from django.apps import apps

    from portal.scoping import ScopedManager

    scoped = {
        m
        for m in apps.get_models()
        if isinstance(getattr(m, "objects", None), models.Manager)
        and isinstance(m._default_manager, ScopedManager)
    }
    assert scoped <= set(_snapshot()) | {Membership}
