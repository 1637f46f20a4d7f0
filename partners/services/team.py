"""Writes for a team: inviting colleagues, accepting invitations, roles, leaving.

Every service is atomic, checks its rule against locked rows, records an AuditEvent in
the same transaction, and queues email on commit. Rule violations raise
ValidationError with a message meant for the person who asked.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.audit import record_event
from partners.models import Membership, Organization, TeamInvitation
from partners.services.accounts import (
    CUSTOMER_ADDRESS_CANNOT_JOIN,
    check_holds_mailbox,
    refuse_customer_sign_in_account,
    refuse_customer_sign_in_address,
)
from portal.emails import LINK_MARKER, send_email
from portal.locking import lock_all, lock_one
from portal.models import User
from portal.scoping import org_scope
from portal.tokens import new_token


def _invitation_link(token: str) -> str:
    return settings.SITE_URL + reverse("team-invitation", kwargs={"token": token})


def _send_invitation(invitation: TeamInvitation, token: str, actor: User | None) -> str:
    link = _invitation_link(token)
    known = User.objects.filter(email__iexact=invitation.email).values_list("language", flat=True)
    send_email(
        template="team_invitation",
        to=invitation.email,
        language=next(iter(known), "") or None,
        context={
            "organization": invitation.organization,
            "inviter": actor,
            "role": invitation.get_role_display(),
            "link": link,
            "expires_at": invitation.expires_at,
        },
        secrets={LINK_MARKER: link},
    )
    return link


@transaction.atomic
def invite_member(
    *, org: Organization, actor: User | None, email: str, role: str
) -> tuple[TeamInvitation, str]:
    """Invite a colleague by email; the link signs them up or logs them in and adds them."""
    email = email.strip().lower()
    refuse_customer_sign_in_address(email, CUSTOMER_ADDRESS_CANNOT_JOIN)
    if Membership.objects.filter(organization=org, user__email__iexact=email).exists():
        raise ValidationError(
            _("%(email)s is already a member of %(org)s.") % {"email": email, "org": org.name},
            code="already_member",
        )
    with org_scope(org):
        open_invitations = TeamInvitation.objects.filter(
            organization=org, email__iexact=email, accepted_at=None, revoked_at=None
        )
        for invitation in lock_all(open_invitations):
            if invitation.is_pending:
                raise ValidationError(
                    _(
                        "%(email)s has already been invited. "
                        "Use Resend on the pending invitation instead."
                    )
                    % {"email": email},
                    code="already_invited",
                )
            # An expired, unanswered invitation stays in the log but stops blocking.
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at", "updated_at"])
        token, digest = new_token()
        invitation = TeamInvitation.objects.create(
            organization=org,
            email=email,
            role=role,
            token_digest=digest,
            invited_by=actor,
            expires_at=TeamInvitation.default_expiry(),
        )
    link = _send_invitation(invitation, token, actor)
    record_event(org=org, actor=actor, verb="member.invited", target=email, role=role)
    return invitation, link


@transaction.atomic
def resend_invitation(*, org: Organization, actor: User, invitation: TeamInvitation) -> str:
    """Send a fresh link; the old one stops working."""
    with org_scope(org):
        invitation = lock_one(TeamInvitation.objects.all(), pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise ValidationError(_("This invitation is no longer open."), code="not_open")
    token, invitation.token_digest = new_token()
    invitation.expires_at = TeamInvitation.default_expiry()
    invitation.save(update_fields=["token_digest", "expires_at", "updated_at"])
    link = _send_invitation(invitation, token, actor)
    record_event(org=org, actor=actor, verb="member.invitation_resent", target=invitation.email)
    return link


@transaction.atomic
def revoke_invitation(*, org: Organization, actor: User, invitation: TeamInvitation) -> None:
    with org_scope(org):
        invitation = lock_one(TeamInvitation.objects.all(), pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise ValidationError(_("This invitation is no longer open."), code="not_open")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at", "updated_at"])
    record_event(org=org, actor=actor, verb="member.invitation_revoked", target=invitation.email)


def invitation_problem(invitation: TeamInvitation | None) -> str | None:
    """Why a link can't be used, in words a stranger may read (no organization data)."""
    if invitation is None:
        return _("This invitation link is not valid. Check that you copied the whole link.")
    state = invitation.state
    if state == "accepted":
        return _("This invitation has already been used.")
    if state == "revoked":
        return _("This invitation was withdrawn. Ask your colleague for a new one.")
    if state == "expired":
        return _("This invitation has expired. Ask your colleague to send a new one.")
    return None


@transaction.atomic
def accept_invitation(*, user: User, invitation: TeamInvitation) -> Membership:
    """Join the organization. The user must have proved they hold the invited mailbox."""
    org = invitation.organization
    with org_scope(org):
        invitation = lock_one(TeamInvitation.objects.all(), pk=invitation.pk)
    problem = invitation_problem(invitation)
    if problem:
        raise ValidationError(problem, code="not_open")
    refuse_customer_sign_in_account(
        user,
        _(
            "%(email)s is a customer's sign-in account. It can't join an organization: "
            "sign in with your own email address to accept this invitation."
        ),
    )
    check_holds_mailbox(
        user=user,
        email=invitation.email,
        wrong_user=_(
            "This invitation was sent to %(email)s. Log in with that address to accept it."
        )
        % {"email": invitation.email},
        unproven=_(
            "%(email)s was never confirmed with a code the portal emailed to it, so this "
            "account cannot accept invitations sent to it."
        )
        % {"email": invitation.email},
    )
    membership, created = Membership.objects.get_or_create(
        user=user, organization=org, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    if created:
        record_event(org=org, actor=user, verb="member.joined", target=user, role=invitation.role)
    return membership


def _lock_admins(org: Organization) -> list[Membership]:
    # Locking every Admin row serialises concurrent demotions and removals, so two
    # Admins demoting each other at the same moment cannot leave the organization headless.
    return lock_all(Membership.objects.filter(organization=org, role=Membership.Role.ADMIN))


@transaction.atomic
def change_role(*, org: Organization, actor: User, membership: Membership, role: str) -> Membership:
    admins = _lock_admins(org)
    membership = lock_one(Membership.objects.all(), pk=membership.pk, organization=org)
    if membership.role == role:
        return membership
    if membership.role == Membership.Role.ADMIN and len(admins) <= 1:
        raise ValidationError(
            _("%(user)s is the last Admin of %(org)s. Make someone else an Admin first.")
            % {"user": membership.user.display_name, "org": org.name},
            code="last_admin",
        )
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    record_event(
        org=org, actor=actor, verb="member.role_changed", target=membership.user, old=old, new=role
    )
    return membership


@transaction.atomic
def remove_member(*, org: Organization, actor: User, membership: Membership) -> None:
    admins = _lock_admins(org)
    membership = lock_one(Membership.objects.all(), pk=membership.pk, organization=org)
    if membership.role == Membership.Role.ADMIN and len(admins) <= 1:
        raise ValidationError(
            _("%(user)s is the last Admin of %(org)s and cannot be removed.")
            % {"user": membership.user.display_name, "org": org.name},
            code="last_admin",
        )
    user = membership.user
    membership.delete()
    record_event(org=org, actor=actor, verb="member.removed", target=user)
