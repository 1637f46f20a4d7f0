"""T5.8 / T4.7 beyond the forms: hostile query strings on every list page, bad quantities to
the license forms, and output escaping of stored payloads on every page and CSV export.
"""

import csv
import html
import io
import re
from dataclasses import dataclass

import django_filters
import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from partners.models import (
    Membership,
    Partnership,
    PartnershipRequest,
)
from portal.scoping import unscoped
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    ResellerFactory,
    UserFactory,
)
from tests.reliability._bad_input import TALLY, Fuzz, account, form_classes
from tests.reliability._fuzz import (
    HOSTILE_VALUES,
    LIST_SETTINGS,
    XSS,
    assert_escaped,
    body_of,
    snapshot,
)

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------
# List pages: filters, search, sort, page and export parameters (GET)
# ------------------------------------------------------------------------------
@dataclass
class ListPage:
    name: str
    filtersets: tuple[str, ...]
    persona: str
    org: str  # "provider" or "reseller"
    params: tuple[str, ...]  # the querystring keys the page reads


COMMON_PARAMS = ("sort", "page", "per_page", "_export")
LIST_PAGES = [
    ListPage(
        "customers:list",
        ("customers.filters.CustomerFilter",),
        "provider_sales",
        "provider",
        ("q", "reseller", "provider", *COMMON_PARAMS),
    ),
    ListPage(
        "customers:list",
        ("customers.filters.CustomerFilter",),
        "reseller_admin",
        "reseller",
        ("q", "reseller", "provider", *COMMON_PARAMS),
    ),
    ListPage(
        "team:list",
        ("partners.filters.MemberFilter",),
        "provider_admin",
        "provider",
        ("q", "role", "inv-page", "inv-sort", *COMMON_PARAMS),
    ),
    ListPage(
        "partners:reseller-list",
        (
            "partners.filters.PartnerResellerFilter",
            "customers.filters.ResellerCustomersFilter",
            "partners.filters.PartnershipRequestFilter",
        ),
        "provider_admin",
        "provider",
        ("q", "customers", "requests", "req-page", "req-sort", *COMMON_PARAMS),
    ),
    ListPage(
        "activity",
        ("partners.filters.ActivityFilter",),
        "provider_admin",
        "provider",
        ("kind", "actor", "created_at_after", "created_at_before", "date_after", *COMMON_PARAMS),
    ),
    ListPage(
        "subscriptions:list",
        ("subscriptions.filters.SubscriptionFilter",),
        "provider_support",
        "provider",
        ("q", "status", "offer", "reseller", "renews_within", "at_term_end", *COMMON_PARAMS),
    ),
    ListPage(
        "subscriptions:list",
        ("subscriptions.filters.SubscriptionFilter",),
        "reseller_admin",
        "reseller",
        ("q", "status", "offer", "named", "renews_within", "at_term_end", *COMMON_PARAMS),
    ),
    ListPage("partners:provider-list", (), "reseller_admin", "reseller", COMMON_PARAMS),
]
# The brief's named cases, on every list page.
NAMED_QUERIES = [
    {"page": "abc"},
    {"page": "999999"},
    {"page": "-1"},
    {"page": "0"},
    {"per_page": "0"},
    {"per_page": "-5"},
    {"per_page": str(10**12)},
    {"sort": "nonexistent"},
    {"sort": "-__class__"},
    {"created_at_after": "2026-13-45", "date_after": "2026-13-45"},
    {"created_at_before": "0000-00-00"},
    {"q": "\x00"},
    {"q": "'; DROP TABLE customers_customer;--"},
    {"reseller": "abc"},
    {"reseller": str(10**30)},
    {"provider": "-1"},
    {"actor": "1.5"},
    {"kind": "<script>"},
    {"_export": "xlsx"},
    {"_export": "csv", "q": '<script>alert("fz")</script>'},
]


def test_every_filter_set_is_fuzzed():
    ours = form_classes(
        lambda cls: (
            issubclass(cls, django_filters.FilterSet) and cls is not django_filters.FilterSet
        )
    )
    covered = {name for page in LIST_PAGES for name in page.filtersets}
    assert ours - covered == set(), "filter sets with no bad-input case; add them to LIST_PAGES"


def _list_url(page: ListPage, fz: Fuzz) -> str:
    org = fz.world.provider if page.org == "provider" else fz.world.reseller
    return fz.org_url(page.name, org)


def _get_and_check(client, url: str, query: dict, before: dict):
    response = client.get(url, query)
    assert response.status_code < 500, (url, query)
    body = body_of(response)
    assert_escaped(body, query)
    assert snapshot() == before, "a list page wrote rows"
    return response, body


@pytest.mark.parametrize("page", LIST_PAGES, ids=lambda page: f"{page.name}-{page.persona}")
def test_hostile_querystrings_on_list_pages(page, fz, client_for):
    client = client_for(getattr(fz.world, page.persona))
    url = _list_url(page, fz)
    before = snapshot()
    for query in NAMED_QUERIES:
        response, _body = _get_and_check(client, url, query, before)
        assert response.status_code == 200, (query, response.status_code)

    @LIST_SETTINGS
    @given(query=st.dictionaries(st.sampled_from(page.params), HOSTILE_VALUES, max_size=4))
    def example(query):
        response, _body = _get_and_check(client, url, query, before)
        assert response.status_code == 200, (query, response.status_code)
        TALLY.add(f"GET {page.name}", "ok")

    example()


# ------------------------------------------------------------------------------
# T4.7: bad quantities through the license-change and add-subscription forms
# ------------------------------------------------------------------------------
BAD_QUANTITIES = ["0", "-1", "1.5", "abc", "", str(10**12), "1\x00"]
QUANTITY_MESSAGES = {
    "0": "at least 1",
    "-1": "at least 1",
    "1.5": "whole number",
    "abc": "whole number",
    "": "Enter the number of licenses",
    str(10**12): "takes 1 to 300 licenses",
    "1\x00": "whole number",
}


@pytest.mark.parametrize("quantity", BAD_QUANTITIES, ids=repr)
def test_bad_quantity_to_license_change(quantity, fz, client_for):
    client = client_for(fz.world.provider_sales)
    before = snapshot()
    response = client.post(
        fz.org_url("subscriptions:licenses", pk=fz.subscription.pk),
        {"version": fz.subscription.version, "quantity": quantity},
        follow=True,
    )
    assert response.status_code == 200
    body = body_of(response)
    errors = re.findall(r'<p class="message message--error">(.*?)</p>', body, re.S)
    assert len(errors) == 1, body
    assert QUANTITY_MESSAGES[quantity] in errors[0]
    assert "licenses" in errors[0].lower() or "license" in errors[0].lower()
    assert snapshot() == before
    fz.subscription.refresh_from_db()
    assert fz.subscription.quantity == 5


@pytest.mark.parametrize("quantity", BAD_QUANTITIES, ids=repr)
def test_bad_quantity_to_add_subscription(quantity, fz, client_for):
    client = client_for(fz.world.provider_sales)
    before = snapshot()
    field = f"offer_{fz.basic.pk}"
    response = client.post(
        fz.org_url("subscriptions:add", pk=fz.customer.pk),
        {
            field: quantity,
            "reseller": fz.world.reseller.pk,
            "idempotency_key": "6f1c9a55-7d0e-4b8e-9f43-0d1f7e2a9b11",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    # Blank means "not this offer": then the form asks to choose one, at the top.
    messages = form.errors.get(field) or form.non_field_errors()
    assert messages, form.errors
    shown = body_of(response)
    assert all(str(m) in html.unescape(shown) for m in messages)
    assert snapshot() == before


# ------------------------------------------------------------------------------
# Output escaping: hostile names stored directly, then every page and export rendered
# ------------------------------------------------------------------------------
SCRIPT, IMG, SVG, BOLD = XSS
FORMULA = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def hostile_world(fz):
    """Names an attacker controls (their company, their profile, a request) carrying
    payloads, stored without going through any form."""
    world = fz.world
    with unscoped("hostile fixtures"):
        reseller = world.reseller
        reseller.name = IMG
        reseller.save(update_fields=["name"])
        world.other_provider.name = SVG
        world.other_provider.save(update_fields=["name"])
        fz.customer.company_name = SCRIPT
        fz.customer.city = BOLD
        fz.customer.contact_first_name = FORMULA
        fz.customer.save()
        CustomerFactory(provider=world.provider, company_name=FORMULA)
        CustomerFactory(provider=world.provider, company_name="+SUM(1,2)")
        CustomerFactory(provider=world.provider, company_name="@cmd|' /C calc'!A0")
        CustomerFactory(provider=world.provider, company_name="-2+3")
        evil = UserFactory(email="evil@example.test", first_name=SCRIPT, last_name=IMG)
        MembershipFactory(organization=world.provider, user=evil, role="support_agent")
        MembershipFactory(organization=reseller, user=evil, role="sales_agent")
        fz.basic.name = BOLD
        fz.basic.save(update_fields=["name"])
        PartnershipRequest.objects.filter(pk=fz.pending.pk).update(contact_name=SCRIPT)
        second = ResellerFactory(name=SCRIPT, partner_id="99999999")
        Partnership.objects.create(provider=world.provider, reseller=second)
    return fz


def _pages(fz: Fuzz) -> list[tuple[str, str]]:
    """(persona, url) for every page that shows the stored names."""
    p1, r1 = fz.world.provider, fz.world.reseller
    sub = {"pk": fz.subscription.pk}
    cust = {"pk": fz.customer.pk}
    with unscoped("page list"):
        member = Membership.objects.get(user__email="evil@example.test", organization=p1)
        partnership = Partnership.objects.filter(provider=p1, reseller=r1).get()
    provider_pages = [
        ("dashboard", {}),
        ("activity", {}),
        ("partners:reseller-list", {}),
        ("partners:request-create", {}),
        ("partners:partnership-end", {"pk": partnership.pk}),
        ("customers:list", {}),
        ("customers:detail", cust),
        ("customers:row", cust),
        ("customers:edit", cust),
        ("customers:reseller", cust),
        ("customers:reseller-remove", cust),
        ("subscriptions:new-customer", {}),
        ("subscriptions:add", cust),
        ("subscriptions:list", {}),
        ("subscriptions:detail", sub),
        ("subscriptions:cancel", sub),
        ("team:list", {}),
        ("team:edit", {"pk": member.pk}),
        ("team:remove", {"pk": member.pk}),
    ]
    reseller_pages = [
        ("dashboard", {}),
        ("activity", {}),
        ("partners:provider-list", {}),
        ("customers:list", {}),
        ("customers:detail", cust),
        ("customers:edit", cust),
        ("subscriptions:list", {}),
        ("subscriptions:detail", sub),
        ("team:list", {}),
    ]
    return (
        [("provider_admin", fz.org_url(name, p1, **kw)) for name, kw in provider_pages]
        + [("reseller_admin", fz.org_url(name, r1, **kw)) for name, kw in reseller_pages]
        + [("reseller_admin", reverse("partnership-accept"))]
    )


def test_stored_payloads_are_escaped_on_every_page(hostile_world, client_for):
    fz = hostile_world
    clients = {
        "provider_admin": client_for(fz.world.provider_admin),
        "reseller_admin": client_for(fz.world.reseller_admin),
    }
    # Some activity with the names in it, and the link page of P2's request.
    clients["reseller_admin"].get(reverse("partnership-link", kwargs={"token": fz.incoming_token}))
    rendered = 0
    for persona, url in _pages(fz):
        response = clients[persona].get(url, {"q": SCRIPT} if url.endswith("/list/") else {})
        assert response.status_code == 200, (persona, url, response.status_code)
        body = body_of(response)
        for marker in XSS.values():
            assert marker not in body, (url, marker)
        rendered += 1
    assert rendered == len(_pages(fz))


EXPORTS = ["customers:list", "activity", "partners:reseller-list"]  # the provider's CSVs


@pytest.mark.parametrize("route", EXPORTS)
def test_csv_exports_neutralise_formulas(route, hostile_world, client_for):
    """OWASP CSV injection: a cell starting with = + - @ (or tab / CR) runs as a formula
    in a spreadsheet; exported cells must start with a ' instead."""
    fz = hostile_world
    client = client_for(fz.world.provider_admin)
    # Leave a trail in the activity: rename the customer through the form.
    client.post(fz.org_url("customers:edit", pk=fz.customer.pk), account(company_name=FORMULA))
    response = client.get(fz.org_url(route), {"_export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body_of(response))))
    cells = [cell for row in rows[1:] for cell in row]
    assert cells, "the export is empty"
    dangerous = [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []
    if route == "customers:list":  # the hostile company names are there, made inert
        assert any(cell.startswith(("'=", "'+", "'@", "'-")) for cell in cells)
