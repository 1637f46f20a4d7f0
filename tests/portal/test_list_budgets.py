"""Every list page runs the same number of queries with 1 row as with 200, within a fixed
budget, and its selectors refuse lazy fetches (FETCH_RAISE), so an N+1 fails loudly."""

import pytest
from django.core.exceptions import FieldFetchBlocked
from django.db import connection
from django.db.models import FETCH_RAISE
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.selectors import customer_list
from partners.models import AuditEvent, Membership, Partnership
from partners.selectors import (
    activity_list,
    member_list,
    partner_provider_list,
    partner_reseller_list,
    partnership_request_list,
    team_invitation_list,
)
from portal.scoping import unscoped
from subscriptions.selectors import subscription_list, subscription_table
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    OfferFactory,
    ProviderFactory,
    ResellerFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

# page: (who looks, URL name, query budget). The budget is what the page needs with one
# row; the test proves 200 rows need no more.
PAGES = {
    "provider customers": ("provider_admin", "customers:list", 9),
    "reseller customers": ("reseller_admin", "customers:list", 9),
    "indirect resellers": ("provider_admin", "partners:reseller-list", 9),
    "providers": ("reseller_admin", "partners:provider-list", 8),
    "provider activity": ("provider_admin", "activity", 10),
    "reseller activity": ("reseller_admin", "activity", 10),
    "users": ("provider_admin", "team:list", 9),
    "provider subscriptions": ("provider_admin", "subscriptions:list", 8),
    "reseller subscriptions": ("reseller_admin", "subscriptions:list", 8),
    "a customer's subscriptions": ("provider_admin", "customers:detail", 10),
    "customer admin's subscriptions": ("customer", "customer-home", 8),
}


def populate(world, rows: int):
    """`rows` of everything each page lists, for P1 and R1 (partners of each other)."""
    with unscoped("test setup"):
        p1, r1 = world.provider, world.reseller
        Partnership.objects.create(provider=p1, reseller=r1)
        for _ in range(rows - 1):
            Partnership.objects.create(provider=p1, reseller=ResellerFactory())
            Partnership.objects.create(provider=ProviderFactory(), reseller=r1)
        offer = OfferFactory()
        customers = [
            CustomerFactory(provider=p1, reseller=r1 if n % 2 == 0 else None) for n in range(rows)
        ]
        for customer in customers:
            SubscriptionFactory(customer=customer, offer=offer, reseller=r1, support_contact=r1)
        busy = customers[0]
        for _ in range(rows - 1):
            SubscriptionFactory(customer=busy, offer=offer)
        for n in range(rows):
            MembershipFactory(organization=p1, role=Membership.Role.SALES_AGENT)
            AuditEvent.objects.create(
                organization=p1, provider=p1, reseller=r1, verb="customer.created", target=n
            )
    return busy


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(queries)


@pytest.mark.parametrize("rows", [1, 200])
@pytest.mark.parametrize("page", PAGES)
def test_list_pages_run_a_constant_number_of_queries(
    page, rows, world, client_for, django_assert_max_num_queries
):
    busy = populate(world, rows)
    role, name, budget = PAGES[page]
    user = busy.admin_user if role == "customer" else getattr(world, role)
    org = world.provider if role == "provider_admin" else world.reseller
    if name == "customer-home":
        path = reverse(name)
    elif name == "customers:detail":
        path = reverse(name, kwargs={"org_slug": org.slug, "pk": busy.pk})
    else:
        path = reverse(name, kwargs={"org_slug": org.slug})
    client = client_for(user)
    client.get(path)  # the first visit may write the session's organization
    with django_assert_max_num_queries(budget):
        response = client.get(path)
    assert response.status_code == 200
    # The rows are really on the page: a table of 25 at most.
    assert response.content.decode().count("<tr") >= min(rows, 25)


def test_two_hundred_rows_cost_the_queries_of_one(world, client_for):
    """The budgets above are maxima; this is the stronger claim, page by page."""
    one = {}
    busy = populate(world, 1)
    for page, (role, name, _) in PAGES.items():
        if role == "customer" or name == "customers:detail":
            continue
        org = world.provider if role == "provider_admin" else world.reseller
        client = client_for(getattr(world, role))
        path = reverse(name, kwargs={"org_slug": org.slug})
        client.get(path)
        one[page] = (client, path, count_queries(client, path))
    with unscoped("test setup"):
        more_customers = [
            CustomerFactory(provider=world.provider, reseller=world.reseller) for _ in range(60)
        ]
        for customer in more_customers:
            SubscriptionFactory(customer=customer, reseller=world.reseller)
            AuditEvent.objects.create(
                organization=world.provider,
                provider=world.provider,
                reseller=world.reseller,
                verb="customer.created",
                target=customer.company_name,
            )
        for _ in range(60):
            MembershipFactory(organization=world.provider, role=Membership.Role.SALES_AGENT)
            Partnership.objects.create(provider=world.provider, reseller=ResellerFactory())
            Partnership.objects.create(provider=ProviderFactory(), reseller=world.reseller)
    assert busy
    for page, (client, path, queries) in one.items():
        # The first view after the change may fill caches (the resellers' counts: two
        # grouped queries whatever the rows); the next costs exactly what one row did.
        assert count_queries(client, path) <= queries + 2, page
        assert count_queries(client, path) == queries, page


def test_list_selectors_refuse_lazy_fetches(world):
    """FETCH_RAISE on every list selector: a template touching a relation the selector
    did not load raises instead of running one query per row."""
    with unscoped("test setup"):
        Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        customer = CustomerFactory(provider=world.provider, reseller=world.reseller)
    with unscoped("building the selectors' querysets"):
        querysets = selectors(world, customer)
    for queryset in querysets:
        assert queryset._fetch_mode is FETCH_RAISE, queryset.model
    with unscoped("the N+1 the fetch mode stops"):
        row = customer_list(org=world.provider).defer("domain").get(pk=customer.pk)
        with pytest.raises(FieldFetchBlocked):
            row.admin_user  # noqa: B018 (not select_related by the list: must not load)
        with pytest.raises(FieldFetchBlocked):
            row.domain  # noqa: B018 (deferred)


def selectors(world, customer) -> list:
    return [
        customer_list(org=world.provider),
        activity_list(org=world.provider),
        member_list(org=world.provider),
        team_invitation_list(org=world.provider),
        partner_reseller_list(org=world.provider),
        partner_provider_list(org=world.reseller),
        partnership_request_list(org=world.provider),
        subscription_table(org=world.provider),
        subscription_list(customer=customer),
    ]
