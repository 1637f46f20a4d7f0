"""T1.4 and T1.5 of RELIABILITY.md: foreign choices in forms are refused (write-IDOR), and
every tenant model and selector refuses to run outside a scope.
"""

import re
import uuid

import pytest
from django.urls import reverse

from customers.models import Customer
from customers.selectors import customer_list
from portal.scoping import ScopeError, org_scope, unscoped
from subscriptions.models import Subscription
from tests.reliability._isolation import (
    T1,
    account_body,
    tenant_models,
    tenant_snapshot,
)


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
    details = {f"details-{k}": v for k, v in account_body(t1.customers["c1"]).items()} | {
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
    assert len(guarded) == 11, guarded  # + the renewal tables (issue 16)


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
