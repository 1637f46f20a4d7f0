"""The URL x persona matrix: every route of our apps, requested as every persona.

The walker (tests/routes.py) reads the live URLconf. A route of ours that is missing from
its tables fails `test_every_route_is_classified`, so a view added later cannot slip past
the isolation check. Anyone not allowed gets 404 (never 403, never the data);
anonymous visitors of organization pages are sent to log in.
"""

from urllib.parse import urlparse

import pytest
from django.db import models
from django.urls import resolve, reverse

from partners.models import AuditEvent, Membership
from tests.factories import MembershipFactory, ResellerFactory
from tests.routes import (
    ORG_ROUTES,
    PERSONAS,
    PUBLIC_ROUTES,
    kwargs_for,
    object_routes,
    our_routes,
    snapshot,
)


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
    url = reverse(route, kwargs=kwargs_for(route, org, world))
    for persona in PERSONAS:
        user = None if persona == "anonymous" else getattr(world, persona)
        response = client_for(user).get(url)
        if persona == "anonymous":
            assert response.status_code == 302, (route, persona)
            assert urlparse(response["Location"]).path == reverse("account_login")
        elif persona in allowed:
            expected = {"get": {200}, "confirm": {200, 302}}.get(method, {405})
            assert response.status_code in expected, (route, target, persona)
        else:
            assert response.status_code == 404, (route, target, persona)
            assert org.name not in response.content.decode(), (route, persona)


@pytest.mark.parametrize("route", sorted(ORG_ROUTES))
def test_outsiders_cannot_change_anything_by_posting(route, world, client_for):
    """POST straight at P1's URLs, bypassing the UI: 404 or login, and no row changes."""
    url = reverse(route, kwargs=kwargs_for(route, world.provider, world))
    before = snapshot()
    for persona in ("anonymous", "other_provider_admin", "reseller_admin", "no_org_user"):
        user = None if persona == "anonymous" else getattr(world, persona)
        response = client_for(user).post(url, {"email": "x@example.test", "role": "admin"})
        assert response.status_code == (302 if user is None else 404), (route, persona)
    assert snapshot() == before


@pytest.mark.parametrize("route", object_routes())
def test_objects_of_another_organization_answer_404(route, world, client_for):
    """An allowed member, in their own URL space, asking for another organization's object."""
    in_p1, in_r1, _ = ORG_ROUTES[route]
    if in_p1:
        org, persona, other = world.provider, sorted(in_p1)[0], world.other_provider
    else:
        org, persona = world.reseller, sorted(in_r1)[0]
        other = MembershipFactory(organization=ResellerFactory(), role="admin").organization
    foreign = kwargs_for(route, other, world)
    url = reverse(route, kwargs={**foreign, "org_slug": org.slug})
    client = client_for(getattr(world, persona))
    before = snapshot()
    # A method the view doesn't have answers 405 before anything is looked up.
    view = resolve(url).func.view_class
    assert client.get(url).status_code == (404 if hasattr(view, "get") else 405)
    assert client.post(url, {"role": "admin"}).status_code == (
        404 if hasattr(view, "post") else 405
    )
    assert snapshot() == before


def test_state_changing_routes_refuse_get(world, client_for):
    for route, (in_p1, in_r1, method) in ORG_ROUTES.items():
        if method != "post":
            continue
        org, allowed = (world.provider, in_p1) if in_p1 else (world.reseller, in_r1)
        client = client_for(getattr(world, sorted(allowed)[0]))
        url = reverse(route, kwargs=kwargs_for(route, org, world))
        assert client.get(url).status_code == 405, route


def test_forms_need_a_csrf_token(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.provider_admin)
    before = snapshot()
    url = reverse("team:invite", kwargs={"org_slug": world.provider.slug})
    response = client.post(url, {"email": "new@example.test", "role": "admin"})
    assert response.status_code == 403
    assert snapshot() == before


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
    assert scoped <= set(snapshot()) | {Membership, AuditEvent}  # AuditEvent: "activity"
