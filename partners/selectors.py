"""Reads for the partners app. Tenant data is always narrowed by the organization passed in."""

from allauth.account.models import EmailAddress
from django.db.models import FETCH_RAISE, Count, Q, QuerySet
from django.utils import timezone

from partners.models import (
    AuditEvent,
    Membership,
    Organization,
    Partnership,
    PartnershipRequest,
    TeamInvitation,
)
from portal.models import OutboundEmail, User


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


def admins_who_want(*, org_id: int, kind: User.Notification) -> QuerySet:
    """(email, language) of the organization's active Admins who take `kind` of email.

    Notices about an organization go to the people who run it, not to every member, and
    each person can turn a kind off on their profile. The one query behind every such
    email, the lifecycle job's included (it caches the answer per run)."""
    return (
        User.objects.filter(
            memberships__organization_id=org_id,
            memberships__role=Membership.Role.ADMIN,
            is_active=True,
            **{kind.value: True},
        )
        .order_by("email")
        .values_list("email", "language")
    )


def member_list(*, org: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("user").filter(organization=org).fetch_mode(FETCH_RAISE)
    )


def team_invitation_list(*, org: Organization) -> QuerySet[TeamInvitation]:
    return (
        TeamInvitation.objects.filter(organization=org, accepted_at=None, revoked_at=None)
        .select_related("invited_by")
        .order_by("-created_at")
        .fetch_mode(FETCH_RAISE)
    )


def team_invitation_by_digest(*, digest: str) -> TeamInvitation | None:
    """An invitation by its link token's digest (portal/links.py keeps the digest in the
    session, never the token). Call inside `unscoped(...)`: holding the link is what
    authorises reading it. The lookup is an exact match on a unique index: no secret is
    compared in Python."""
    return (
        TeamInvitation.objects.select_related("organization", "invited_by")
        .filter(token_digest=digest)
        .first()
    )


def activity_list(*, org: Organization) -> QuerySet[AuditEvent]:
    """What the organization did, and what others did to relationships it is part of."""
    return (
        AuditEvent.objects.filter(AuditEvent.visible_to(org))
        .select_related("actor", "organization")
        .fetch_mode(FETCH_RAISE)
    )


def competing_partner_id_claims(*, org: Organization) -> QuerySet[Organization]:
    """Other organizations claiming the organization's Partner ID (those staff rejected
    aside). Partner IDs are self-declared, so they identify nobody until verified."""
    return (
        Organization.objects.filter(partner_id=org.partner_id)
        .exclude(pk=org.pk)
        .exclude(partner_id_status=Organization.PartnerIdStatus.REJECTED)
    )


def partner_reseller_list(*, org: Organization) -> QuerySet[Partnership]:
    """The provider's active partnerships (their counts: `reseller_counts`)."""
    return (
        Partnership.objects.filter(provider=org, ended_at=None)
        .select_related("reseller")
        .order_by("reseller__name", "pk")
        .fetch_mode(FETCH_RAISE)
    )


def partner_provider_list(*, org: Organization) -> QuerySet[Partnership]:
    """The reseller's active partnerships."""
    return (
        Partnership.objects.filter(reseller=org, ended_at=None)
        .select_related("provider")
        .order_by("provider__name", "pk")
        .fetch_mode(FETCH_RAISE)
    )


def partnership_for(*, org: Organization) -> QuerySet[Partnership]:
    """Partnerships the organization is a side of, active or ended."""
    return Partnership.objects.filter(Partnership.visible_to(org)).select_related(
        "provider", "reseller"
    )


def partnership_request_list(*, org: Organization) -> QuerySet[PartnershipRequest]:
    """Requests the provider sent, newest first, with their delivery status."""
    return (
        PartnershipRequest.objects.filter(provider=org)
        .select_related("requested_by", "outbound_email", "reseller")
        .order_by("-created_at", "-pk")
        .fetch_mode(FETCH_RAISE)
    )


def open_partnership_request_list(*, org: Organization) -> QuerySet[PartnershipRequest]:
    """The provider's requests still waiting for the reseller's answer (not expired)."""
    return PartnershipRequest.objects.filter(
        provider=org, state=PartnershipRequest.State.PENDING, expires_at__gt=timezone.now()
    )


def provider_partner_figures(*, org: Organization) -> dict[str, int]:
    """The provider dashboard's partner figures: active resellers, open partnership requests,
    and those of them whose email failed. Read live (not cached): each is bounded by the
    provider's own partnerships and requests (the indexes leading with provider), a few
    thousand rows at the biggest distributor, where a cached figure would lag a new
    partnership or a failed send."""
    resellers = Partnership.objects.filter(provider=org, ended_at=None).count()
    requests = open_partnership_request_list(org=org).aggregate(
        open=Count("pk"),
        failed=Count("pk", filter=Q(outbound_email__status=OutboundEmail.Status.FAILED)),
    )
    return {"resellers": resellers, **requests}


def recent_activity(*, org: Organization, limit: int = 10) -> list[AuditEvent]:
    """The dashboard's latest activity entries (the index on the tenant and -created_at)."""
    return list(activity_list(org=org).order_by("-created_at", "-pk")[:limit])


def incoming_request_list(*, org: Organization) -> QuerySet[PartnershipRequest]:
    """Unanswered requests addressed to the reseller's users."""
    member_emails = Membership.objects.filter(organization=org).values("user__email")
    return (
        PartnershipRequest.objects.filter(
            email__in=member_emails,
            state=PartnershipRequest.State.PENDING,
            expires_at__gt=timezone.now(),
        )
        .select_related("provider")
        .order_by("-created_at")
    )


def partnership_request_by_digest(*, digest: str) -> PartnershipRequest | None:
    """A request by its link token's digest, as team_invitation_by_digest."""
    return PartnershipRequest.objects.select_related("provider").filter(token_digest=digest).first()


def reseller_admin_memberships(*, user: User) -> QuerySet[Membership]:
    """The enrolled resellers this user can accept partnerships for."""
    return Membership.objects.filter(
        user=user,
        role=Membership.Role.ADMIN,
        organization__kind=Organization.Kind.RESELLER,
    ).select_related("organization")


def active_partner_organizations(*, org: Organization) -> QuerySet[Organization]:
    """The other side of the organization's active partnerships: its resellers (for a
    provider) or its providers (for a reseller). The choices every partner list uses."""
    if org.is_provider:
        return Organization.objects.filter(
            provider_partnerships__provider=org, provider_partnerships__ended_at=None
        ).order_by("name")
    return Organization.objects.filter(
        reseller_partnerships__reseller=org, reseller_partnerships__ended_at=None
    ).order_by("name")


def proven_addresses(*, user: User) -> QuerySet[EmailAddress]:
    """The user's verified addresses that a code the portal emailed proved (MailboxProof):
    the only ones that may answer partnership requests and team invitations."""
    return EmailAddress.objects.filter(user=user, verified=True, mailbox_proof__isnull=False)


def mailbox_status(*, user: User, email: str) -> str:
    """ "proven" (a code proved `email` is the user's), "unproven" (on the account and
    verified, but never by a code), or "absent" (not a verified address of theirs)."""
    verified = EmailAddress.objects.filter(user=user, email__iexact=email, verified=True)
    proofs = verified.values_list("mailbox_proof", flat=True)
    found = list(proofs[:1])
    if not found:
        return "absent"
    return "unproven" if found[0] is None else "proven"
