"""The shop the subscription tests work in (a provider, a delegated reseller, a customer and
offers), and the helpers that read and act on a subscription through its pages.
"""

import datetime
from dataclasses import dataclass

from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from partners.models import Organization, Partnership
from portal.models import User
from portal.scoping import unscoped
from subscriptions.models import TERM_LENGTH, Offer, Order, Subscription, SubscriptionEvent
from tests.factories import (
    MembershipFactory,
    UserFactory,
)

STALE = "Someone else changed this subscription"


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
