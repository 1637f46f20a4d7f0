"""TablePaginator: every row once, in order, whichever end a page is read from; huge
lists counted once, then answered from the cache."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer
from portal.scoping import unscoped
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def ids_on(page) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="customer-(\d+)"', page.content.decode())]


@pytest.mark.parametrize("sort", ["company_name", "-company_name"])
def test_pages_hold_every_row_once_in_order_from_either_end(sort, world, client_for):
    with unscoped("test setup"):
        for n in range(23):  # ten share a name: only the id orders them
            CustomerFactory(provider=world.provider, company_name="Same" if n < 10 else f"C{n}")
        expected = list(
            Customer.objects.filter(provider=world.provider)
            .order_by(sort, "-pk" if sort.startswith("-") else "pk")
            .values_list("pk", flat=True)
        )
    client = client_for(world.provider_admin)
    path = reverse("customers:list", kwargs={"org_slug": world.provider.slug})
    seen = []
    for number in range(1, 6):  # pages 4 and 5 are read backwards from the end
        seen += ids_on(client.get(path, {"sort": sort, "per_page": 5, "page": number}))
    assert seen == expected
    assert ids_on(client.get(path, {"sort": sort, "per_page": 5, "page": "last"})) == expected[20:]


def test_a_huge_list_is_counted_once_then_from_the_cache(world, client_for, settings):
    settings.LIST_EXACT_COUNT_LIMIT = 5  # "huge" is anything over 5 rows here
    with unscoped("test setup"):
        CustomerFactory.create_batch(11, provider=world.provider)
        CustomerFactory(provider=world.provider, company_name="Zzyzx Traders")
    client = client_for(world.provider_admin)
    path = reverse("customers:list", kwargs={"org_slug": world.provider.slug})
    client.get(path, {"q": "no such customer"})  # the session's first visit

    def counts(params) -> tuple[list[str], str]:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(path, {"per_page": 5, **params})
        sql = [q["sql"] for q in queries]
        counted = [q for q in sql if q.startswith("SELECT COUNT(*)")]
        return [q for q in counted if '"customers_customer"' in q.split("WHERE")[0]], page

    first, page = counts({})
    assert len(first) == 2  # the bounded count found more than 5, then the full count
    assert "LIMIT 6" in first[0] and "LIMIT" not in first[1]
    assert 'aria-current="page">1<' in page.content.decode()
    assert "?per_page=5&amp;page=3" in page.content.decode()  # 12 rows: 3 pages
    again, page = counts({"page": 3})
    assert again == []  # from the cache
    assert len(ids_on(page)) == 2
    small, _ = counts({"q": "Zzyzx"})  # a short list is counted exactly, every time
    assert len(small) == 1 and "LIMIT 6" in small[0]
