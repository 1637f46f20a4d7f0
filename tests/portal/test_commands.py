import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.urls import reverse

from partners.models import Membership, Organization, TeamInvitation
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="Refusing"):
        call_command("seed_demo")
    assert Organization.objects.count() == 0


def test_seed_demo_is_idempotent_and_every_demo_login_works(client, settings):
    call_command("seed_demo", force=True)
    call_command("seed_demo", force=True)
    assert Organization.objects.count() == 4
    assert Membership.objects.count() == 4
    assert User.objects.count() == 9  # 5 demo logins and 4 customer admins
    for email in (
        "provider@demo.example",
        "reseller@demo.example",
        "northwind@demo.example",
        "tailspin@demo.example",
        "admin@demo.example",
    ):
        response = client.post(
            reverse("account_login"), {"login": email, "password": "demo-pass-2026"}
        )
        assert response.status_code == 302, email
        assert EmailAddress.objects.get(email=email).verified
        client.post(reverse("account_logout"))
    contoso = Organization.objects.get(name="Contoso Distribution")
    assert contoso.kind == "provider"
    assert Membership.objects.get(user__email="provider@demo.example").organization == contoso
    assert User.objects.get(email="admin@demo.example").is_superuser


def test_create_provider_invites_a_new_admin_by_email(capsys):
    call_command("create_provider", "Litware Cloud", "4200042", "boss@litware.example")
    org = Organization.objects.get(partner_id="4200042")
    assert org.kind == "provider"
    with unscoped("assert"):
        invitation = TeamInvitation.objects.get(organization=org)
    assert invitation.role == "admin" and invitation.email == "boss@litware.example"
    assert OutboundEmail.objects.filter(to="boss@litware.example").exists()
    assert "Invitation link: http" in capsys.readouterr().out


def test_create_provider_makes_an_existing_user_admin_at_once():
    user = UserFactory(email="known@litware.example")
    call_command("create_provider", "Litware Cloud", "4200043", "known@litware.example")
    membership = Membership.objects.get(user=user)
    assert membership.role == "admin" and membership.organization.partner_id == "4200043"


def test_create_provider_refuses_bad_input_and_writes_nothing():
    with pytest.raises(CommandError, match="Partner ID"):
        call_command("create_provider", "Bad", "12x", "a@b.example")
    assert Organization.objects.count() == 0
