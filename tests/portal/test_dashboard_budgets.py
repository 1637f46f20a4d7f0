"""The dashboards run a fixed number of queries however much the organization has (issue
19), with the big counts computed (a cold cache) and read from the cache (a warm one)."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partners.models import AuditEvent, Partnership
from portal.scoping import unscoped
from tests.factories import (
    CustomerFactory,
    OfferFactory,
    ProviderFactory,
    ResellerFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

# role: (organization, budget with a cold cache, budget with a warm one). Past the
# session and membership, each figure is one query; the warm cache saves the big ones.
BUDGETS = {
    "provider_admin": ("provider", 15, 10),
    "reseller_admin": ("reseller", 12, 8),
}


def populate(world, rows: int) -> None:
    """`rows` of everything the dashboards count, for P1 and R1 (partners of each other)."""
    with unscoped("test setup"):
        p1, r1 = world.provider, world.reseller
        Partnership.objects.create(provider=p1, reseller=r1)
        for _ in range(rows - 1):
            Partnership.objects.create(provider=p1, reseller=ResellerFactory())
            Partnership.objects.create(provider=ProviderFactory(), reseller=r1)
        offers = [OfferFactory() for _ in range(min(rows, 5))]
        for n in range(rows):
            customer = CustomerFactory(provider=p1, reseller=r1 if n % 2 == 0 else None)
            SubscriptionFactory(customer=customer, offer=offers[n % len(offers)], reseller=r1)
            AuditEvent.objects.create(
                organization=p1, provider=p1, reseller=r1, verb="customer.created", target=n
            )


def queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("rows", [1, 60])
@pytest.mark.parametrize("role", BUDGETS)
def test_the_dashboards_run_a_constant_number_of_queries(
    role, rows, world, client_for, django_assert_max_num_queries
):
    populate(world, rows)
    org_attr, cold, warm = BUDGETS[role]
    path = reverse("dashboard", kwargs={"org_slug": getattr(world, org_attr).slug})
    client = client_for(getattr(world, role))
    client.get(reverse("team:list", kwargs={"org_slug": getattr(world, org_attr).slug}))
    cache.clear()
    with django_assert_max_num_queries(cold):
        client.get(path)
    with django_assert_max_num_queries(warm):
        response = client.get(path)
    assert response.status_code == 200


@pytest.mark.parametrize("role", BUDGETS)
def test_sixty_rows_cost_the_queries_of_one(role, world, client_for):
    """The budgets above are maxima; this is the stronger claim."""
    org_attr = BUDGETS[role][0]
    path = reverse("dashboard", kwargs={"org_slug": getattr(world, org_attr).slug})
    client = client_for(getattr(world, role))
    populate(world, 1)
    client.get(path)
    cache.clear()
    one = (queries(client, path), queries(client, path))
    with unscoped("test setup"):
        for n in range(59):
            customer = CustomerFactory(provider=world.provider, reseller=world.reseller)
            SubscriptionFactory(customer=customer, offer=OfferFactory(), reseller=world.reseller)
            Partnership.objects.create(provider=world.provider, reseller=ResellerFactory())
            Partnership.objects.create(provider=ProviderFactory(), reseller=world.reseller)
            AuditEvent.objects.create(
                organization=world.provider,
                provider=world.provider,
                verb="customer.created",
                target=n,
            )
    cache.clear()
    assert (queries(client, path), queries(client, path)) == one
