import pytest
from django.core.management import CommandError, call_command

from partners.models import Membership, Organization, TeamInvitation
from portal.models import OutboundEmail
from portal.scoping import unscoped
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


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
