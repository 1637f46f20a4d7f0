"""T1.1-T1.5, T1.7, T1.8 and T2.7 of RELIABILITY.md: tenant isolation, swept.

The world (tests/reliability/_isolation.py) puts a canary in every name and address of
three providers, four resellers and three customers. The sweeps request every route of
ours as every foreign role and every page as every role, and look for two things: a
status other than the spec's, and a canary the role may not see.
"""

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.urls import resolve, reverse

from customers.models import Customer
from customers.selectors import customer_list
from partners.models import Membership
from partners.permissions import can
from partners.services.partnerships import request_link
from portal.scoping import ScopeError, org_scope, unscoped
from subscriptions.models import Subscription
from tests.reliability._isolation import (
    ORG_OF_ROLE,
    ROLES,
    T1,
    VISIBLE,
    tenant_models,
    tenant_snapshot,
)
from tests.test_tenancy import ORG_ROUTES, our_routes

ROOT = Path(__file__).resolve().parents[2]
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


def _account_body(customer) -> dict:
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
    }.get(route, _account_body(c1))
    # C1 is delegated to R1: R2 (the same provider's other reseller) is a foreigner.
    return Sample("p1", frozenset({"p1", "r1"}), c1.pk, body)


def _subscription(t: T1, route: str) -> Sample:
    key = "s1s" if route == "subscriptions:reactivate" else "s1"
    subscription = t.subscriptions[key]
    body = {"version": subscription.version} | {
        "subscriptions:support-contact": {"contact": t.orgs["p1"].pk},
        "subscriptions:incentive": {"reseller": t.orgs["r2"].pk},
        "subscriptions:licenses": {"quantity": 9},
        "subscriptions:add-licenses": {"count": 2, "idempotency_key": str(uuid.uuid4())},
        "subscriptions:upgrade": {"offer": t.offers["upgrade"].pk},
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


def _object_routes() -> list[str]:
    return sorted(name for name, pattern in our_routes().items() if "<int:pk>" in pattern)


def _url_args(route: str) -> set[str]:
    return set(re.findall(r"<(?:\w+:)?(\w+)>", our_routes()[route])) - {"org_slug"}


def test_every_object_route_has_a_foreign_sample():
    """T1.1: a route added later with an object in its URL fails here, by name."""
    for route in ORG_ROUTES:
        unknown = _url_args(route) - {"pk"}
        assert not unknown, f"{route}: no sample for URL argument(s) {sorted(unknown)}"
    missing = [r for r in _object_routes() if r not in SAMPLES]
    assert not missing, f"routes with an object but no sample in SAMPLES: {missing}"
    assert set(SAMPLES) == set(_object_routes()), "stale entries in SAMPLES"


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
def test_foreign_roles_get_404_and_change_nothing(route, t1):
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
    print(f"T1.2 {route}: {requests} foreign requests")

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
        if "pk" in _url_args(route):
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
    assert count == len([r for r in ORG_ROUTES if "pk" not in _url_args(r)]) * 5 * 2


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
        if "pk" in _url_args(route):
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


def _private(response) -> bool:
    cache_control = response.get("Cache-Control", "")
    vary = [v.strip().lower() for v in response.get("Vary", "").split(",")]
    return ("private" in cache_control or "no-store" in cache_control) and "cookie" in vary


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
            if t1.users[role] is not None and not _private(response):
                problems.append(f"{url} as {role}: not private ({response.get('Cache-Control')})")
    for role in ROLES:
        leaked = sorted(label for label in seen[role] if role not in VISIBLE[label])
        if leaked:
            problems.append(f"{role} saw {leaked}")
    assert not problems, "\n".join(problems)
    record_property("page_role_responses", checked)
    print(f"T1.3: {checked} (page x role) responses checked")
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


# ------------------------------------------------------------------------------
# T1.4 Write-IDOR on choices
# ------------------------------------------------------------------------------
def _options(body: bytes, name: str) -> set[str]:
    html = body.decode()
    match = re.search(rf'<select name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no <select name={name}>"
    return set(re.findall(r'<option value="([^"]*)"', match.group(1)))


def _ids(*orgs) -> set[str]:
    return {str(o.pk) for o in orgs}


def _foreign_orgs(t: T1, provider_key: str = "p1") -> list:
    """Not a choice for P1: another provider's partner, an ended partner, a provider
    (P1 itself included), and an id that does not exist."""
    o = t.orgs
    return [o["r3"], o["r4"], o["p2"], o[provider_key]]


def test_new_customer_wizard_refuses_a_foreign_reseller(t1):
    client, o = t1.clients["p1"], t1.orgs
    url = reverse("subscriptions:new-customer", kwargs={"org_slug": o["p1"].slug})
    page = client.get(url)
    assert _options(page.content, "details-reseller") == {""} | _ids(o["r1"], o["r2"])
    # Another provider's wizard lists its own partners only.
    p2_page = t1.clients["p2"].get(
        reverse("subscriptions:new-customer", kwargs={"org_slug": o["p2"].slug})
    )
    assert _options(p2_page.content, "details-reseller") == {""} | _ids(o["r3"])
    details = {f"details-{k}": v for k, v in _account_body(t1.customers["c1"]).items()} | {
        "details-domain": "brand-new.example",
        "details-agreement_accepted_on": "2026-01-05",
        "details-agreement_accepted_by_name": "Alex Doe",
        "details-agreement_accepted_by_email": "alex@brand-new.example",
        "details-agreement_attested": "on",
        "new_customer_wizard-current_step": "details",
    }
    before = tenant_snapshot()
    for foreign in [*_foreign_orgs(t1), None]:
        pk = foreign.pk if foreign else 987654321
        response = client.post(url, details | {"details-reseller": str(pk)})
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode(), pk
        assert 'name="details-reseller"' in response.content.decode()
    assert tenant_snapshot() == before
    # The same step with a partner goes on to the next step (the body is right).
    ok = client.post(url, details | {"details-reseller": str(o["r1"].pk)})
    assert ok.status_code == 200 and "Select a valid choice" not in ok.content.decode()
    assert 'name="details-reseller"' not in ok.content.decode()


def test_customer_reseller_form_refuses_a_foreign_reseller(t1):
    client, o = t1.clients["p1"], t1.orgs
    customer = t1.customers["c1b"]
    url = reverse("customers:reseller", kwargs={"org_slug": o["p1"].slug, "pk": customer.pk})
    assert _options(client.get(url).content, "reseller") == _ids(o["r1"], o["r2"])
    before = tenant_snapshot()
    for foreign in _foreign_orgs(t1):
        response = client.post(url, {"reseller": foreign.pk})
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
    assert tenant_snapshot() == before
    with unscoped("test: reread"):
        assert Customer.objects.get(pk=customer.pk).reseller is None


def test_add_subscription_refuses_foreign_resellers_and_retired_offers(t1):
    client, o, offers = t1.clients["p1"], t1.orgs, t1.offers
    customer = t1.customers["c1b"]
    url = reverse("subscriptions:add", kwargs={"org_slug": o["p1"].slug, "pk": customer.pk})
    page = client.get(url).content.decode()
    assert _options(page.encode(), "reseller") == {""} | _ids(o["r1"], o["r2"])
    offered = set(re.findall(r'name="offer_(\d+)"', page))
    assert offered == {str(offers["base"].pk), str(offers["upgrade"].pk)}
    key = str(uuid.uuid4())
    line = {f"offer_{offers['base'].pk}": "2", "idempotency_key": key}
    before = tenant_snapshot()
    for foreign in _foreign_orgs(t1):
        response = client.post(url, line | {"reseller": foreign.pk})
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
    retired = {f"offer_{offers['retired'].pk}": "2", "idempotency_key": key, "reseller": ""}
    response = client.post(url, retired | {"confirm_no_incentive": "on"})
    assert response.status_code == 200
    assert "Choose at least one subscription" in response.content.decode()
    assert tenant_snapshot() == before


@pytest.mark.parametrize(
    ("route", "field", "choices"),
    [
        # The provider, or the reseller the customer is delegated to (R1), only.
        ("subscriptions:support-contact", "contact", lambda o: _ids(o["p1"], o["r1"])),
        ("subscriptions:incentive", "reseller", lambda o: {""} | _ids(o["r1"], o["r2"])),
        ("subscriptions:upgrade", "offer", None),
    ],
)
def test_subscription_actions_refuse_foreign_choices(route, field, choices, t1):
    """The actions post from the detail page and answer with a redirect back to it,
    carrying the form error as a message (the page itself re-renders with 200)."""
    client, o = t1.clients["p1"], t1.orgs
    subscription = t1.subscriptions["s1"]
    detail = reverse(
        "subscriptions:detail", kwargs={"org_slug": o["p1"].slug, "pk": subscription.pk}
    )
    url = reverse(route, kwargs={"org_slug": o["p1"].slug, "pk": subscription.pk})
    page = client.get(detail).content.decode()
    form = re.search(rf'<form[^>]*action="{re.escape(url)}".*?</form>', page, re.S)
    assert form, route
    expected = choices(o) if choices else {str(t1.offers["upgrade"].pk)}
    assert _options(form.group(0).encode(), field) == expected
    if route == "subscriptions:support-contact":
        # P2's subscription of an undelegated customer offers P2 only.
        s2 = t1.subscriptions["s2"]
        p2_page = t1.clients["p2"].get(
            reverse("subscriptions:detail", kwargs={"org_slug": o["p2"].slug, "pk": s2.pk})
        )
        assert _options(p2_page.content, "contact") == _ids(o["p2"])
    foreign = (
        [t1.offers["retired"], t1.offers["base"]]
        if route == "subscriptions:upgrade"
        else _foreign_orgs(t1, provider_key="p2")
    )
    before = tenant_snapshot()
    for obj in foreign:
        response = client.post(url, {"version": subscription.version, field: obj.pk}, follow=True)
        assert response.redirect_chain[0] == (detail, 302)
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode(), (route, obj)
    assert tenant_snapshot() == before


def test_filter_choices_list_only_what_the_role_sees(t1):
    """Filter dropdowns are choice lists too (django-filter builds them per request)."""
    o, users = t1.orgs, t1.users

    def page(role, route):
        return t1.clients[role].get(reverse(route, kwargs={"org_slug": o[role].slug})).content

    assert _options(page("p1", "customers:list"), "reseller") == {"", "none"} | _ids(
        o["r1"], o["r2"]
    )
    assert _options(page("r1", "customers:list"), "provider") == {""} | _ids(o["p1"])
    # Activity "User": the organization's own members, and people who acted on entries
    # it may see (P1's admin on R1's partnership; R1m is R1's, though idle).
    r1_members = [m.user for m in t1.members.values() if m.organization_id == o["r1"].pk]
    assert len(r1_members) == 2
    assert _options(page("r1", "activity"), "actor") == {""} | _ids(users["p1"], *r1_members)
    assert _options(page("r2", "activity"), "actor") == {""} | _ids(users["r2"])
    assert _options(page("p2", "activity"), "actor") == {""} | _ids(users["p2"])


# ------------------------------------------------------------------------------
# T1.5 Guard completeness
# ------------------------------------------------------------------------------
GLOBAL_MODELS = {
    "portal.User": "a person exists before and across organizations; allauth resolves it",
    "portal.OutboundEmail": "the outbox holds rendered mail, no tenant key; the sweeper is global",
    "partners.Organization": "what a scope is resolved from (the tenant itself)",
    "partners.Membership": "resolves the scope in the middleware; always filtered by user",
    "partners.MailboxProof": "a person's proof of their mailbox, read only by user and address",
    "subscriptions.Offer": "the catalog, shared by every provider and managed by staff",
}


def test_every_tenant_model_refuses_to_query_outside_a_scope():
    """T1.5: 100% of our models are either guarded or listed as global with a reason."""
    guarded = []
    for model in tenant_models():
        if model._meta.label in GLOBAL_MODELS:
            continue
        with pytest.raises(ScopeError):
            list(model._default_manager.all())
        with pytest.raises(ScopeError):
            model._default_manager.filter(pk=1).exists()
        guarded.append(model._meta.label)
    assert set(GLOBAL_MODELS) <= {m._meta.label for m in tenant_models()}, "stale global list"
    assert len(guarded) == 8, guarded


def test_a_selector_called_without_a_scope_raises_and_a_scope_filters(t1):
    with pytest.raises(ScopeError):
        list(customer_list(org=t1.orgs["p1"]))
    c1, c1b, c2 = (t1.customers[k].pk for k in ("c1", "c1b", "c2"))
    with org_scope(t1.orgs["r2"]):
        # The same provider's other reseller: not C1, even asked for by id.
        assert not Customer.objects.filter(pk=c1).exists()
        assert set(Subscription.objects.values_list("pk", flat=True)) == {
            t1.subscriptions["s1b"].pk
        }
    with org_scope(t1.orgs["p2"]):
        assert set(Customer.objects.values_list("pk", flat=True)) == {c2}
    with org_scope(t1.customers["c1"]):
        assert set(Customer.objects.values_list("pk", flat=True)) == {c1}
    with org_scope(t1.orgs["p1"]):
        assert set(Customer.objects.values_list("pk", flat=True)) == {c1, c1b}


# ------------------------------------------------------------------------------
# T1.7 Cache and headers
# ------------------------------------------------------------------------------
@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/1",
            "KEY_PREFIX": f"t1-{uuid.uuid4().hex}",
        }
    }
    from django.core.cache import cache

    yield cache
    cache.clear()


CACHED_PAGES = [
    "dashboard",
    "activity",
    "customers:list",
    "subscriptions:list",
    "team:list",
    "partners:reseller-list",
    "partners:provider-list",
]


def test_pages_of_one_organization_never_reach_another(t1, redis_cache):
    """T1.7: with the real Redis cache, P1 then P2 (and R1 then R2) on the same pages."""
    redis_cache.set("probe", "ok")
    assert redis_cache.get("probe") == "ok"  # the real cache is in use
    checked = 0
    for first, second in (("p1", "p2"), ("r1", "r2")):
        for route in CACHED_PAGES:
            for slug_of in (first, second):
                url = reverse(route, kwargs={"org_slug": t1.orgs[slug_of].slug})
                for role in (first, second):
                    response = t1.clients[role].get(url)
                    checked += 1
                    assert _private(response), (url, role, response.get("Cache-Control"))
                    if role == second:
                        assert not t1.leaks(second, response.content), (url, role)
    assert checked == 2 * len(CACHED_PAGES) * 4
    # The Setup info page (the one-time password) is never stored anywhere.
    c1 = t1.customers["c1"]
    url = reverse("customers:setup-info", kwargs={"org_slug": t1.orgs["p1"].slug, "pk": c1.pk})
    response = t1.clients["p1"].get(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_no_view_or_template_caches_pages():
    """No cache_page, per-site cache, template fragment cache or memoized tenant data."""
    patterns = re.compile(r"cache_page|CacheMiddleware|\{%\s*cache\s|lru_cache|functools\.cache\b")
    offenders = []
    for app in ("portal", "partners", "customers", "subscriptions", "templates"):
        for path in (ROOT / app).rglob("*"):
            ours = path.suffix in {".py", ".html", ".txt"} and "migrations" not in path.parts
            if ours and patterns.search(path.read_text(errors="replace")):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# ------------------------------------------------------------------------------
# T1.8 The admin
# ------------------------------------------------------------------------------
def test_admin_is_for_superusers_only(t1, client_for):
    import logging

    from tests.factories import UserFactory

    class Lines(logging.Handler):
        def __init__(self):
            super().__init__(logging.INFO)
            self.lines = []

        def emit(self, record):
            self.lines.append(record.getMessage())

    index = reverse("admin:index")
    plain_staff = UserFactory(email="staff-not-super@example.test", is_staff=True)
    for user in (plain_staff, t1.users["p1"], t1.users["r1"], t1.users["c1"]):
        assert client_for(user).get(index, follow=True).status_code == 404, user
    anonymous = t1.clients["anonymous"].get(index, follow=True)
    assert urlparse(anonymous.redirect_chain[-1][0]).path == LOGIN
    log, handler = logging.getLogger("portal.admin.access"), Lines()
    log.addHandler(handler)
    try:
        response = t1.clients["staff"].get(index)
        client_for(plain_staff).get(index)
    finally:
        log.removeHandler(handler)
    assert response.status_code == 200
    assert _private(response)
    # Every staff access is logged, with who and what; refused visitors are not staff.
    assert handler.lines == [f"staff admin access: {t1.users['staff'].email} GET {index}"]


def test_admin_login_goes_through_allauth_rate_limits(t1, settings, redis_cache):
    settings.ACCOUNT_RATE_LIMITS = {}  # allauth's defaults: login_failed 5/300s per account
    client = t1.clients["anonymous"]
    login = client.get(reverse("admin:index"), follow=True).redirect_chain[-1][0]
    assert urlparse(login).path == LOGIN
    email = t1.users["staff"].email
    for attempt in range(1, 7):
        response = client.post(login, {"login": email, "password": f"wrong-{attempt}"})
        assert response.status_code == 200, attempt
        too_many = "Too many failed login attempts" in response.content.decode()
        assert too_many == (attempt == 6), attempt
    # Locked out: even the right password is refused now.
    from tests.factories import PASSWORD

    response = client.post(login, {"login": email, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302
