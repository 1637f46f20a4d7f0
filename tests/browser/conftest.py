"""Fixtures of the browser tests: the data the accessibility and CSP sweeps visit."""

import uuid
from dataclasses import dataclass

import pytest

from customers.models import Customer
from partners.audit import record_event
from partners.models import Membership, Partnership, TeamInvitation
from partners.services.partnerships import request_partnership
from portal.scoping import unscoped
from portal.tokens import new_token
from subscriptions.models import Subscription
from subscriptions.services import orders
from tests.factories import CustomerFactory, OfferFactory


@dataclass
class Data:
    customer: Customer  # P1's, delegated to R1
    subscription: Subscription  # on an offer that can be upgraded
    partnership: Partnership
    link_token: str  # a pending request from P2 to R1's admin
    invitation_token: str


@pytest.fixture
def data(world) -> Data:
    with unscoped("accessibility sweep data"):
        partnership = Partnership.objects.create(provider=world.provider, reseller=world.reseller)
        basic = OfferFactory(name="Business Basic", max_licenses=300)
        standard = OfferFactory(name="Business Standard", max_licenses=300)
        OfferFactory(name="Teams Essentials", max_licenses=300)
        basic.upgrades.add(standard)
        customer = CustomerFactory(
            provider=world.provider,
            reseller=world.reseller,
            company_name="Adatum Corp",
            domain="adatum.example",
        )
        CustomerFactory(provider=world.provider, company_name="Coho Winery")
        order = orders.add_subscriptions(
            provider=world.provider,
            actor=world.provider_admin,
            customer=customer,
            lines=[(basic, 12), (standard, 3)],
            reseller=world.reseller,
            confirm_no_incentive=False,
            idempotency_key=uuid.uuid4(),
        )
        subscription = order.subscriptions.get(offer=basic)
        # P1's own pending request (Resend/Revoke), and P2's to R1's admin (Accept/Decline).
        request_partnership(
            provider=world.provider,
            actor=world.provider_admin,
            email="owner@prospect.example",
            contact_name="Pat Prospect",
        )
        _request, link_token = request_partnership(
            provider=world.other_provider,
            actor=world.other_provider_admin,
            email=world.reseller_admin.email,
        )
        invitation_token, digest = new_token()
        TeamInvitation.objects.create(
            organization=world.provider,
            email="new.colleague@example.test",
            role=Membership.Role.SUPPORT_AGENT,
            token_digest=digest,
            invited_by=world.provider_admin,
            expires_at=TeamInvitation.default_expiry(),
        )
        record_event(
            org=world.provider,
            actor=world.provider_admin,
            verb="member.invited",
            target="new.colleague@example.test",
            role=Membership.Role.SUPPORT_AGENT,
        )
    return Data(customer, subscription, partnership, link_token, invitation_token)
