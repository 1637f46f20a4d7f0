import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse, reverse_lazy
from django.utils import timezone

from partners.models import AuditEvent, Membership, TeamInvitation
from partners.services.team import invite_member
from portal.emails import personalized
from portal.models import OutboundEmail, User
from portal.scoping import unscoped
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.reliability._mailbox import emailed_code, enter_code, sign_up

pytestmark = pytest.mark.django_db


def team_url(world, name="team:list", **kwargs):
    return reverse(name, kwargs={"org_slug": world.provider.slug, **kwargs})


def link_from(email: OutboundEmail) -> str:
    """The link as the worker sends it (the row itself holds only a marker)."""
    return re.search(r"http://\S+/team-invitations/\S+/", personalized(email).text).group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


ACCEPT = reverse_lazy("team-invitation-accept")


def open_link(client, link):
    """Follow the emailed link as a browser does: its token moves into the session and
    the browser lands on the token-less accept page."""
    response = client.get(path_of(link))
    assert response.status_code == 302, response.status_code
    assert response["Location"] == ACCEPT
    assert response["Referrer-Policy"] == "no-referrer"
    return client.get(response["Location"])


def invite(world, email="colleague@example.test", role="sales_agent"):
    with unscoped("test setup"):
        return invite_member(org=world.provider, actor=world.provider_admin, email=email, role=role)


# ------------------------------------------------------------------------------
# The Users page
# ------------------------------------------------------------------------------
def test_users_page_lists_members_with_roles_for_every_member(world, client_for):
    for user in (world.provider_admin, world.provider_sales, world.provider_support):
        page = client_for(user).get(team_url(world)).content.decode()
        assert "p1-sales@example.test" in page
        assert "Support agent" in page
        assert "p2-admin@example.test" not in page


def test_only_admins_see_the_manage_buttons(world, client_for):
    admin_page = client_for(world.provider_admin).get(team_url(world)).content.decode()
    sales_page = client_for(world.provider_sales).get(team_url(world)).content.decode()
    assert "Invite user" in admin_page and "Change role" in admin_page
    assert "Invite user" not in sales_page and "Change role" not in sales_page


def test_users_page_filters_by_role_and_search(world, client_for):
    client = client_for(world.provider_admin)
    page = client.get(team_url(world), {"role": "support_agent"}).content.decode()
    assert "p1-support@example.test" in page and "p1-sales@example.test" not in page
    page = client.get(team_url(world), {"q": "sales"}).content.decode()
    assert "p1-sales@example.test" in page and "p1-support@example.test" not in page


def test_users_page_answers_htmx_with_the_table_only(world, client_for):
    response = client_for(world.provider_admin).get(
        team_url(world), {"q": "sales"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert 'id="members"' in body and "<html" not in body
    assert "p1-sales@example.test" in body


@pytest.mark.parametrize("rows", [1, 60])
def test_users_page_runs_a_constant_number_of_queries(
    rows, world, client_for, django_assert_max_num_queries
):
    for _ in range(rows):
        MembershipFactory(organization=world.provider, role=Membership.Role.SALES_AGENT)
    for n in range(min(rows, 10)):
        invite(world, email=f"pending{n}@example.test")
    client = client_for(world.provider_admin)
    with django_assert_max_num_queries(12):
        assert client.get(team_url(world)).status_code == 200


# ------------------------------------------------------------------------------
# Inviting
# ------------------------------------------------------------------------------
def test_admin_invites_a_colleague_and_an_email_is_queued(world, client_for):
    client = client_for(world.provider_admin)
    response = client.post(
        team_url(world, "team:invite"),
        {"email": "New.Person@Example.test", "role": "support_agent"},
    )
    assert response.status_code == 302
    with unscoped("assert"):
        invitation = TeamInvitation.objects.get()
    assert invitation.email == "new.person@example.test"
    assert invitation.role == "support_agent"
    assert len(invitation.token_digest) == 64
    email = OutboundEmail.objects.get(to="new.person@example.test")
    assert world.provider.name in email.subject
    assert (
        invitation.token_digest not in email.body_text
    )  # the link carries the token, not the hash
    follow = client.get(response["Location"])
    assert "Invitation sent to new.person@example.test." in follow.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email", "role": "admin"}, "Enter a valid email address."),
        ({"email": "", "role": "admin"}, "This field is required."),
        ({"email": "x@example.test", "role": "owner"}, "Select a valid choice."),
        ({"email": "p1-sales@example.test", "role": "admin"}, "is already a member of"),
    ],
)
def test_bad_invitations_are_refused_with_a_message_and_nothing_written(
    data, message, world, client_for
):
    response = client_for(world.provider_admin).post(team_url(world, "team:invite"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    with unscoped("assert"):
        assert TeamInvitation.objects.count() == 0
    assert OutboundEmail.objects.count() == 0


def test_inviting_someone_already_invited_offers_resend(world, client_for):
    invite(world, email="twice@example.test")
    response = client_for(world.provider_admin).post(
        team_url(world, "team:invite"), {"email": "twice@example.test", "role": "admin"}
    )
    assert "Use Resend on the pending invitation instead." in response.content.decode()
    with unscoped("assert"):
        assert TeamInvitation.objects.count() == 1


def test_resend_invalidates_the_old_link(world, client_for):
    invitation, old_link = invite(world)
    client = client_for(world.provider_admin)
    client.post(team_url(world, "team:invitation-resend", pk=invitation.pk))
    new_email = OutboundEmail.objects.order_by("-pk").first()
    new_link = link_from(new_email)
    assert new_link != old_link
    assert client_for(None).get(path_of(old_link)).status_code == 404
    assert open_link(client_for(None), new_link).status_code == 200


def test_revoked_link_explains_itself_without_naming_the_organization(world, client_for):
    invitation, link = invite(world)
    client_for(world.provider_admin).post(
        team_url(world, "team:invitation-revoke", pk=invitation.pk)
    )
    response = client_for(None).get(path_of(link))
    assert response.status_code == 410
    body = response.content.decode()
    assert "withdrawn" in body
    assert world.provider.name not in body and world.provider.partner_id not in body


def test_expired_and_unknown_links_explain_which(world, client_for):
    invitation, link = invite(world)
    with unscoped("test setup"):
        TeamInvitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    expired = client_for(None).get(path_of(link))
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    unknown = client_for(None).get(reverse("team-invitation", kwargs={"token": "x" * 43}))
    assert unknown.status_code == 404 and "not valid" in unknown.content.decode()
    assert world.provider.name not in expired.content.decode() + unknown.content.decode()


# ------------------------------------------------------------------------------
# Accepting
# ------------------------------------------------------------------------------
def test_signing_up_through_the_link_asks_for_the_emailed_code_then_joins(world, client):
    invitation, link = invite(world, email="newbie@example.test", role="sales_agent")
    page = open_link(client, link)
    assert world.provider.name in page.content.decode()
    assert page["Referrer-Policy"] == "same-origin"  # no secret in this URL
    assert path_of(link) not in page.content.decode()
    emails_before = OutboundEmail.objects.count()
    response = sign_up(client, "newbie@example.test", ACCEPT)
    # The inviting Admins can Resend, so the link proves nothing: allauth emails a code.
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not EmailAddress.objects.get(email="newbie@example.test").verified
    assert OutboundEmail.objects.count() == emails_before + 1
    assert enter_code(client, emailed_code("newbie@example.test"))["Location"] == ACCEPT
    assert EmailAddress.objects.get(email="newbie@example.test").verified
    accepted = client.post(ACCEPT)
    assert accepted["Location"] == reverse("dashboard", kwargs={"org_slug": world.provider.slug})
    membership = Membership.objects.get(user__email="newbie@example.test")
    assert membership.organization == world.provider and membership.role == "sales_agent"
    with unscoped("assert"):
        assert TeamInvitation.objects.get(pk=invitation.pk).accepted_at is not None
        assert AuditEvent.objects.filter(verb="member.joined").count() == 1
    # Single use: the link, and a second press on the accept page, explain it was used.
    assert "already been used" in client.get(path_of(link)).content.decode()
    again = client.post(ACCEPT)
    assert again.status_code == 410 and "already been used" in again.content.decode()
    assert Membership.objects.filter(user__email="newbie@example.test").count() == 1


def test_opening_the_link_changes_nothing_and_accepting_needs_a_post(world, client_for):
    _invitation, link = invite(world, email=world.no_org_user.email)
    client = client_for(world.no_org_user)
    for _ in range(3):
        assert open_link(client, link).status_code == 200
    assert not Membership.objects.filter(user=world.no_org_user).exists()
    assert client.post(path_of(link)).status_code == 405  # the link itself never accepts
    assert client.post(ACCEPT).status_code == 302
    assert Membership.objects.filter(user=world.no_org_user, organization=world.provider).exists()


def test_the_accept_page_without_a_link_explains_what_to_do(client):
    response = client.get(ACCEPT)
    assert response.status_code == 404
    assert "Open the link from the invitation email again." in response.content.decode()


def test_signing_up_with_another_address_does_not_verify_it(world, client):
    _, link = invite(world, email="invited@example.test")
    open_link(client, link)
    client.post(
        f"{reverse('account_signup')}?next={ACCEPT}",
        {"email": "someone-else@example.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    user = User.objects.get(email="someone-else@example.test")
    assert not EmailAddress.objects.filter(user=user, verified=True).exists()
    assert not EmailAddress.objects.filter(email="invited@example.test").exists()


def test_existing_user_logs_in_through_the_link_and_accepts(world, client):
    user = UserFactory(email="existing@example.test")
    _, link = invite(world, email="existing@example.test", role="support_agent")
    open_link(client, link)
    response = client.post(
        f"{reverse('account_login')}?next={ACCEPT}",
        {"login": "existing@example.test", "password": PASSWORD},
    )
    assert response["Location"] == ACCEPT
    client.post(ACCEPT)
    assert Membership.objects.get(user=user).role == "support_agent"


def test_a_different_logged_in_user_is_told_which_address_was_invited(world, client_for):
    invitation, link = invite(world, email="right@example.test")
    client = client_for(world.reseller_admin)
    page = open_link(client, link).content.decode()
    assert "This invitation was sent to right@example.test" in page
    client.post(ACCEPT)
    assert not Membership.objects.filter(
        user=world.reseller_admin, organization=world.provider
    ).exists()
    with unscoped("assert"):
        assert TeamInvitation.objects.get(pk=invitation.pk).accepted_at is None


# ------------------------------------------------------------------------------
# Roles and removal
# ------------------------------------------------------------------------------
def test_admin_changes_a_role(world, client_for):
    member = Membership.objects.get(user=world.provider_sales)
    response = client_for(world.provider_admin).post(
        team_url(world, "team:edit", pk=member.pk), {"role": "support_agent"}
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == "support_agent"


def test_the_last_admin_cannot_be_demoted_or_removed(world, client_for):
    admin = Membership.objects.get(user=world.provider_admin)
    client = client_for(world.provider_admin)
    response = client.post(team_url(world, "team:edit", pk=admin.pk), {"role": "sales_agent"})
    assert "is the last Admin" in response.content.decode()
    response = client.post(team_url(world, "team:remove", pk=admin.pk), follow=True)
    assert "cannot be removed" in response.content.decode()
    admin.refresh_from_db()
    assert admin.role == "admin"


def test_with_two_admins_one_can_be_demoted(world, client_for):
    second = Membership.objects.get(user=world.provider_sales)
    second.role = "admin"
    second.save()
    admin = Membership.objects.get(user=world.provider_admin)
    client_for(world.provider_sales).post(
        team_url(world, "team:edit", pk=admin.pk), {"role": "sales_agent"}
    )
    admin.refresh_from_db()
    assert admin.role == "sales_agent"


def test_admin_removes_a_member_after_confirming(world, client_for):
    member = Membership.objects.get(user=world.provider_support)
    client = client_for(world.provider_admin)
    confirm = client.get(team_url(world, "team:remove", pk=member.pk))
    assert "p1-support@example.test will lose access" in confirm.content.decode()
    assert Membership.objects.filter(pk=member.pk).exists()
    response = client.post(team_url(world, "team:remove", pk=member.pk), follow=True)
    assert "was removed" in response.content.decode()
    assert not Membership.objects.filter(pk=member.pk).exists()
    # The removed person loses access at once.
    assert client_for(world.provider_support).get(team_url(world)).status_code == 404


def test_a_member_can_leave_but_not_remove_others(world, client_for):
    own = Membership.objects.get(user=world.provider_sales)
    other = Membership.objects.get(user=world.provider_support)
    client = client_for(world.provider_sales)
    assert client.get(team_url(world, "team:remove", pk=other.pk)).status_code == 404
    assert client.post(team_url(world, "team:remove", pk=other.pk)).status_code == 404
    assert Membership.objects.filter(pk=other.pk).exists()
    response = client.post(team_url(world, "team:remove", pk=own.pk))
    assert response["Location"] == reverse("home")
    assert not Membership.objects.filter(pk=own.pk).exists()
