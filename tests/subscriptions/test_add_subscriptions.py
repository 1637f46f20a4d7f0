"""Adding subscriptions to an existing customer: the page, the atomic order with its history
and incentive credit, replays, bad lines, and who may add.
"""

import uuid

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.scoping import unscoped
from subscriptions.models import Order, Subscription
from subscriptions.services import orders as orders_services
from subscriptions.services.lifecycle import end_partnership  # the partnership and what it carried
from tests.factories import (
    OfferFactory,
)
from tests.subscriptions._shop import count_orders, count_subscriptions, events, flashes, url

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------
# Adding subscriptions to an existing customer
# ------------------------------------------------------------------------------
def add_data(shop, **extra) -> dict:
    return {"idempotency_key": str(uuid.uuid4()), **extra}


def test_the_new_subscription_page_offers_active_offers_and_defaults_to_the_customers_reseller(
    world, shop, client_for
):
    page = client_for(world.provider_sales).get(
        url(world.provider, "subscriptions:add", pk=shop.customer.pk)
    )
    assert page.status_code == 200
    body = page.content.decode()
    for offer in (shop.basic, shop.standard, shop.premium):
        assert f'name="offer_{offer.pk}"' in body
    assert f'name="offer_{shop.retired.pk}"' not in body  # inactive: not orderable
    assert f'<option value="{world.reseller.pk}" selected>' in body
    assert shop.r2.name in body  # another active partner
    assert shop.r3.name not in body  # not a partner
    assert ">None<" in body
    assert 'name="confirm_no_incentive"' not in body  # only asked when needed


def test_adding_subscriptions_creates_them_atomically_with_history_and_incentive_credit(
    world, shop, client_for
):
    orders, subs = count_orders(), count_subscriptions()
    response = client_for(world.provider_admin).post(
        url(world.provider, "subscriptions:add", pk=shop.customer.pk),
        add_data(
            shop,
            **{f"offer_{shop.premium.pk}": 3, f"offer_{shop.standard.pk}": 10},
            reseller=shop.r2.pk,
        ),
        follow=True,
    )
    assert response.redirect_chain[-1][0].startswith(
        url(world.provider, "customers:detail", pk=shop.customer.pk)
    )
    assert "2 new subscriptions added for Adatum Corp." in flashes(response)
    assert count_orders() == orders + 1 and count_subscriptions() == subs + 2
    with unscoped("test: read the database as it is"):
        order = Order.objects.latest("pk")
    assert order.customer_id == shop.customer.pk and order.created_by == world.provider_admin
    with unscoped("test: read the database as it is"):
        created = {s.offer_id: s for s in Subscription.objects.filter(order=order)}
    premium, standard = created[shop.premium.pk], created[shop.standard.pk]
    assert (premium.quantity, standard.quantity) == (3, 10)
    assert premium.reseller_id == standard.reseller_id == shop.r2.pk
    assert premium.status == Subscription.Status.ACTIVE and premium.version == 1
    assert (standard.term, standard.billing_frequency) == ("P1Y", "annual")
    assert standard.start_date == timezone.localdate()
    assert standard.renewal_date == timezone.localdate() + relativedelta(years=1)
    history = events(premium)
    assert [(e.verb, e.actor, e.organization) for e in history] == [
        ("created", world.provider_admin, world.provider)
    ]
    assert history[0].changes == {"licenses": 3, "reseller": shop.r2.name}


def test_a_replayed_submit_creates_the_order_only_once(world, shop, client_for):
    client = client_for(world.provider_sales)
    data = add_data(shop, **{f"offer_{shop.premium.pk}": 2}, reseller=world.reseller.pk)
    orders = count_orders()
    for _ in range(2):
        response = client.post(
            url(world.provider, "subscriptions:add", pk=shop.customer.pk), data, follow=True
        )
        assert "1 new subscription added for Adatum Corp." in flashes(response)
    assert count_orders() == orders + 1


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ({}, "Choose at least one subscription and enter its number of licenses."),
        ({"premium": 0}, "Choose at least one subscription and enter its number of licenses."),
        ({"premium": 101}, "Business Premium takes at most 100 licenses."),
        ({"premium": -1}, "Ensure this value is greater than or equal to 0."),
        ({"premium": "lots"}, "Enter a whole number."),
        ({"retired": 5}, "Choose at least one subscription and enter its number of licenses."),
    ],
    ids=["no-offer", "zero", "above-max", "negative", "not-a-number", "inactive-offer"],
)
def test_bad_lines_are_refused_with_a_clear_message_and_nothing_written(
    lines, message, world, shop, client_for
):
    offers = {"premium": shop.premium, "retired": shop.retired}
    data = {f"offer_{offers[k].pk}": v for k, v in lines.items()}
    orders, subs = count_orders(), count_subscriptions()
    response = client_for(world.provider_admin).post(
        url(world.provider, "subscriptions:add", pk=shop.plain_customer.pk),
        add_data(shop, **data),
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert count_orders() == orders and count_subscriptions() == subs


def test_an_offer_below_its_minimum_is_refused(world, shop, client_for):
    with unscoped("test setup"):
        team = OfferFactory(name="Team Pack", min_licenses=5, max_licenses=50)
    subs = count_subscriptions()
    response = client_for(world.provider_admin).post(
        url(world.provider, "subscriptions:add", pk=shop.plain_customer.pk),
        add_data(shop, **{f"offer_{team.pk}": 2}),
    )
    assert "Team Pack needs at least 5 licenses." in response.content.decode()
    assert count_subscriptions() == subs


@pytest.mark.parametrize("which", ["never-partnered", "partnership-ended"])
def test_a_reseller_that_is_not_an_active_partner_cannot_be_credited(
    which, world, shop, client_for
):
    reseller = shop.r3
    if which == "partnership-ended":
        end_partnership(
            org=world.provider, actor=world.provider_admin, partnership=shop.r2_partnership
        )
        reseller = shop.r2
    orders = count_orders()
    response = client_for(world.provider_admin).post(
        url(world.provider, "subscriptions:add", pk=shop.plain_customer.pk),
        add_data(shop, **{f"offer_{shop.premium.pk}": 2}, reseller=reseller.pk),
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert count_orders() == orders


def test_the_service_refuses_an_inactive_offer_or_a_non_partner_and_writes_nothing(world, shop):
    with unscoped("service call"):
        for lines, reseller, text in (
            (
                [(shop.premium, 2), (shop.retired, 2)],
                None,
                "Retired Plan can no longer be ordered.",
            ),
            ([(shop.premium, 2)], shop.r3, "is not an active partner of yours"),
            ([], None, "Choose at least one subscription."),
        ):
            with pytest.raises(ValidationError) as exc:
                orders_services.add_subscriptions(
                    provider=world.provider,
                    actor=world.provider_admin,
                    customer=shop.plain_customer,
                    lines=lines,
                    reseller=reseller,
                    confirm_no_incentive=False,
                    idempotency_key=uuid.uuid4(),
                )
            assert text in " ".join(exc.value.messages)
    with unscoped("test: read the database as it is"):
        assert Order.objects.count() == 0


def test_a_delegated_customers_order_without_incentive_reseller_needs_explicit_confirmation(
    world, shop, client_for
):
    client = client_for(world.provider_admin)
    add = url(world.provider, "subscriptions:add", pk=shop.customer.pk)
    data = add_data(shop, **{f"offer_{shop.premium.pk}": 4}, reseller="")
    orders = count_orders()
    page = client.post(add, data)
    body = page.content.decode()
    assert page.status_code == 200
    assert "Fabrikam Test manages this customer. Confirm that no reseller" in body
    assert 'name="confirm_no_incentive"' in body
    assert count_orders() == orders
    response = client.post(add, {**data, "confirm_no_incentive": "on"}, follow=True)
    assert "1 new subscription added for Adatum Corp." in flashes(response)
    assert count_orders() == orders + 1
    with unscoped("test: read the database as it is"):
        created = Subscription.objects.get(offer=shop.premium, customer=shop.customer)
    assert created.reseller_id is None
    assert events(created)[0].changes == {"licenses": 4, "reseller": None}


def test_a_customer_without_reseller_can_order_with_none_and_no_confirmation(
    world, shop, client_for
):
    response = client_for(world.provider_sales).post(
        url(world.provider, "subscriptions:add", pk=shop.plain_customer.pk),
        add_data(shop, **{f"offer_{shop.premium.pk}": 1}, reseller=""),
        follow=True,
    )
    assert "1 new subscription added for Coho Winery." in flashes(response)
    with unscoped("test: read the database as it is"):
        created = Subscription.objects.get(customer=shop.plain_customer)
    assert created.reseller_id is None and created.quantity == 1


@pytest.mark.parametrize(
    "role", ["provider_support", "reseller_admin", "other_provider_admin", "customer_admin"]
)
def test_only_provider_admins_and_sales_agents_may_add_subscriptions(role, world, shop, client_for):
    user, org = {
        "provider_support": (world.provider_support, world.provider),
        "reseller_admin": (world.reseller_admin, world.reseller),
        "other_provider_admin": (world.other_provider_admin, world.other_provider),
        "customer_admin": (shop.customer.admin_user, world.provider),
    }[role]
    client = client_for(user)
    add = url(org, "subscriptions:add", pk=shop.customer.pk)
    orders = count_orders()
    assert client.get(add).status_code == 404
    data = add_data(shop, **{f"offer_{shop.premium.pk}": 2}, confirm_no_incentive="on")
    assert client.post(add, data).status_code == 404
    assert count_orders() == orders
