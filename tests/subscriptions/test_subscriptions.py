"""Subscriptions: adding them to a customer, the detail page and its actions, who may do
what, the cancellation window, concurrent edits, and the Subscriptions page.

Real PostgreSQL through the Django test client; nothing mocked. Tenant rows are read
inside `unscoped` so the assertions see the database as it is.
"""

import datetime
import uuid
from dataclasses import dataclass

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from partners.models import Membership, Organization, Partnership
from portal.forms import STALE_PAGE
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from subscriptions.models import TERM_LENGTH, Offer, Order, Subscription, SubscriptionEvent
from subscriptions.services import lifecycle
from subscriptions.services import orders as orders_services
from subscriptions.services.lifecycle import end_partnership  # the partnership and what it carried
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    OfferFactory,
    ResellerFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

STALE = "Someone else changed this subscription"


# ------------------------------------------------------------------------------
# Fixtures and helpers
# ------------------------------------------------------------------------------
@dataclass
class Shop:
    """P1 partnered with R1 (delegated admin of Adatum) and R2 (credited only)."""

    r1_partnership: Partnership
    r2_partnership: Partnership
    r2: Organization  # an active partner of P1, credited for incentives on `subscription`
    r3: Organization  # a reseller with no partnership at all
    r1_sales: User
    r1_support: User
    r2_admin: User
    r3_admin: User
    customer: object  # Adatum Corp, delegated to R1
    plain_customer: object  # Coho Winery, not delegated
    basic: Offer
    standard: Offer  # an allowed upgrade of basic
    premium: Offer  # active, but not an upgrade of basic
    retired: Offer  # inactive
    subscription: Subscription  # Adatum's Business Basic x 5, credited to R2, window open


def member(org, role, email) -> User:
    return MembershipFactory(organization=org, role=role, user=UserFactory(email=email)).user


def open_window_dates(term: str = "P1Y") -> dict:
    today = timezone.localdate()
    return {"start_date": today, "renewal_date": today + TERM_LENGTH[term]}


def closed_window_dates(term: str = "P1Y") -> dict:
    start = timezone.localdate() - datetime.timedelta(days=30)
    return {"start_date": start, "renewal_date": start + TERM_LENGTH[term]}


@pytest.fixture
def shop(world) -> Shop:
    with unscoped("test setup"):
        r1_partnership = Partnership.objects.create(
            provider=world.provider, reseller=world.reseller
        )
        r2 = ResellerFactory(name="Northwind Test", slug="r2")
        r2_partnership = Partnership.objects.create(provider=world.provider, reseller=r2)
        r3 = ResellerFactory(name="Wide World Test", slug="r3")
        customer = CustomerFactory(
            provider=world.provider, reseller=world.reseller, company_name="Adatum Corp"
        )
        plain = CustomerFactory(provider=world.provider, company_name="Coho Winery")
        basic = OfferFactory(name="Business Basic", offer_id="BASIC", max_licenses=100)
        standard = OfferFactory(
            name="Business Standard", offer_id="STANDARD", term="P1Y", billing_frequency="annual"
        )
        premium = OfferFactory(name="Business Premium", offer_id="PREMIUM")
        retired = OfferFactory(name="Retired Plan", offer_id="RETIRED", is_active=False)
        basic.upgrades.add(standard)
        subscription = SubscriptionFactory(
            customer=customer, offer=basic, quantity=5, reseller=r2, **open_window_dates()
        )
        SubscriptionEvent.objects.create(
            subscription=subscription,
            actor=world.provider_admin,
            organization=world.provider,
            verb="created",
            changes={"licenses": 5, "reseller": r2.name},
        )
        return Shop(
            r1_partnership=r1_partnership,
            r2_partnership=r2_partnership,
            r2=r2,
            r3=r3,
            r1_sales=member(world.reseller, Membership.Role.SALES_AGENT, "r1-sales@example.test"),
            r1_support=member(
                world.reseller, Membership.Role.SUPPORT_AGENT, "r1-support@example.test"
            ),
            r2_admin=member(r2, Membership.Role.ADMIN, "r2-admin@example.test"),
            r3_admin=member(r3, Membership.Role.ADMIN, "r3-admin@example.test"),
            customer=customer,
            plain_customer=plain,
            basic=basic,
            standard=standard,
            premium=premium,
            retired=retired,
            subscription=subscription,
        )


def url(org, name, **kwargs) -> str:
    return reverse(name, kwargs={"org_slug": org.slug, **kwargs})


def sub_url(org, name, subscription) -> str:
    return url(org, f"subscriptions:{name}", pk=subscription.pk)


def fresh(subscription) -> Subscription:
    with unscoped("test: read the database as it is"):
        return Subscription.objects.get(pk=subscription.pk)


def events(subscription):
    with unscoped("test: read the database as it is"):
        return list(
            SubscriptionEvent.objects.filter(subscription_id=subscription.pk).order_by("pk")
        )


def snapshot(subscription) -> dict:
    s = fresh(subscription)
    return {
        "quantity": s.quantity,
        "status": s.status,
        "reseller": s.reseller_id,
        "support_contact": s.support_contact_id,
        "auto_renew": s.auto_renew,
        "offer": s.offer_id,
        "term": s.term,
        "version": s.version,
        "events": len(events(s)),
    }


def update(subscription, **fields) -> None:
    with unscoped("test: read the database as it is"):
        Subscription.objects.filter(pk=subscription.pk).update(**fields)


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def act(client, org, name, subscription, version=None, **data):
    """POST an action with the version the person saw (the current one by default)."""
    version = fresh(subscription).version if version is None else version
    return client.post(sub_url(org, name, subscription), {"version": version, **data}, follow=True)


def count_orders() -> int:
    with unscoped("test: read the database as it is"):
        return Order.objects.count()


def count_subscriptions() -> int:
    with unscoped("test: read the database as it is"):
        return Subscription.objects.count()


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


DETAIL_QUERIES = 15


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
# Who may do what: every role x every action
# ------------------------------------------------------------------------------
def persona(role: str, world, shop) -> tuple[User, Organization]:
    return {
        "provider_admin": (world.provider_admin, world.provider),
        "provider_sales": (world.provider_sales, world.provider),
        "provider_support": (world.provider_support, world.provider),
        "r1_admin": (world.reseller_admin, world.reseller),  # delegated administration
        "r1_sales": (shop.r1_sales, world.reseller),
        "r1_support": (shop.r1_support, world.reseller),
        "r2_admin": (shop.r2_admin, shop.r2),  # credited for incentives only
        "r3_admin": (shop.r3_admin, shop.r3),  # unrelated reseller
        "other_provider_admin": (world.other_provider_admin, world.other_provider),
        "customer_admin": (shop.customer.admin_user, world.provider),
    }[role]


ALL_ACTIONS = frozenset(
    {
        "support-contact",
        "incentive",
        "licenses",
        "auto-renew",
        "upgrade",
        "suspend",
        "reactivate",
        "cancel",
    }
)
OPERATE = frozenset({"licenses", "suspend", "reactivate"})
RIGHTS = {
    "provider_admin": ALL_ACTIONS,
    "provider_sales": ALL_ACTIONS,
    "provider_support": frozenset({"support-contact"}),
    "r1_admin": OPERATE,
    "r1_sales": OPERATE,
    "r1_support": frozenset(),
    "r2_admin": frozenset(),
    "r3_admin": frozenset(),
    "other_provider_admin": frozenset(),
    "customer_admin": frozenset(),
}


def action_payload(action: str, world, shop):
    """(data to post, the change it must make)."""
    return {
        "support-contact": ({"contact": world.reseller.pk}, {"support_contact": world.reseller.pk}),
        "incentive": ({"reseller": world.reseller.pk}, {"reseller": world.reseller.pk}),
        "licenses": ({"quantity": 8}, {"quantity": 8}),
        "auto-renew": ({}, {"auto_renew": False}),
        "upgrade": ({"offer": shop.standard.pk}, {"offer": shop.standard.pk}),
        "suspend": ({}, {"status": "suspended"}),
        "reactivate": ({}, {"status": "active"}),
        "cancel": ({}, {"status": "cancelled"}),
    }[action]


@pytest.mark.parametrize("action", sorted(ALL_ACTIONS))
@pytest.mark.parametrize("role", list(RIGHTS))
def test_each_role_may_do_its_actions_and_gets_a_404_for_the_others(
    role, action, world, shop, client_for
):
    sub = shop.subscription
    if action == "reactivate":
        update(sub, status=Subscription.Status.SUSPENDED)
    user, org = persona(role, world, shop)
    data, change = action_payload(action, world, shop)
    before = snapshot(sub)
    response = client_for(user).post(
        sub_url(org, action, sub), {"version": before["version"], **data}
    )
    after = snapshot(sub)
    if action in RIGHTS[role]:
        assert response.status_code == 302
        assert response["Location"] == sub_url(org, "detail", sub)
        assert after == {
            **before,
            **change,
            "term": after["term"],
            "version": before["version"] + 1,
            "events": before["events"] + 1,
        }
        assert events(sub)[-1].actor == user and events(sub)[-1].organization == org
    else:
        assert response.status_code == 404
        assert after == before


@pytest.mark.parametrize("role", list(RIGHTS))
def test_the_cancel_confirmation_page_is_only_for_provider_admins_and_sales_agents(
    role, world, shop, client_for
):
    user, org = persona(role, world, shop)
    response = client_for(user).get(sub_url(org, "cancel", shop.subscription))
    assert response.status_code == (200 if "cancel" in RIGHTS[role] else 404)


def test_anonymous_visitors_are_sent_to_log_in_and_change_nothing(world, shop, client_for):
    sub = shop.subscription
    before = snapshot(sub)
    for action in sorted(ALL_ACTIONS):
        response = client_for(None).post(sub_url(world.provider, action, sub), {"version": 1})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    assert snapshot(sub) == before


def test_a_delegated_reseller_loses_every_right_when_the_partnership_ends(world, shop, client_for):
    sub = shop.subscription
    end_partnership(org=world.reseller, actor=world.reseller_admin, partnership=shop.r1_partnership)
    before = snapshot(sub)
    client = client_for(world.reseller_admin)
    assert client.get(sub_url(world.reseller, "detail", sub)).status_code == 404
    assert (
        client.post(
            sub_url(world.reseller, "licenses", sub), {"version": 1, "quantity": 9}
        ).status_code
        == 404
    )
    assert snapshot(sub) == before


def test_the_customer_reads_its_subscriptions_in_its_own_area(world, shop, client_for):
    client = client_for(shop.customer.admin_user)
    body = client.get(reverse("customer-home")).content.decode()
    assert "Business Basic" in body
    assert client.get(sub_url(world.provider, "detail", shop.subscription)).status_code == 404


# ------------------------------------------------------------------------------
# Each action's success path
# ------------------------------------------------------------------------------
def test_designating_a_reseller_as_support_contact_emails_its_admins(world, shop, client_for):
    sub = shop.subscription
    with unscoped("test setup"):
        second_admin = member(world.reseller, Membership.Role.ADMIN, "r1-boss@example.test")
        second_admin_inactive = member(
            world.reseller, Membership.Role.ADMIN, "r1-gone@example.test"
        )
        second_admin_inactive.is_active = False
        second_admin_inactive.save()
    outbox = OutboundEmail.objects.count()
    response = act(
        client_for(world.provider_support),
        world.provider,
        "support-contact",
        sub,
        contact=world.reseller.pk,
    )
    assert "The designated support contact was saved." in flashes(response)
    after = fresh(sub)
    assert after.support_contact_id == world.reseller.pk and after.version == 2
    event = events(sub)[-1]
    assert (event.verb, event.actor, event.organization) == (
        "support_contact_changed",
        world.provider_support,
        world.provider,
    )
    assert event.changes == {"old": "Contoso Test", "new": "Fabrikam Test"}
    emails = OutboundEmail.objects.order_by("pk")[outbox:]
    assert sorted(e.to for e in emails) == sorted(
        [world.reseller_admin.email, second_admin.email]
    )  # Admins only: not the sales or support agents, nor inactive accounts
    for email in emails:
        assert email.template == "support_contact_designated"
        assert email.subject == "Contoso Test made you the support contact for Adatum Corp"
        assert "Business Basic (5 licenses)" in email.body_text
    body = response.content.decode()
    assert "Designated support contact changed from Contoso Test to Fabrikam Test" in body


def test_the_support_contact_can_return_to_the_provider_without_an_email(world, shop, client_for):
    sub = shop.subscription
    update(sub, support_contact=shop.r2)
    outbox = OutboundEmail.objects.count()
    response = act(
        client_for(world.provider_admin),
        world.provider,
        "support-contact",
        sub,
        contact=world.provider.pk,
    )
    assert "The designated support contact was saved." in flashes(response)
    assert fresh(sub).support_contact_id is None
    assert events(sub)[-1].changes == {"old": "Northwind Test", "new": "Contoso Test"}
    assert OutboundEmail.objects.count() == outbox


def test_a_reseller_that_is_not_a_partner_cannot_be_support_contact(world, shop, client_for):
    sub = shop.subscription
    before = snapshot(sub)
    response = act(
        client_for(world.provider_admin), world.provider, "support-contact", sub, contact=shop.r3.pk
    )
    assert any("Select a valid choice" in m for m in flashes(response))
    assert snapshot(sub) == before
    assert OutboundEmail.objects.filter(template="support_contact_designated").count() == 0


def test_the_incentive_reseller_can_be_changed_and_removed(world, shop, client_for):
    sub = shop.subscription
    client = client_for(world.provider_sales)
    response = act(client, world.provider, "incentive", sub, reseller=world.reseller.pk)
    assert "The reseller for incentive credit was saved." in flashes(response)
    assert fresh(sub).reseller_id == world.reseller.pk and fresh(sub).version == 2
    response = act(client, world.provider, "incentive", sub, reseller="")
    assert "The reseller for incentive credit was saved." in flashes(response)
    assert fresh(sub).reseller_id is None and fresh(sub).version == 3
    assert [(e.verb, e.changes) for e in events(sub)[-2:]] == [
        ("incentive_reseller_changed", {"old": "Northwind Test", "new": "Fabrikam Test"}),
        ("incentive_reseller_changed", {"old": "Fabrikam Test", "new": None}),
    ]
    body = response.content.decode()
    assert "Reseller for incentive credit changed from Fabrikam Test to none" in body
    before = snapshot(sub)
    response = act(client, world.provider, "incentive", sub, reseller=shop.r3.pk)
    assert any("Select a valid choice" in m for m in flashes(response))
    assert snapshot(sub) == before


def test_licenses_can_be_added_and_reduced_inside_the_window(world, shop, client_for):
    sub = shop.subscription
    client = client_for(world.reseller_admin)  # the delegated reseller may do it
    response = act(client, world.reseller, "licenses", sub, quantity=12)
    assert "The number of licenses was changed." in flashes(response)
    assert fresh(sub).quantity == 12 and fresh(sub).version == 2
    response = act(client, world.reseller, "licenses", sub, quantity=3)
    assert "The number of licenses was changed." in flashes(response)
    assert fresh(sub).quantity == 3 and fresh(sub).version == 3
    assert [(e.verb, e.changes, e.organization) for e in events(sub)[-2:]] == [
        ("licenses_changed", {"old": 5, "new": 12}, world.reseller),
        ("licenses_changed", {"old": 12, "new": 3}, world.reseller),
    ]
    assert "Licenses changed from 12 to 3" in response.content.decode()


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (101, "Business Basic takes 1 to 100 licenses."),
        (0, "A subscription needs at least 1 license."),
        ("", "Enter the number of licenses."),
    ],
)
def test_licenses_outside_the_offers_limits_are_refused(quantity, message, world, shop, client_for):
    sub = shop.subscription
    before = snapshot(sub)
    response = act(
        client_for(world.provider_admin), world.provider, "licenses", sub, quantity=quantity
    )
    assert message in flashes(response)
    assert snapshot(sub) == before


def test_outside_the_window_licenses_can_be_added_but_not_reduced(world, shop, client_for):
    sub = shop.subscription
    update(sub, **closed_window_dates())
    sub = fresh(sub)
    closed, renewal = sub.cancellation_window_ends, sub.renewal_date
    client = client_for(world.provider_admin)
    page = client.get(sub_url(world.provider, "detail", sub)).content.decode()
    assert (
        f"Closed on {date_format(closed, 'DATE_FORMAT')}; it opens again at renewal on "
        f"{date_format(renewal, 'DATE_FORMAT')}." in page
    )
    before = snapshot(sub)
    response = act(client, world.provider, "licenses", sub, quantity=4)
    [message] = flashes(response)
    assert "only within 7 days of purchase or renewal" in message
    assert f"The window closed on {date_format(closed, 'DATE_FORMAT')}" in message
    assert f"it opens again at renewal on {date_format(renewal, 'DATE_FORMAT')}" in message
    assert snapshot(sub) == before
    response = act(client, world.provider, "licenses", sub, quantity=6)
    assert "The number of licenses was changed." in flashes(response)
    assert fresh(sub).quantity == 6


def test_the_window_is_counted_from_the_last_renewal(world, shop, client_for):
    sub = shop.subscription
    today = timezone.localdate()
    # Bought two years and three days ago; renewed three days ago.
    update(
        sub,
        start_date=today - relativedelta(years=2, days=3),
        renewal_date=today + relativedelta(years=1, days=-3),
    )
    assert fresh(sub).in_cancellation_window
    response = act(client_for(world.provider_admin), world.provider, "licenses", sub, quantity=2)
    assert "The number of licenses was changed." in flashes(response)


@pytest.mark.parametrize(("days_ago", "open_"), [(0, True), (7, True), (8, False)])
def test_the_window_is_open_for_seven_days_after_purchase(days_ago, open_, world, shop, client_for):
    sub = shop.subscription
    start = timezone.localdate() - datetime.timedelta(days=days_ago)
    update(sub, start_date=start, renewal_date=start + relativedelta(years=1))
    client = client_for(world.provider_admin)
    page = client.get(sub_url(world.provider, "detail", sub)).content.decode()
    ends = date_format(start + datetime.timedelta(days=7), "DATE_FORMAT")
    assert (f"Open until {ends}: licenses can be reduced" in page) == open_
    response = act(client, world.provider, "licenses", sub, quantity=4)
    assert ("The number of licenses was changed." in flashes(response)) == open_
    assert fresh(sub).quantity == (4 if open_ else 5)


def test_auto_renew_can_be_turned_off_and_on(world, shop, client_for):
    sub = shop.subscription
    client = client_for(world.provider_admin)
    response = act(client, world.provider, "auto-renew", sub)  # unchecked box
    assert "Auto-renew was saved." in flashes(response)
    assert fresh(sub).auto_renew is False and fresh(sub).version == 2
    assert "auto-renew off" in response.content.decode()
    response = act(client, world.provider, "auto-renew", sub, auto_renew="on")
    assert fresh(sub).auto_renew is True and fresh(sub).version == 3
    assert [(e.verb, e.changes) for e in events(sub)[-2:]] == [
        ("auto_renew_changed", {"new": False}),
        ("auto_renew_changed", {"new": True}),
    ]
    body = response.content.decode()
    assert "Auto-renew turned off" in body and "Auto-renew turned on" in body


def test_upgrading_moves_to_the_allowed_offer_and_keeps_the_licenses(world, shop, client_for):
    sub = shop.subscription
    update(sub, quantity=17)
    response = act(
        client_for(world.provider_sales), world.provider, "upgrade", sub, offer=shop.standard.pk
    )
    assert "The subscription was upgraded; its licenses carried over." in flashes(response)
    after = fresh(sub)
    assert after.offer_id == shop.standard.pk and after.quantity == 17
    assert (after.term, after.billing_frequency) == ("P1Y", "annual")
    assert after.version == 2
    event = events(sub)[-1]
    assert (event.verb, event.changes) == (
        "upgraded",
        {"old": "Business Basic", "new": "Business Standard"},
    )
    assert "Upgraded from Business Basic to Business Standard" in response.content.decode()


@pytest.mark.parametrize("target", ["premium", "retired-upgrade", "same"])
def test_upgrading_to_an_offer_that_is_not_an_allowed_upgrade_is_refused(
    target, world, shop, client_for
):
    sub = shop.subscription
    offer = {"premium": shop.premium, "retired-upgrade": shop.retired, "same": shop.basic}[target]
    with unscoped("test setup"):
        shop.basic.upgrades.add(shop.retired)  # listed as an upgrade, but inactive
    before = snapshot(sub)
    response = act(client_for(world.provider_admin), world.provider, "upgrade", sub, offer=offer.pk)
    assert any("Select a valid choice" in m for m in flashes(response))
    assert snapshot(sub) == before
    with unscoped("service call"), pytest.raises(ValidationError) as exc:
        lifecycle.upgrade_subscription(
            subscription=sub,
            actor=world.provider_admin,
            org=world.provider,
            offer=offer,
            version=None,
        )
    assert f"{offer.name} is not an upgrade of this subscription." in exc.value.messages
    assert snapshot(sub) == before


def test_an_upgrade_that_cannot_hold_the_licenses_asks_to_change_them_first(
    world, shop, client_for
):
    sub = shop.subscription
    with unscoped("test setup"):
        Offer.objects.filter(pk=shop.standard.pk).update(max_licenses=3)
    before = snapshot(sub)
    response = act(
        client_for(world.provider_admin), world.provider, "upgrade", sub, offer=shop.standard.pk
    )
    assert "Business Standard takes 1 to 3 licenses; change the licenses first." in flashes(
        response
    )
    assert snapshot(sub) == before


def test_suspend_and_reactivate(world, shop, client_for):
    sub = shop.subscription
    client = client_for(world.reseller_admin)  # delegated admin may do both
    response = act(client, world.reseller, "suspend", sub)
    assert "The subscription was suspended." in flashes(response)
    assert fresh(sub).status == "suspended" and fresh(sub).version == 2
    assert "<dd>Suspended</dd>" in response.content.decode()
    before = snapshot(sub)
    response = act(client, world.reseller, "suspend", sub)
    assert "A suspended subscription cannot be changed that way." in flashes(response)
    assert snapshot(sub) == before
    response = act(client, world.reseller, "reactivate", sub)
    assert "The subscription was reactivated." in flashes(response)
    assert fresh(sub).status == "active" and fresh(sub).version == 3
    assert [(e.verb, e.changes) for e in events(sub)[-2:]] == [
        ("status_changed", {"old": "active", "new": "suspended"}),
        ("status_changed", {"old": "suspended", "new": "active"}),
    ]
    assert "Status changed from suspended to active" in response.content.decode()


def test_cancel_asks_for_confirmation_and_is_final(world, shop, client_for):
    sub = shop.subscription
    client = client_for(world.provider_admin)
    page = client.get(sub_url(world.provider, "cancel", sub))
    body = page.content.decode()
    assert "Cancelling is final: the subscription cannot be reactivated." in body
    assert "The cancellation window closed" not in body
    assert fresh(sub).status == "active"  # showing the page changes nothing
    response = client.post(sub_url(world.provider, "cancel", sub), {"version": 1}, follow=True)
    assert "The subscription was cancelled." in flashes(response)
    after = fresh(sub)
    assert after.status == "cancelled" and after.version == 2
    assert events(sub)[-1].changes == {"old": "active", "new": "cancelled"}
    body = response.content.decode()
    assert "Status changed from active to cancelled" in body
    assert url(world.provider, "subscriptions:licenses", pk=sub.pk) not in body
    assert url(world.provider, "subscriptions:reactivate", pk=sub.pk) not in body
    before = snapshot(sub)
    for action, data in (
        ("reactivate", {}),
        ("suspend", {}),
        ("licenses", {"quantity": 9}),
        ("auto-renew", {}),
        ("upgrade", {"offer": shop.standard.pk}),
        ("cancel", {}),
    ):
        response = act(client, world.provider, action, sub, **data)
        assert "This subscription is cancelled and can no longer be changed." in flashes(
            response
        ), action
    assert snapshot(sub) == before


def test_a_suspended_subscription_can_be_cancelled(world, shop, client_for):
    sub = shop.subscription
    update(sub, status="suspended")
    response = act(client_for(world.provider_sales), world.provider, "cancel", sub)
    assert "The subscription was cancelled." in flashes(response)
    assert fresh(sub).status == "cancelled"


def test_cancelling_outside_the_window_is_refused_and_says_when(world, shop, client_for):
    sub = shop.subscription
    update(sub, **closed_window_dates())
    sub = fresh(sub)
    client = client_for(world.provider_admin)
    page = client.get(sub_url(world.provider, "cancel", sub)).content.decode()
    closed = date_format(sub.cancellation_window_ends, "DATE_FORMAT")
    renewal = date_format(sub.renewal_date, "DATE_FORMAT")
    assert (
        f"The cancellation window closed on {closed}; cancelling will be possible again at "
        f"renewal on {renewal}." in page
    )
    before = snapshot(sub)
    response = act(client, world.provider, "cancel", sub)
    [message] = flashes(response)
    assert f"it opens again at renewal on {date_format(sub.renewal_date, 'DATE_FORMAT')}" in message
    assert snapshot(sub) == before


# ------------------------------------------------------------------------------
# Two people editing at once
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("action", sorted(ALL_ACTIONS))
def test_a_stale_form_is_refused_and_the_current_values_are_shown(action, world, shop, client_for):
    sub = shop.subscription
    if action == "reactivate":
        update(sub, status=Subscription.Status.SUSPENDED)
    seen = fresh(sub).version
    # Someone else adds licenses first.
    act(client_for(world.provider_sales), world.provider, "licenses", sub, quantity=21)
    current = snapshot(sub)
    assert current["version"] == seen + 1
    data, _change = action_payload(action, world, shop)
    if action == "licenses":
        data = {"quantity": 30}
    response = act(
        client_for(world.provider_admin), world.provider, action, sub, version=seen, **data
    )
    [message] = flashes(response)
    assert message.startswith(STALE)
    assert "Nothing was saved; these are its current values." in message
    assert snapshot(sub) == current
    body = response.content.decode()
    assert "<dd>21</dd>" in body
    assert f'name="version" value="{current["version"]}"' in body


# Cancel and Upgrade answer a GET with their confirmation page.
@pytest.mark.parametrize("action", sorted(ALL_ACTIONS - {"cancel", "upgrade"}))
def test_actions_only_answer_posts(action, world, shop, client_for):
    before = snapshot(shop.subscription)
    response = client_for(world.provider_admin).get(
        sub_url(world.provider, action, shop.subscription)
    )
    assert response.status_code == 405
    assert snapshot(shop.subscription) == before


def test_a_post_without_version_is_refused(world, shop, client_for):
    sub = shop.subscription
    before = snapshot(sub)
    response = client_for(world.provider_admin).post(
        sub_url(world.provider, "licenses", sub), {"quantity": 7}, follow=True
    )
    assert STALE_PAGE in flashes(response)  # the hidden version is the page's, not a field
    assert snapshot(sub) == before


# ------------------------------------------------------------------------------
# Database constraints
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fields",
    [
        {"quantity": 0},
        {"status": "unknown"},
        {"renewal_date": datetime.date(2000, 1, 1)},
    ],
    ids=["no-licenses", "unknown-status", "renews-before-start"],
)
def test_the_database_refuses_impossible_subscriptions(fields, shop):
    sub = shop.subscription
    before = snapshot(sub)
    with pytest.raises(IntegrityError), transaction.atomic():
        update(sub, **fields)
    assert snapshot(sub) == before


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
    assert "Coho Winery" not in body and "Business Premium" not in body
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


LIST_QUERIES = 9


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


# ------------------------------------------------------------------------------
# Known bug
# ------------------------------------------------------------------------------
def test_the_cancellation_window_still_counts_from_the_purchase_after_an_upgrade_to_a_longer_term(
    world, shop, client_for
):
    with unscoped("test setup"):
        monthly = OfferFactory(name="Monthly Basic", term="P1M")
        monthly.upgrades.add(shop.standard)  # P1Y
        sub = SubscriptionFactory(
            customer=shop.plain_customer,
            offer=monthly,
            term="P1M",
            quantity=10,
            **open_window_dates("P1M"),
        )
    client = client_for(world.provider_admin)
    response = act(client, world.provider, "upgrade", sub, offer=shop.standard.pk)
    assert "The subscription was upgraded; its licenses carried over." in flashes(response)
    after = fresh(sub)
    assert after.term_start >= after.start_date
    response = act(client, world.provider, "licenses", sub, quantity=4)
    assert "The number of licenses was changed." in flashes(response)
