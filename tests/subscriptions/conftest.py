"""Fixtures of tests/subscriptions/."""

import pytest

from partners.models import Membership, Partnership
from portal.scoping import unscoped
from subscriptions.models import SubscriptionEvent
from tests.factories import (
    CustomerFactory,
    OfferFactory,
    ResellerFactory,
    SubscriptionFactory,
)
from tests.subscriptions._shop import Shop, member, open_window_dates


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
