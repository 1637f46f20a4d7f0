"""`seed_demo` (the demo app): the data `make run` serves, made through the services."""

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.urls import reverse

from partners.models import AuditEvent, Membership, Organization, Partnership, PartnershipRequest
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from subscriptions.models import Subscription, SubscriptionEvent

pytestmark = pytest.mark.django_db


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="Refusing"):
        call_command("seed_demo")
    assert Organization.objects.count() == 0


def test_seed_demo_is_idempotent_and_every_demo_login_works(client):
    call_command("seed_demo", force=True)
    with unscoped("assert"):
        written = [
            model.objects.count()
            for model in (AuditEvent, SubscriptionEvent, OutboundEmail, Subscription)
        ]
    call_command("seed_demo", force=True)
    with unscoped("assert"):
        again = [
            model.objects.count()
            for model in (AuditEvent, SubscriptionEvent, OutboundEmail, Subscription)
        ]
    assert again == written  # the second run skipped every step
    assert Organization.objects.count() == 4
    assert Membership.objects.count() == 4
    assert User.objects.count() == 9  # 5 demo logins and 4 customer admins
    for email in (
        "provider@demo.example",
        "reseller@demo.example",
        "northwind@demo.example",
        "tailspin@demo.example",
        "admin@demo.example",
        "admin@adatum.portal.example",  # the customer admin, as the README lists it
    ):
        response = client.post(
            reverse("account_login"), {"login": email, "password": "demo-pass-2026"}
        )
        assert response.status_code == 302, email
        assert EmailAddress.objects.get(email=email).verified
        client.post(reverse("account_logout"))
    contoso = Organization.objects.get(name="Contoso Distribution")
    assert contoso.kind == "provider" and contoso.partner_id_status == "verified"
    assert Organization.objects.get(name="Fabrikam Solutions").partner_id_status == "unverified"
    assert Membership.objects.get(user__email="provider@demo.example").organization == contoso
    assert User.objects.get(email="admin@demo.example").is_superuser


def test_demo_data_has_a_partnership_and_a_pending_request():
    call_command("seed_demo", force=True)
    call_command("seed_demo", force=True)
    with unscoped("assert"):
        partnership = Partnership.objects.get()
        assert partnership.reseller.name == "Fabrikam Solutions"
        assert partnership.request.state == "accepted"  # requested, then accepted
        pending = PartnershipRequest.objects.get(state="pending")
    assert pending.email == "pending@demo.example" and pending.is_open
    northwind = Organization.objects.get(name="Northwind IT")
    with unscoped("assert"):
        assert not Partnership.objects.filter(reseller=northwind).exists()


def test_demo_data_has_its_audit_trail_on_the_activity_page(client_for):
    """Made through the services, the demo shows in Activity what people did."""
    call_command("seed_demo", force=True)
    contoso = Organization.objects.get(name="Contoso Distribution")
    with unscoped("assert"):
        verbs = set(AuditEvent.objects.filter(organization=contoso).values_list("verb", flat=True))
        assert SubscriptionEvent.objects.filter(verb="created").count() == 8
    assert {
        "organization.created",
        "member.added",
        "member.invited",
        "partnership.requested",
        "customer.created",
        "subscription.support_contact_changed",
        "subscription.upgraded",
        "subscription.status_changed",
        "subscription.incentive_reseller_changed",
    } <= verbs
    provider = User.objects.get(email="provider@demo.example")
    page = client_for(provider).get(reverse("activity", kwargs={"org_slug": contoso.slug}))
    assert page.status_code == 200
    assert "Adatum Corporation" in page.text
    fabrikam = Organization.objects.get(name="Fabrikam Solutions")
    reseller = User.objects.get(email="reseller@demo.example")
    page = client_for(reseller).get(reverse("activity", kwargs={"org_slug": fabrikam.slug}))
    assert page.status_code == 200
    with unscoped("assert"):
        assert {"organization.enrolled", "partnership.accepted"} <= set(
            AuditEvent.objects.filter(organization=fabrikam).values_list("verb", flat=True)
        )
