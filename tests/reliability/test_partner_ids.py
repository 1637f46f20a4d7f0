"""Issue 14, finding 6: Partner IDs are self-declared claims, not identities.

Before, the first organization to enroll a Partner ID owned it (a unique column), so a
squatter won and the real company was refused. Now a Partner ID shows "unverified" until
staff verify it in the admin; a second company may claim the same Partner ID, and staff
settle the dispute there: verifying one claim rejects the others, and the database keeps
at most one verified organization per Partner ID.
"""

import io
import re

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from partners.models import AuditEvent, Membership, Organization, Partnership
from partners.services.partnerships import accept_partnership, request_partnership
from partners.services.team import invite_member
from portal.models import OutboundEmail
from portal.scoping import unscoped
from tests.factories import MembershipFactory, ProviderFactory, ResellerFactory, UserFactory

pytestmark = pytest.mark.django_db

ENROLL = {"name": "Real Company Ltd", "country": "FR", "contact_email": "hello@real.example"}
UNVERIFIED = '<span class="badge badge--warning">unverified</span>'


def text_of(response) -> str:
    return response.content.decode()


def enroll(user, partner_id: str):
    client = Client()
    client.force_login(user)
    response = client.post(reverse("enroll"), {**ENROLL, "partner_id": partner_id})
    return client, response


def badge_after(page: str, partner_id: str) -> bool:
    """Whether the Partner ID is shown with the "unverified" badge right after it."""
    return f'<span class="mono">{partner_id}</span> {UNVERIFIED}' in page


# ------------------------------------------------------------------------------
# Enrolling
# ------------------------------------------------------------------------------
def test_a_second_company_can_enroll_with_a_partner_id_someone_already_claimed(world):
    squatter = ResellerFactory(name="Squatter Inc", partner_id="5123456")
    client, response = enroll(UserFactory(email="boss@real.example"), "5123456")
    assert response.status_code == 302  # was 200: "already enrolled", nothing written
    real = Organization.objects.get(name="Real Company Ltd")
    assert (real.partner_id, real.partner_id_status) == ("5123456", "unverified")
    assert squatter.partner_id_status == "unverified"
    notices = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Real Company Ltd is enrolled as an indirect reseller. You are its Admin." in notices
    assert (
        "Another organization also claims Partner ID 5123456. Until portal staff verify "
        "which claim is genuine, it shows as unverified." in notices
    )
    dashboard = text_of(client.get(response["Location"]))
    assert badge_after(dashboard, "5123456")
    assert "Portal staff have not verified that this Partner ID is yours yet." in dashboard


def test_the_enroll_confirmation_says_a_new_partner_id_is_unverified(world):
    client, response = enroll(world.no_org_user, "5999001")
    assert response.status_code == 302
    notices = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Partner ID 5999001 shows as unverified until portal staff verify it." in notices
    assert "Portal staff verify it; until then it shows as unverified." in text_of(
        client.get(reverse("enroll"))
    )
    org = Organization.objects.get(partner_id="5999001")
    providers = text_of(client.get(reverse("partners:provider-list", args=[org.slug])))
    assert "Give providers your Partner ID (5999001, unverified)" in providers


# ------------------------------------------------------------------------------
# "unverified" wherever a Partner ID is shown
# ------------------------------------------------------------------------------
def test_unverified_is_shown_next_to_the_partner_id_everywhere(world, client_for, mailoutbox):
    r1, p1 = world.reseller, world.provider  # R1 enrolled itself; P1 was made by staff
    # P3 asks R1 to partner; P4 already partners with R1. Neither was verified.
    p3 = ProviderFactory(name="Unchecked Provider", partner_id_status="unverified")
    p4 = ProviderFactory(name="Unchecked Partner", partner_id_status="unverified")
    MembershipFactory(organization=p3, user=UserFactory(email="p3-admin@example.test"))
    with unscoped("test setup"):
        request, _token = request_partnership(
            provider=p1, actor=world.provider_admin, email=world.reseller_admin.email
        )
        accept_partnership(request=request, reseller=r1, actor=world.reseller_admin)
        Partnership.objects.create(provider=p4, reseller=r1)
        _incoming, p3_token = request_partnership(
            provider=p3,
            actor=p3.memberships.get().user,
            email=world.reseller_admin.email,
        )
        _invitation, team_link = invite_member(
            org=r1, actor=world.reseller_admin, email="new-colleague@example.test", role="admin"
        )
    provider = client_for(world.provider_admin)
    resellers = text_of(provider.get(reverse("partners:reseller-list", args=[p1.slug])))
    assert badge_after(resellers, r1.partner_id)
    export = text_of(
        provider.get(reverse("partners:reseller-list", args=[p1.slug]), {"_export": "csv"})
    )
    assert export.splitlines()[0].endswith("Partner ID status")
    assert f"{r1.name},{r1.partner_id}," in export and export.splitlines()[1].endswith("Unverified")
    reseller = client_for(world.reseller_admin)
    providers = text_of(reseller.get(reverse("partners:provider-list", args=[r1.slug])))
    assert badge_after(providers, p4.partner_id)  # in the table
    assert badge_after(providers, p3.partner_id)  # in the incoming request
    assert providers.count(UNVERIFIED) == 2
    assert f'<span class="mono">{p1.partner_id}</span></td>' in providers  # verified: bare
    dashboard = text_of(reseller.get(reverse("dashboard", args=[r1.slug])))
    assert dashboard.count(UNVERIFIED) == 2  # the header and the details
    # The pages behind the emailed links, and the emails.
    visitor = Client()
    visitor.get(reverse("partnership-link", kwargs={"token": p3_token}))
    assert badge_after(text_of(visitor.get(reverse("partnership-accept"))), p3.partner_id)
    newcomer = Client()
    newcomer.get("/" + team_link.split("/", 3)[3])
    invitation_page = text_of(newcomer.get(reverse("team-invitation-accept")))
    assert badge_after(invitation_page, r1.partner_id)
    with unscoped("assert"):
        accepted = OutboundEmail.objects.get(template="partnership_accepted")
        invited = OutboundEmail.objects.get(to="new-colleague@example.test")
        draft = request.__class__.objects.get(provider=p3).body
    assert f"{r1.name} (Partner ID {r1.partner_id}, unverified) accepted" in accepted.body_text
    assert f"{r1.name} (Partner ID {r1.partner_id}, unverified)" in invited.body_text
    assert f"{p3.name} (Partner ID {p3.partner_id}, unverified) would like" in draft
    # Staff verify R1: the marks go.
    r1.partner_id_status = "verified"
    r1.save(update_fields=["partner_id_status"])
    resellers = text_of(provider.get(reverse("partners:reseller-list", args=[p1.slug])))
    assert UNVERIFIED not in resellers and r1.partner_id in resellers


def test_a_rejected_claim_is_shown_as_rejected(world, client_for):
    world.reseller.partner_id_status = "rejected"
    world.reseller.save(update_fields=["partner_id_status"])
    page = text_of(
        client_for(world.reseller_admin).get(reverse("dashboard", args=[world.reseller.slug]))
    )
    assert '<span class="badge badge--danger">rejected</span>' in page
    assert "Portal staff rejected this organization's claim to this Partner ID." in page


# ------------------------------------------------------------------------------
# Staff settle disputes in the admin
# ------------------------------------------------------------------------------
@pytest.fixture
def dispute(world):
    squatter = ResellerFactory(name="Squatter Inc", partner_id="5123456")
    real = ResellerFactory(name="Real Company Ltd", partner_id="5123456")
    lone = ResellerFactory(name="Lone Claim", partner_id="5777777")
    return squatter, real, lone


def changelist(client, **params):
    return client.get(reverse("admin:partners_organization_changelist"), params)


def test_staff_find_disputes_and_verify_one_claim_which_rejects_the_others(
    world, dispute, client_for
):
    squatter, real, lone = dispute
    third = ResellerFactory(name="Third Claim", partner_id="5123456")
    staff = client_for(world.staff)
    disputed = changelist(staff, partner_id_claims="disputed")
    assert disputed.status_code == 200
    listed = {o.name for o in disputed.context["cl"].result_list}
    assert listed == {"Squatter Inc", "Real Company Ltd", "Third Claim"}
    response = staff.post(
        reverse("admin:partners_organization_changelist"),
        {"action": "verify_partner_ids", "_selected_action": [real.pk]},
        follow=True,
    )
    assert "1 Partner ID(s) verified; 2 competing claim(s) rejected." in text_of(response)
    for org in (squatter, real, third, lone):
        org.refresh_from_db()
    assert real.partner_id_status == "verified" and real.partner_id_reviewed_by == world.staff
    assert (squatter.partner_id_status, third.partner_id_status) == ("rejected", "rejected")
    assert lone.partner_id_status == "unverified"
    assert not changelist(staff, partner_id_claims="disputed").context["cl"].result_list
    with unscoped("assert"):
        verbs = dict(
            AuditEvent.objects.filter(verb__startswith="organization.partner_id").values_list(
                "organization__name", "verb"
            )
        )
    assert verbs == {
        "Real Company Ltd": "organization.partner_id_verified",
        "Squatter Inc": "organization.partner_id_rejected",
        "Third Claim": "organization.partner_id_rejected",
    }
    # A later claim to a verified Partner ID is a dispute again, for staff to reject.
    ResellerFactory(name="Late Squatter", partner_id="5123456")
    listed = {
        o.name for o in changelist(staff, partner_id_claims="disputed").context["cl"].result_list
    }
    assert listed == {"Real Company Ltd", "Late Squatter"}


def test_selecting_two_claims_of_one_partner_id_verifies_neither(world, dispute, client_for):
    squatter, real, lone = dispute
    response = client_for(world.staff).post(
        reverse("admin:partners_organization_changelist"),
        {"action": "verify_partner_ids", "_selected_action": [squatter.pk, real.pk, lone.pk]},
        follow=True,
    )
    page = text_of(response)
    assert "Squatter Inc, Real Company Ltd all claim Partner ID 5123456" in page
    assert "1 Partner ID(s) verified; 0 competing claim(s) rejected." in page
    statuses = dict(Organization.objects.values_list("name", "partner_id_status"))
    assert statuses["Squatter Inc"] == statuses["Real Company Ltd"] == "unverified"
    assert statuses["Lone Claim"] == "verified"


def test_staff_can_reject_a_lone_claim(world, dispute, client_for):
    lone = dispute[2]
    client_for(world.staff).post(
        reverse("admin:partners_organization_changelist"),
        {"action": "reject_partner_ids", "_selected_action": [lone.pk]},
    )
    lone.refresh_from_db()
    assert lone.partner_id_status == "rejected"


def test_the_database_keeps_at_most_one_verified_organization_per_partner_id(world, dispute):
    squatter, real, _lone = dispute
    Organization.objects.filter(pk=real.pk).update(partner_id_status="verified")
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=squatter.pk).update(partner_id_status="verified")
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=squatter.pk).update(partner_id_status="trusted")


def test_the_partner_id_and_its_status_change_only_through_the_actions(world, dispute, client_for):
    squatter = dispute[0]
    staff = client_for(world.staff)
    change = reverse("admin:partners_organization_change", args=[squatter.pk])
    form = text_of(staff.get(change))
    for field in ("partner_id", "partner_id_status", "kind"):
        assert f'name="{field}"' not in form  # shown read-only
    staff.post(
        change,
        {
            "name": "Squatter Renamed",
            "slug": squatter.slug,
            "partner_id": "5999999",
            "partner_id_status": "verified",
            "country": "US",
            "contact_email": "x@example.test",
            "phone": "",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    squatter.refresh_from_db()
    assert squatter.name == "Squatter Renamed"  # plain data stays editable
    assert (squatter.partner_id, squatter.partner_id_status) == ("5123456", "unverified")
    assert staff.get(reverse("admin:partners_organization_add")).status_code == 403


# ------------------------------------------------------------------------------
# Where a Partner ID was used as an identifier
# ------------------------------------------------------------------------------
def test_create_provider_verifies_a_partner_id_nobody_else_claims(world):
    out = io.StringIO()
    call_command("create_provider", "Litware Cloud", "4200042", "boss@litware.example", stdout=out)
    assert Organization.objects.get(name="Litware Cloud").partner_id_status == "verified"
    assert "also claimed" not in out.getvalue()


def test_create_provider_leaves_a_claimed_partner_id_unverified_for_staff(world):
    ResellerFactory(name="Squatter Inc", partner_id="4200042")
    out = io.StringIO()
    call_command("create_provider", "Litware Cloud", "4200042", "boss@litware.example", stdout=out)
    assert Organization.objects.get(name="Litware Cloud").partner_id_status == "unverified"
    assert re.search(r"Partner ID 4200042 is also claimed by another organization", out.getvalue())


def test_create_provider_refuses_a_partner_id_verified_for_another_organization(world):
    before = Organization.objects.count()
    # P1's Partner ID is verified (staff made it), and claimed by nobody else.
    with pytest.raises(CommandError, match=f"already verified for {world.provider.name}"):
        call_command(
            "create_provider", "Litware Cloud", world.provider.partner_id, "boss@litware.example"
        )
    assert Organization.objects.count() == before
    assert not Membership.objects.filter(user__email="boss@litware.example").exists()


@pytest.mark.django_db(transaction=True)
def test_two_staff_verifying_rival_claims_at_once_leave_exactly_one_verified(world):
    from partners.services.organizations import verify_partner_id
    from tests.reliability._tokens import race

    squatter = ResellerFactory(name="Squatter Inc", partner_id="5123456")
    real = ResellerFactory(name="Real Company Ltd", partner_id="5123456")
    results = race(
        lambda: verify_partner_id(organization=squatter, actor=world.staff),
        lambda: verify_partner_id(organization=real, actor=world.staff),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = Organization.objects.filter(partner_id="5123456").values_list(
        "partner_id_status", flat=True
    )
    assert sorted(statuses) == ["rejected", "verified"]
