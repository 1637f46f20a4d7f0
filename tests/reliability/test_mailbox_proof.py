"""Issue 14, finding 1: an address counts as the person's only once they typed back a code
the portal emailed to it. Opening a link proves nothing: the provider and its Sales
agents see the partnership link on the draft page, an organization's Admins can Resend a
team invitation, and either could sign up through it.

All through the real views, allauth's real sign-up and login, and the outbox.
"""

import html
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from partners.models import (
    MailboxProof,
    Membership,
    Organization,
    PartnershipRequest,
    TeamInvitation,
)
from partners.services.partnerships import request_partnership
from partners.services.team import invite_member
from portal.emails import personalized
from portal.models import OutboundEmail
from portal.scoping import unscoped
from tests.factories import PASSWORD, UserFactory
from tests.reliability._mailbox import emailed_code, enter_code, sign_up
from tests.reliability._tokens import (
    TEAM_LINK,
    invite_member_via_view,
    logged_in_as,
    login,
    path_of,
    request_partnership_via_view,
    rows,
)

pytestmark = pytest.mark.django_db

VICTIM = "someone@bigcorp.example"
ACCEPT = reverse("partnership-accept")
TEAM_ACCEPT = reverse("team-invitation-accept")


def body(response) -> str:
    return html.unescape(response.content.decode())


def proofs(email: str) -> list[str]:
    return list(
        MailboxProof.objects.filter(email_address__email=email).values_list("method", flat=True)
    )


def enroll(client, name: str, partner_id: str):
    return client.post(
        reverse("enroll"),
        {"name": name, "partner_id": partner_id, "country": "US", "contact_email": VICTIM},
    )


def respond_from_indirect_providers(client, org: Organization, request_pk: int, decision: str):
    url = reverse("partners:request-respond", kwargs={"org_slug": org.slug, "pk": request_pk})
    return client.post(url, {"decision": decision}, follow=True)


# ------------------------------------------------------------------------------
# Sign-up through a link
# ------------------------------------------------------------------------------
def test_signing_up_through_a_partnership_link_leaves_the_address_unverified_until_the_code(
    world, client_for
):
    link, _token = request_partnership_via_view(
        client_for(world.provider_admin), world.provider, VICTIM
    )
    client = Client()
    client.get(path_of(link), follow=True)  # as a browser does
    page = body(client.get(ACCEPT))
    response = sign_up(client, VICTIM, ACCEPT)
    assert response["Location"] == reverse("account_email_verification_sent")
    address = EmailAddress.objects.get(email=VICTIM)
    assert not address.verified and proofs(VICTIM) == []
    assert logged_in_as(client) is None  # no session before the code

    assert enter_code(client, "AAAA-AAAA").status_code == 200  # a wrong code changes nothing
    address.refresh_from_db()
    assert not address.verified and logged_in_as(client) is None

    response = enter_code(client, emailed_code(VICTIM))
    assert response["Location"] == ACCEPT  # the accept page keeps its place
    address.refresh_from_db()
    assert address.verified and proofs(VICTIM) == [MailboxProof.Method.CODE]
    assert logged_in_as(client) == str(address.user_id)
    assert "Enroll as an indirect reseller" in body(client.get(ACCEPT))
    assert f"email={VICTIM.replace('@', '%40')}" in page  # the sign-up form came prefilled


def test_a_stash_left_in_a_session_from_before_the_fix_verifies_nothing(world):
    """Sessions outlive a deploy: one the old link page stashed an address in must not
    verify it at sign-up."""
    client = Client()
    client.get(reverse("account_signup"))
    session = client.session
    session["account_verified_email"] = VICTIM  # what the old link page left there
    session.save()
    sign_up(client, VICTIM, ACCEPT)
    assert not EmailAddress.objects.get(email=VICTIM).verified
    assert logged_in_as(client) is None


# ------------------------------------------------------------------------------
# The attack: a provider's staff member impersonates a reseller
# ------------------------------------------------------------------------------
def test_provider_staff_signing_up_through_their_own_link_cannot_answer_another_providers_request(
    world, client_for
):
    """Issue 14's attack, end to end: P1's Sales agent requests a partnership to VICTIM,
    signs up through their own link, enrolls a company, and tries to accept P2's request
    to the same address from Indirect providers. Refused at each step; nothing written."""
    # 1. The request, and the link the draft page shows its sender.
    link, _ = request_partnership_via_view(client_for(world.provider_sales), world.provider, VICTIM)
    # 2. Logged out, the agent opens the link and signs up as the reseller.
    attacker = Client()
    attacker.get(path_of(link), follow=True)  # as a browser does
    sign_up(attacker, VICTIM, ACCEPT)
    assert not EmailAddress.objects.get(email=VICTIM).verified
    assert logged_in_as(attacker) is None
    # Logging in with the chosen password only emails another code to VICTIM.
    response = login(attacker, VICTIM, PASSWORD)
    assert response["Location"] == reverse("account_email_verification_sent")
    assert logged_in_as(attacker) is None
    # 3. No session, so no enrolling.
    assert enroll(attacker, "Bigcorp IT", "5550001")["Location"].startswith(
        reverse("account_login")
    )
    assert not Organization.objects.filter(partner_id="5550001").exists()

    # Suppose the agent holds a session anyway (one made before this fix, say) with the
    # address marked verified the old way: the server still refuses, as no code proved it.
    user = EmailAddress.objects.get(email=VICTIM).user
    EmailAddress.objects.filter(email=VICTIM).update(verified=True)
    attacker.force_login(user)
    assert enroll(attacker, "Bigcorp IT", "5550001").status_code == 302
    bigcorp = Organization.objects.get(partner_id="5550001")
    # 4. P2's request to the same address, which the agent never saw a link for.
    request_partnership_via_view(
        client_for(world.other_provider_admin), world.other_provider, VICTIM
    )
    with unscoped("test: the other provider's request"):
        theirs = PartnershipRequest.objects.get(provider=world.other_provider)
    page = body(attacker.get(reverse("partners:provider-list", kwargs={"org_slug": bigcorp.slug})))
    assert world.other_provider.name in page
    assert f"Accept the request from {world.other_provider.name}" not in page  # no buttons
    before = rows()
    for decision in ("accept", "decline"):
        response = respond_from_indirect_providers(attacker, bigcorp, theirs.pk, decision)
        assert f"{VICTIM} was never confirmed with a code the portal emailed" in body(response)
    assert rows() == before  # 0 partnerships, 0 answers, 0 activity entries
    with unscoped("assert"):
        theirs.refresh_from_db()
    assert theirs.state == PartnershipRequest.State.PENDING


def test_the_link_page_does_not_offer_accept_to_an_address_no_code_proved(world, client_for):
    """A verified flag without a proof (how the New customer wizard and the admin's
    checkbox make addresses): the page explains instead of offering Accept or Decline."""
    user = UserFactory(email=VICTIM, verified__proven=False)
    link, _ = request_partnership_via_view(client_for(world.provider_admin), world.provider, VICTIM)
    client = client_for(user)
    client.get(path_of(link), follow=True)  # as a browser does
    page = body(client.get(ACCEPT))
    assert "was never confirmed with a code the portal emailed" in page
    assert 'value="accept"' not in page and 'value="decline"' not in page
    before = rows()
    response = client.post(ACCEPT, {"decision": "decline"}, follow=True)
    assert "was never confirmed with a code the portal emailed" in body(response)
    assert rows() == before


# ------------------------------------------------------------------------------
# Team invitations: the inviting Admins can Resend, so they hold a working link
# ------------------------------------------------------------------------------
def test_an_admin_who_resends_an_invitation_cannot_join_as_the_invitee(world, client_for):
    admin = client_for(world.provider_admin)
    invite_member_via_view(admin, world.provider, VICTIM, role="admin")
    with unscoped("test: the pending invitation"):
        invitation = TeamInvitation.objects.get(organization=world.provider, email=VICTIM)
    resend = reverse(
        "team:invitation-resend", kwargs={"org_slug": world.provider.slug, "pk": invitation.pk}
    )
    assert admin.post(resend).status_code == 302
    link, _ = invite_link_from_outbox()

    impostor = Client()
    impostor.get(path_of(link), follow=True)  # as a browser does
    sign_up(impostor, VICTIM, TEAM_ACCEPT)
    assert not EmailAddress.objects.get(email=VICTIM).verified
    assert logged_in_as(impostor) is None
    assert impostor.post(TEAM_ACCEPT)["Location"].startswith(reverse("account_login"))

    # With a session and the old-style verified flag: refused by accept_invitation.
    EmailAddress.objects.filter(email=VICTIM).update(verified=True)
    impostor.force_login(EmailAddress.objects.get(email=VICTIM).user)
    before = rows()
    response = impostor.post(TEAM_ACCEPT, follow=True)
    assert f"{VICTIM} was never confirmed with a code the portal emailed" in body(response)
    assert rows() == before
    assert not Membership.objects.filter(user__email=VICTIM).exists()


def invite_link_from_outbox():
    with unscoped("reading the outbox"):
        text = personalized(OutboundEmail.objects.filter(to=VICTIM).latest("pk")).text
    match = TEAM_LINK.search(text)
    return match.group(0), match.group(1)


def test_the_invitee_who_enters_the_emailed_code_joins(world, client_for):
    link, _ = invite_member_via_view(client_for(world.provider_admin), world.provider, VICTIM)
    client = Client()
    client.get(path_of(link), follow=True)  # as a browser does
    sign_up(client, VICTIM, TEAM_ACCEPT)
    assert enter_code(client, emailed_code(VICTIM))["Location"] == TEAM_ACCEPT
    assert client.post(TEAM_ACCEPT).status_code == 302
    membership = Membership.objects.get(user__email=VICTIM)
    assert membership.organization == world.provider
    assert proofs(VICTIM) == [MailboxProof.Method.CODE]


# ------------------------------------------------------------------------------
# Accounts made the unsafe way: the migration
# ------------------------------------------------------------------------------
def run_migrations(backwards: bool) -> None:
    """partners' proof migrations, un-applied (to just after the table is created) or
    applied, by name suffix so the numbers can change on merge."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    nodes = executor.loader.graph.nodes
    if backwards:
        [target] = [
            key for key in nodes if key[0] == "partners" and key[1].endswith("_mailbox_proof")
        ]
        executor.migrate([target])
    else:
        executor.migrate(executor.loader.graph.leaf_nodes())
    executor.loader.build_graph()


def test_the_migration_unverifies_link_signups_ends_their_sessions_and_keeps_the_rest(
    world, client_for
):
    run_migrations(backwards=True)
    now = timezone.now()
    # What the old code left: link sign-ups verified, no proofs anywhere yet.
    with unscoped("test setup"):
        request, _ = request_partnership(
            provider=world.provider, actor=world.provider_sales, email="linked@bigcorp.example"
        )
        invitation, _ = invite_member(
            org=world.provider,
            actor=world.provider_admin,
            email="joined@example.test",
            role="sales_agent",
        )
        answered_early, _ = request_partnership(
            provider=world.other_provider,
            actor=world.other_provider_admin,
            email=world.reseller_admin.email,
        )
    linked = UserFactory(email="linked@bigcorp.example", verified__proven=False)
    joined = UserFactory(email="joined@example.test", verified__proven=False)
    MailboxProof.objects.all().delete()
    hour = timedelta(hours=1)
    with unscoped("test setup: when things happened"):
        PartnershipRequest.objects.filter(pk=request.pk).update(created_at=now - 2 * hour)
        TeamInvitation.objects.filter(pk=invitation.pk).update(created_at=now - 2 * hour)
        # The reseller's Admin had an account before P2's request: proven some other way.
        PartnershipRequest.objects.filter(pk=answered_early.pk).update(created_at=now - hour)
    type(linked).objects.filter(pk__in=[linked.pk, joined.pk]).update(date_joined=now - hour)
    type(linked).objects.filter(pk=world.reseller_admin.pk).update(date_joined=now - 3 * hour)
    sessions = {
        user.email: client_for(user).session.session_key for user in (linked, world.reseller_admin)
    }

    run_migrations(backwards=False)

    verified = dict(EmailAddress.objects.values_list("email", "verified"))
    assert verified["linked@bigcorp.example"] is False
    assert verified["joined@example.test"] is False
    assert verified[world.reseller_admin.email] is True
    assert verified[world.provider_admin.email] is True
    assert not Session.objects.filter(session_key=sessions["linked@bigcorp.example"]).exists()
    assert Session.objects.filter(session_key=sessions[world.reseller_admin.email]).exists()
    assert proofs("linked@bigcorp.example") == [] and proofs("joined@example.test") == []
    assert proofs(world.reseller_admin.email) == [MailboxProof.Method.EARLIER]
    with unscoped("test: the customer admin"):
        customer_admin = Customer.objects.get(admin_user=world.customer_admin).admin_user
    assert verified[customer_admin.email] is True and proofs(customer_admin.email) == []

    # The owner verifies again at the next login: allauth's mandatory verification
    # emails a code instead of opening a session, and the code proves the mailbox.
    client = Client()
    response = login(client, "linked@bigcorp.example")
    assert response["Location"] == reverse("account_email_verification_sent")
    assert logged_in_as(client) is None
    enter_code(client, emailed_code("linked@bigcorp.example"))
    assert logged_in_as(client) == str(linked.pk)
    assert proofs("linked@bigcorp.example") == [MailboxProof.Method.CODE]


# ------------------------------------------------------------------------------
# A squatter's password does not survive the owner's proof
# ------------------------------------------------------------------------------
def test_a_sign_in_code_that_first_proves_an_address_voids_the_password_a_squatter_chose(world):
    """Someone signs up with another person's address (or did so through a link before
    this fix, and the migration un-verified it) and keeps the password. When the owner
    gets in with "Send me a sign-in code", that password and any TOTP stop working, or
    the squatter would log in on the owner's proof."""
    squatter = Client()
    sign_up(squatter, VICTIM, reverse("enroll"))
    user = EmailAddress.objects.get(email=VICTIM).user
    assert logged_in_as(squatter) is None

    owner = Client()
    owner.post(reverse("account_request_login_code"), {"email": VICTIM})
    response = owner.post(
        reverse("account_confirm_login_code"), {"code": emailed_code(VICTIM)}, follow=True
    )
    assert logged_in_as(owner) == str(user.pk)
    assert proofs(VICTIM) == [MailboxProof.Method.CODE]
    assert "choose a new password under Change password" in body(response)

    refused = login(Client(), VICTIM, PASSWORD)  # the squatter's password
    assert "are not correct" in body(refused)
    user.refresh_from_db()
    assert not user.has_usable_password()
    new = "copper-meadow-lantern-83"
    owner.post(reverse("account_set_password"), {"password1": new, "password2": new})
    assert login(Client(), VICTIM, new).status_code == 302


def test_staff_mark_as_verified_records_a_staff_proof_and_the_checkbox_none(world, client_for):
    """The admin's action says who vouched; flipping the checkbox proves nothing."""
    action_user = UserFactory(email="vouched@example.test", verified=False)
    address = EmailAddress.objects.create(user=action_user, email=action_user.email)
    staff = client_for(world.staff)
    response = staff.post(
        reverse("admin:account_emailaddress_changelist"),
        {"action": "make_verified", "_selected_action": [address.pk]},
    )
    assert response.status_code == 302
    assert proofs("vouched@example.test") == [MailboxProof.Method.STAFF]

    ticked = UserFactory(email="ticked@example.test", verified=False)
    address = EmailAddress.objects.create(user=ticked, email=ticked.email)
    change = reverse("admin:account_emailaddress_change", args=[address.pk])
    form = {"user": ticked.pk, "email": ticked.email, "verified": "on", "primary": "on"}
    assert staff.post(change, form).status_code == 302
    address.refresh_from_db()
    assert address.verified and proofs("ticked@example.test") == []
