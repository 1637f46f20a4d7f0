"""Reads for the partners app. Tenant data is always narrowed by the organization passed in."""

from django.db.models import QuerySet

from partners.models import AuditEvent, Membership, Organization, TeamInvitation
from portal.models import User
from portal.tokens import token_digest


def membership_for(*, user: User, org_slug: str) -> Membership | None:
    """The user's membership in the organization with this slug, or None (not a member)."""
    return (
        Membership.objects.select_related("organization", "user")
        .filter(user=user, organization__slug=org_slug)
        .first()
    )


def memberships_of(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("organization")
        .filter(user=user)
        .order_by("organization__name")
    )


def member_list(*, org: Organization) -> QuerySet[Membership]:
    return Membership.objects.select_related("user").filter(organization=org)


def admin_count(*, org: Organization) -> int:
    return Membership.objects.filter(organization=org, role=Membership.Role.ADMIN).count()


def team_invitation_list(*, org: Organization) -> QuerySet[TeamInvitation]:
    return (
        TeamInvitation.objects.filter(organization=org, accepted_at=None, revoked_at=None)
        .select_related("invited_by")
        .order_by("-created_at")
    )


def team_invitation_by_token(*, token: str) -> TeamInvitation | None:
    """Look up an invitation by the secret in its link. Call inside `unscoped(...)`:
    holding the link is what authorises reading it."""
    return (
        TeamInvitation.objects.select_related("organization", "invited_by")
        .filter(token_digest=token_digest(token))
        .first()
    )


def audit_event_list(*, org: Organization) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(organization=org).select_related("actor")


def organization_by_partner_id(*, partner_id: str) -> Organization | None:
    return Organization.objects.filter(partner_id=partner_id).first()
