"""T1.1-T1.3 and T2.7 of RELIABILITY.md: tenant isolation, swept.

The world (tests/reliability/_isolation.py) puts a canary in every name and address of
three providers, four resellers and three customers. The sweeps request every route of
ours (tests/routes.py) as every foreign role and every page as every role, and look for
two things: a status other than the spec's, and a canary the role may not see.
"""

import datetime
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest
from django.urls import resolve, reverse
from django.utils import timezone

from partners.models import Membership
from partners.permissions import can
from partners.services.partnerships import request_link
from portal.scoping import unscoped
from subscriptions.models import ScheduledChange, Subscription
from tests.reliability._isolation import (
    ORG_OF_ROLE,
    ROLES,
    T1,
    VISIBLE,
    account_body,
    private,
    tenant_snapshot,
)
from tests.routes import ORG_ROUTES, object_routes, url_args

LOGIN = reverse("account_login")


# ------------------------------------------------------------------------------
# T1.1 The object map: every route that takes an object has a sample in the T1 world
# ------------------------------------------------------------------------------
@dataclass
class Sample:
    owner: str  # the role whose organization's URL space the object lives in
    allowed: frozenset[str]  # roles that may reach the object (through their own URLs)
    pk: int
    body: dict  # a POST body that works for the owner (proved by the sweep itself)


def _customer(t: T1, route: str) -> Sample:
    c1 = t.customers["c1"]
    body = {
        "customers:reseller": {"reseller": t.orgs["r2"].pk},
        "customers:reseller-remove": {},
        "subscriptions:add": {
            f"offer_{t.offers['base'].pk}": "3",
            "reseller": "",
            "confirm_no_incentive": "on",
            "idempotency_key": str(uuid.uuid4()),
        },
    }.get(route, account_body(c1))
    # C1 is delegated to R1: R2 (the same provider's other reseller) is a foreigner.
    return Sample("p1", frozenset({"p1", "r1"}), c1.pk, body)


def _subscription(t: T1, route: str) -> Sample:
    key = "s1s" if route == "subscriptions:reactivate" else "s1"
    subscription = t.subscriptions[key]
    if route == "subscriptions:renewal-remove":
        with unscoped("a schedule for the sample to remove"):
            ScheduledChange.objects.get_or_create(
                subscription=subscription,
                defaults={"term_end": subscription.renewal_date, "quantity": 9},
            )
    if route == "subscriptions:renew":
        # Expired ten days ago: the owner's POST renews it (as of today).
        today = timezone.localdate()
        with unscoped("an expired sample to renew"):
            Subscription.objects.filter(pk=subscription.pk).update(
                status=Subscription.Status.EXPIRED,
                start_date=today - datetime.timedelta(days=375),
                renewal_date=today - datetime.timedelta(days=10),
            )
    body = {"version": subscription.version} | {
        "subscriptions:support-contact": {"contact": t.orgs["p1"].pk},
        "subscriptions:incentive": {"reseller": t.orgs["r2"].pk},
        "subscriptions:licenses": {"quantity": 9},
        "subscriptions:add-licenses": {"count": 2, "idempotency_key": str(uuid.uuid4())},
        "subscriptions:upgrade": {"offer": t.offers["upgrade"].pk},
        "subscriptions:renewal": {"quantity": 9},
    }.get(route, {})
    return Sample("p1", frozenset({"p1", "r1"}), subscription.pk, body)


SAMPLES = {
    **{
        r: _customer
        for r in (
            "customers:detail",
            "customers:row",
            "customers:edit",
            "customers:reseller",
            "customers:reseller-remove",
            "customers:setup-info",
            "subscriptions:add",
        )
    },
    **{
        r: _subscription
        for r in (
            "subscriptions:detail",
            "subscriptions:support-contact",
            "subscriptions:incentive",
            "subscriptions:licenses",
            "subscriptions:add-licenses",
            "subscriptions:auto-renew",
            "subscriptions:upgrade",
            "subscriptions:suspend",
            "subscriptions:reactivate",
            "subscriptions:cancel",
            "subscriptions:renewal",
            "subscriptions:renewal-remove",
            "subscriptions:renew",
        )
    },
    "partners:request-send": lambda t, r: Sample(
        "p1",
        frozenset({"p1"}),
        t.requests["p1"].pk,
        {
            "token": t.request_tokens["p1"],
            "subject": "Partner with us",
            "body": f"Hello, {request_link(t.request_tokens['p1'])}",
        },
    ),
    "partners:request-resend": lambda t, r: Sample(
        "p1", frozenset({"p1"}), t.requests["p1"].pk, {}
    ),
    "partners:request-revoke": lambda t, r: Sample(
        "p1", frozenset({"p1"}), t.requests["p1"].pk, {}
    ),
    # P3 asked R1's admin: only R1 may answer.
    "partners:request-respond": lambda t, r: Sample(
        "r1", frozenset({"r1"}), t.requests["p3r1"].pk, {"decision": "accept"}
    ),
    # P1-R1: R2, partnered with the same provider, is not a side of it.
    "partners:partnership-end": lambda t, r: Sample(
        "p1", frozenset({"p1", "r1"}), t.partnerships["p1r1"].pk, {}
    ),
    "team:edit": lambda t, r: Sample(
        "p1", frozenset({"p1"}), t.members["p1m"].pk, {"role": "sales_agent"}
    ),
    "team:remove": lambda t, r: Sample("p1", frozenset({"p1"}), t.members["p1m"].pk, {}),
    "team:invitation-resend": lambda t, r: Sample(
        "p1", frozenset({"p1"}), t.invitations["p1"].pk, {}
    ),
    "team:invitation-revoke": lambda t, r: Sample(
        "p1", frozenset({"p1"}), t.invitations["p1"].pk, {}
    ),
}


def test_every_object_route_has_a_foreign_sample():
    """T1.1: a route added later with an object in its URL fails here, by name."""
    for route in ORG_ROUTES:
        unknown = url_args(route) - {"pk"}
        assert not unknown, f"{route}: no sample for URL argument(s) {sorted(unknown)}"
    missing = [r for r in object_routes() if r not in SAMPLES]
    assert not missing, f"routes with an object but no sample in SAMPLES: {missing}"
    assert set(SAMPLES) == set(object_routes()), "stale entries in SAMPLES"


# ------------------------------------------------------------------------------
# T1.2 Every object route x {GET, POST empty, POST valid} x every foreign role
# ------------------------------------------------------------------------------
def _membership(t: T1, role: str) -> Membership | None:
    org = t.org(role)
    if org is None:
        return None
    with unscoped("test: the role's membership"):
        return Membership.objects.select_related("organization").get(
            organization=org, user=t.users[role]
        )


def _expected_in_own_space(url: str, method: str, membership) -> int:
    """The spec for a foreign object asked for in one's own URL space: 404, except 405
    for a method the view does not have, when the role may use the view at all."""
    view = resolve(url).func.view_class
    handled = method in view.http_method_names and hasattr(view, method)
    return 405 if not handled and can(membership, view.action) else 404


def _check(t, role, response, url, expected, problems, label):
    status = response.status_code
    if status != expected:
        problems.append(f"{label} {url} as {role}: {status}, expected {expected}")
    if expected == 302 and status == 302 and urlparse(response["Location"]).path != LOGIN:
        problems.append(f"{label} {url} as {role}: redirected to {response['Location']}")
    leaks = t.leaks(role, response.content)
    if leaks:
        problems.append(f"{label} {url} as {role}: leaked {leaks}")


@pytest.mark.parametrize("route", sorted(SAMPLES))
def test_foreign_roles_get_404_and_change_nothing(route, t1, record_property):
    """T1.2: 404 for every authenticated foreign role, login for anonymous, 405 only for
    a method the view lacks; not one row written. Then the owner posts the same body and
    it does change something, so the body was a real attack, not a no-op."""
    with unscoped("test: sample"):
        sample = SAMPLES[route](t1, route)
    owner_slug = t1.org(sample.owner).slug
    owner_url = reverse(route, kwargs={"org_slug": owner_slug, "pk": sample.pk})
    before = tenant_snapshot()
    problems, requests = [], 0
    for role in sorted(set(ROLES) - sample.allowed):
        client = t1.clients[role]
        targets = []
        if role in {"anonymous", "p2", "c2"}:
            # The owner's URL: not a member. (Every other non-member is the same
            # middleware branch; tests/test_tenancy.py sweeps it for every route.)
            targets.append((owner_url, None))
        if role in ORG_OF_ROLE:
            # The real IDOR: the foreign object's id in one's own URL space.
            own = reverse(route, kwargs={"org_slug": t1.org(role).slug, "pk": sample.pk})
            targets.append((own, _membership(t1, role)))
        for url, membership in targets:
            for label, send in (
                ("GET", lambda u, c=client: c.get(u)),
                ("POST{}", lambda u, c=client: c.post(u, {})),
                ("POST", lambda u, c=client: c.post(u, sample.body)),
            ):
                method = "get" if label == "GET" else "post"
                if role == "anonymous":
                    expected = 302
                elif membership is None:
                    expected = 404
                else:
                    expected = _expected_in_own_space(url, method, membership)
                    if expected == 405 and method == "get":
                        assert ORG_ROUTES[route][2] == "post", f"{route}: GET 405 not in spec"
                _check(t1, role, send(url), url, expected, problems, label)
                requests += 1
    assert not problems, "\n".join(problems)
    assert tenant_snapshot() == before, f"{route}: a foreign request changed rows"
    assert requests >= 3 * 6
    record_property("figure", f"T1.2 {route}: {requests} foreign requests")

    view = resolve(owner_url).func.view_class
    if hasattr(view, "post"):
        response = t1.clients[sample.owner].post(owner_url, sample.body)
        assert response.status_code in (200, 302), (route, response.status_code)
        assert tenant_snapshot() != before, f"{route}: the sample body changes nothing"


def test_foreign_roles_cannot_reach_organization_pages(t1):
    """T1.2 for the routes without an object: the organization is the object."""
    before = tenant_snapshot()
    problems, count = [], 0
    body = {"email": "intruder@example.test", "role": "admin", "decision": "accept"}
    for route, (in_p1, _in_r1, _method) in sorted(ORG_ROUTES.items()):
        if "pk" in url_args(route):
            continue
        owner = "p1" if in_p1 else "r1"
        url = reverse(route, kwargs={"org_slug": t1.org(owner).slug})
        for role in ("anonymous", "p2", "r2", "c1", "staff"):
            client = t1.clients[role]
            expected = 302 if role == "anonymous" else 404
            for label, response in (("GET", client.get(url)), ("POST", client.post(url, body))):
                _check(t1, role, response, url, expected, problems, label)
                count += 1
    assert not problems, "\n".join(problems)
    assert tenant_snapshot() == before
    assert count == len([r for r in ORG_ROUTES if "pk" not in url_args(r)]) * 5 * 2


# ------------------------------------------------------------------------------
# T1.3 Canary sweep (and T1.7's header check on every authenticated response)
# ------------------------------------------------------------------------------
HTMX_TARGETS = {
    "activity": "activity",
    "customers:list": "customers",
    "partners:reseller-list": "resellers",
    "team:list": "members",
}


def _query_variants(route: str, t: T1) -> list[str]:
    users = [t.users[role] for role in ("p1", "p2", "r2")]
    orgs = [t.orgs[key] for key in ("p2", "r1", "r3", "r4")]
    return {
        "activity": [
            "",
            "?kind=partnership",
            "?kind=customer",
            "?created_at_min=2000-01-01",
            "?sort=-created_at",
            "?_export=csv",
            *(f"?actor={u.pk}" for u in users),
        ],
        "customers:list": [
            "",
            "?q=canary",
            "?reseller=none",
            "?sort=company_name",
            "?_export=csv",
            *(f"?reseller={o.pk}" for o in orgs),
            *(f"?provider={o.pk}" for o in orgs),
        ],
        "partners:reseller-list": ["", "?q=canary", "?req-page=1", "?_export=csv"],
        "team:list": ["", "?q=canary", "?role=admin", "?inv-page=1"],
        "subscriptions:list": ["", "?sort=customer"],
        "subscriptions:new-customer": ["", *(f"?reseller={o.pk}" for o in orgs)],
    }.get(route, [""])


def _objects_for(route: str, t: T1) -> list[int]:
    if route.startswith("customers:") or route == "subscriptions:add":
        return [c.pk for c in t.customers.values()]
    if route.startswith("subscriptions:"):
        return [s.pk for s in t.subscriptions.values()]
    if route == "partners:partnership-end":
        return [p.pk for p in t.partnerships.values()]
    if route.startswith("team:"):
        return [t.members[key].pk for key in ("p1m", "r1m", "p2")]
    raise AssertionError(f"{route}: no objects for the canary sweep")


def _pages(t: T1, role: str) -> list[tuple[str, dict]]:
    """(url, headers) of every GET page, in the role's own URL space (P1's for roles
    without an organization: they must get nothing from it)."""
    slug = (t.org(role) or t.orgs["p1"]).slug
    pages = [(reverse("home"), {}), (reverse("customer-home"), {})]
    if role == "r1":
        # R1's admin holds P3's emailed link: opening it shows the request's message.
        link = reverse("partnership-link", kwargs={"token": t.request_tokens["p3r1"]})
        pages += [(link, {}), (reverse("partnership-accept"), {})]
    for route, (_p1, _r1, method) in sorted(ORG_ROUTES.items()):
        if method != "get":
            continue  # POST-only: covered by the T1.2 sweep
        if "pk" in url_args(route):
            if role not in ORG_OF_ROLE:
                continue  # nothing to reach without an organization (T1.2 proves it)
            for pk in _objects_for(route, t):
                url = reverse(route, kwargs={"org_slug": slug, "pk": pk})
                pages.append((url, {}))
                if route == "customers:row":
                    pages.append((url, {"HX-Request": "true"}))
            continue
        url = reverse(route, kwargs={"org_slug": slug})
        variants = _query_variants(route, t) if role in ORG_OF_ROLE else [""]
        pages += [(url + query, {}) for query in variants]
        if route in HTMX_TARGETS:
            headers = {"HX-Request": "true", "HX-Target": HTMX_TARGETS[route]}
            pages.append((url, headers))
    return pages


def test_no_role_sees_a_canary_it_may_not(t1, record_property):
    """T1.3 (and T2.7): every GET page as every role; forbidden canaries in 0 bodies."""
    problems, checked = [], 0
    seen: dict[str, set[str]] = {role: set() for role in ROLES}
    for role in ROLES:
        client = t1.clients[role]
        for url, headers in _pages(t1, role):
            response = client.get(url, headers=headers)
            checked += 1
            assert response.status_code < 500, (url, role)
            body = response.content.decode(errors="replace").lower()
            seen[role] |= {label for label, hex_ in t1.canaries.items() if hex_ in body}
            if t1.users[role] is not None and not private(response):
                problems.append(f"{url} as {role}: not private ({response.get('Cache-Control')})")
    for role in ROLES:
        leaked = sorted(label for label in seen[role] if role not in VISIBLE[label])
        if leaked:
            problems.append(f"{role} saw {leaked}")
    assert not problems, "\n".join(problems)
    record_property("page_role_responses", checked)
    record_property("figure", f"T1.3: {checked} (page x role) responses checked")
    assert checked > 500
    # The sweep can see: every canary shows up for the roles allowed to see it,
    # except these, which no page displays to anyone (only their existence matters).
    # (The outbox rows behind requests; an ended partner, which no list shows.)
    never_displayed = {"OUTP1", "OUTP2", "R4"}
    for label, roles in VISIBLE.items():
        if label in never_displayed:
            continue
        shown_to = {role for role in roles if label in seen[role]}
        assert shown_to == roles, f"{label}: shown to {sorted(shown_to)}, may {sorted(roles)}"
    # T2.7: an accepted reseller sees only the provider that partnered it.
    assert "P1" in seen["r1"] and "P2" not in seen["r1"]
    assert "P2" in seen["r3"] and "P1" not in seen["r3"]
