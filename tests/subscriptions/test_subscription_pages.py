"""The subscription's detail page and the Subscriptions list: what each role sees, and a
constant number of queries.
"""

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from portal.scoping import unscoped
from subscriptions.models import SubscriptionEvent
from subscriptions.services.lifecycle import end_partnership  # the partnership and what it carried
from tests.factories import (
    CustomerFactory,
    OfferFactory,
    SubscriptionFactory,
    UserFactory,
)
from tests.subscriptions._shop import act, fresh, open_window_dates, persona, sub_url, update, url

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------
# The detail page
# ------------------------------------------------------------------------------
def test_the_detail_page_shows_the_subscription_and_its_history(world, shop, client_for):
    sub = shop.subscription
    act(client_for(world.provider_admin), world.provider, "licenses", sub, quantity=9)
    page = client_for(world.provider_support).get(sub_url(world.provider, "detail", sub))
    assert page.status_code == 200
    body = page.content.decode()
    created = fresh(sub).created_at
    for text in (
        "Business Basic",
        "BASIC",
        "<dd>9</dd>",
        "<dd>Active</dd>",
        "1 year · billed monthly",
        date_format(timezone.localtime(created), "DATETIME_FORMAT"),
        "Northwind Test",  # associated reseller
        "Contoso Test",  # support contact: the provider by default
        "p1-admin@example.test",  # who
        "Created with 5 licenses · associated with Northwind Test",
        "Licenses changed from 5 to 9",
    ):
        assert text in body, text


def test_what_the_detail_page_offers_depends_on_the_role(world, shop, client_for):
    sub = shop.subscription
    forms = {
        "support": "subscriptions:support-contact",
        "incentive": "subscriptions:incentive",
        "licenses": "subscriptions:licenses",
        "auto": "subscriptions:auto-renew",
        "upgrade": "subscriptions:upgrade",
        "suspend": "subscriptions:suspend",
        "cancel": "subscriptions:cancel",
    }
    expected = {
        (world.provider_admin, world.provider): set(forms),
        (world.provider_support, world.provider): {"support"},
        (world.reseller_admin, world.reseller): {"licenses", "suspend"},
        (shop.r2_admin, shop.r2): set(),
    }
    for (user, org), shown in expected.items():
        body = client_for(user).get(sub_url(org, "detail", sub)).content.decode()
        for key, name in forms.items():
            assert (url(org, name, pk=sub.pk) in body) == (key in shown), (user.email, key)
        assert ("Actions" in body) == bool(shown)


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("provider_admin", True),
        ("provider_sales", True),
        ("provider_support", True),
        ("r1_admin", True),
        ("r1_sales", True),
        ("r1_support", True),
        ("r2_admin", True),
        ("r3_admin", False),
        ("other_provider_admin", False),
        ("customer_admin", False),
    ],
)
def test_who_may_open_the_detail_page(role, visible, world, shop, client_for):
    user, org = persona(role, world, shop)
    response = client_for(user).get(sub_url(org, "detail", shop.subscription))
    assert response.status_code == (200 if visible else 404)


# 16: the Manage renewal section reads the upgrade offers once (issue 16).
DETAIL_QUERIES = 16


def test_the_detail_page_runs_a_constant_number_of_queries_for_a_long_history(
    world, shop, client_for, django_assert_max_num_queries
):
    client = client_for(world.provider_admin)
    sub = shop.subscription
    with django_assert_max_num_queries(DETAIL_QUERIES):
        assert client.get(sub_url(world.provider, "detail", sub)).status_code == 200
    with unscoped("test setup"):
        for n in range(40):
            actor = UserFactory() if n % 2 else world.provider_sales
            SubscriptionEvent.objects.create(
                subscription=sub,
                actor=actor,
                organization=world.provider,
                verb="licenses_changed",
                changes={"old": n, "new": n + 1},
            )
    with django_assert_max_num_queries(DETAIL_QUERIES):
        page = client.get(sub_url(world.provider, "detail", sub))
    assert page.content.decode().count("Licenses changed from") == 40


# ------------------------------------------------------------------------------
# The Subscriptions page
# ------------------------------------------------------------------------------
def test_a_credited_reseller_sees_only_that_subscription_read_only(world, shop, client_for):
    with unscoped("test setup"):
        SubscriptionFactory(customer=shop.plain_customer, offer=shop.premium, **open_window_dates())
    client = client_for(shop.r2_admin)
    body = client.get(url(shop.r2, "subscriptions:list")).content.decode()
    for header in (
        "Customer",
        "Offer",
        "Licenses",
        "Incentive association",
        "Designated support contact",
    ):
        assert header in body
    assert "Adatum Corp" in body and "Business Basic" in body
    assert "Northwind Test" in body  # its incentive association
    assert "Contoso Test" in body  # the support contact (the provider)
    # The rows, not the Offer filter (it lists the whole catalog, Business Premium too).
    rows = body[body.index('id="table-results"') :]
    assert "Coho Winery" not in rows and "Business Premium" not in rows
    assert sub_url(shop.r2, "detail", shop.subscription) in body
    detail = client.get(sub_url(shop.r2, "detail", shop.subscription)).content.decode()
    assert "Actions" not in detail
    assert url(shop.r2, "subscriptions:list") in detail  # breadcrumb back to Subscriptions
    assert url(shop.r2, "customers:detail", pk=shop.customer.pk) not in detail


def test_a_support_contact_reseller_sees_the_subscription_on_its_page(world, shop, client_for):
    with unscoped("test setup"):
        other = SubscriptionFactory(
            customer=shop.plain_customer,
            offer=shop.premium,
            support_contact=shop.r2,
            **open_window_dates(),
        )
    body = client_for(shop.r2_admin).get(url(shop.r2, "subscriptions:list")).content.decode()
    assert "Coho Winery" in body and "Business Premium" in body
    assert sub_url(shop.r2, "detail", other) in body


def test_an_unrelated_reseller_sees_no_subscriptions(world, shop, client_for):
    client = client_for(shop.r3_admin)
    body = client.get(url(shop.r3, "subscriptions:list")).content.decode()
    assert "No subscriptions yet" in body
    assert "Adatum Corp" not in body
    assert client.get(sub_url(shop.r3, "detail", shop.subscription)).status_code == 404


def test_a_credited_reseller_sees_nothing_once_the_partnership_ends(world, shop, client_for):
    update(shop.subscription, support_contact=shop.r2)
    end_partnership(org=world.provider, actor=world.provider_admin, partnership=shop.r2_partnership)
    client = client_for(shop.r2_admin)
    body = client.get(url(shop.r2, "subscriptions:list")).content.decode()
    assert "No subscriptions yet" in body and "Adatum Corp" not in body
    assert client.get(sub_url(shop.r2, "detail", shop.subscription)).status_code == 404
    after = fresh(shop.subscription)
    assert after.support_contact_id is None  # support returns to the provider
    assert after.reseller_id == shop.r2.pk  # the incentive association stays


def test_the_delegated_reseller_and_the_provider_see_the_subscription_on_their_pages(
    world, shop, client_for
):
    for user, org in (
        (world.reseller_admin, world.reseller),
        (world.provider_support, world.provider),
    ):
        body = client_for(user).get(url(org, "subscriptions:list")).content.decode()
        assert "Adatum Corp" in body and "Business Basic" in body
    other = client_for(world.other_provider_admin).get(
        url(world.other_provider, "subscriptions:list")
    )
    assert "Adatum Corp" not in other.content.decode()


# 10: the filters (issue 16) read the resellers to choose from, and the catalog's offers
# when the cache is cold (this first visit); still the same with 1 row as with 40.
# The first view, with an empty cache: 10, plus one to fill the Offer filter's list.
LIST_QUERIES = 11


@pytest.mark.parametrize("rows", [1, 40])
@pytest.mark.parametrize("viewer", ["provider_admin", "r2_admin"])
def test_the_subscriptions_page_runs_a_constant_number_of_queries(
    rows, viewer, world, shop, client_for, django_assert_max_num_queries
):
    with unscoped("test setup"):
        for n in range(rows - 1):
            SubscriptionFactory(
                customer=CustomerFactory(provider=world.provider, reseller=world.reseller),
                offer=OfferFactory(),
                reseller=shop.r2 if n % 2 else None,
                support_contact=shop.r2 if not n % 2 else world.reseller,
                **open_window_dates(),
            )
    user, org = persona(viewer, world, shop)
    client = client_for(user)
    with django_assert_max_num_queries(LIST_QUERIES):
        page = client.get(url(org, "subscriptions:list"))
    assert page.status_code == 200
    assert "Business Basic" in page.content.decode()
