"""Writes for organizations: enrollment, providers created by staff, Partner ID review.

Every service is atomic, checks its rule against locked rows and records an AuditEvent
in the same transaction. Rule violations raise ValidationError with a message meant for
the person who asked.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from partners.audit import record_event
from partners.models import Membership, Organization
from partners.services.accounts import (
    CUSTOMER_ADDRESS_CANNOT_JOIN,
    refuse_customer_sign_in_account,
    refuse_customer_sign_in_address,
)
from partners.services.team import invite_member
from portal.locking import lock_all, lock_one
from portal.models import User


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _create_organization(
    *,
    kind: str,
    name: str,
    partner_id: str,
    country: str,
    contact_email: str,
    partner_id_status: str = Organization.PartnerIdStatus.UNVERIFIED,
) -> Organization:
    org = Organization(
        kind=kind,
        name=name.strip(),
        slug=_unique_slug(name),
        partner_id=partner_id.strip(),
        partner_id_status=partner_id_status,
        country=country,
        contact_email=contact_email.strip().lower(),
    )
    # The constraints are the database's to check on save: the one verified claim per
    # Partner ID answers with the message below (the digits have the field's validator).
    org.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            org.save()
    except IntegrityError as exc:
        # Only a verified claim is unique: another organization's was verified meanwhile.
        raise ValidationError(
            {"partner_id": _("This Partner ID is already verified for another organization.")},
            code="partner_id_verified",
        ) from exc
    return org


@transaction.atomic
def enroll_reseller(
    *, user: User, name: str, partner_id: str, country: str, contact_email: str
) -> Organization:
    """Enroll a new indirect reseller with `user` as its first Admin.

    Its Partner ID is a claim, unverified until staff check it. A Partner ID another
    organization already claims is accepted too: refusing it would let whoever enrolled
    first (a squatter) keep the real company out; staff settle it in the admin.
    """
    refuse_customer_sign_in_account(
        user,
        _(
            "%(email)s is a customer's sign-in account. It can't enroll an indirect "
            "reseller: sign in with your own email address to enroll your company."
        ),
    )
    org = _create_organization(
        kind=Organization.Kind.RESELLER,
        name=name,
        partner_id=partner_id,
        country=country,
        contact_email=contact_email,
    )
    Membership.objects.create(user=user, organization=org, role=Membership.Role.ADMIN)
    record_event(org=org, actor=user, verb="organization.enrolled", target=org)
    return org


@transaction.atomic
def create_provider(
    *,
    name: str,
    partner_id: str,
    country: str,
    contact_email: str,
    admin_email: str,
    actor: User | None = None,
) -> tuple[Organization, str | None]:
    """Create an indirect provider (staff only) and give `admin_email` its Admin role.

    Staff create providers, so the Partner ID is verified at once, unless another
    organization claims it too: then it stays unverified, a dispute to settle in the admin.
    A Partner ID already verified for another organization is refused.
    An existing user becomes Admin at once; anyone else is invited by email.
    Returns the organization and, for an invitation, the link it carries.
    """
    refuse_customer_sign_in_address(admin_email, CUSTOMER_ADDRESS_CANNOT_JOIN)
    claims = Organization.objects.filter(partner_id=partner_id.strip()).exclude(
        partner_id_status=Organization.PartnerIdStatus.REJECTED
    )
    holder = claims.filter(partner_id_status=Organization.PartnerIdStatus.VERIFIED).first()
    if holder is not None:
        raise ValidationError(
            {
                "partner_id": _("Partner ID %(partner_id)s is already verified for %(org)s.")
                % {"partner_id": holder.partner_id, "org": holder.name}
            },
            code="partner_id_verified",
        )
    claimed = claims.exists()
    org = _create_organization(
        kind=Organization.Kind.PROVIDER,
        name=name,
        partner_id=partner_id,
        country=country,
        contact_email=contact_email,
        partner_id_status=(
            Organization.PartnerIdStatus.UNVERIFIED
            if claimed
            else Organization.PartnerIdStatus.VERIFIED
        ),
    )
    record_event(org=org, actor=actor, verb="organization.created", target=org)
    admin_email = admin_email.strip().lower()
    user = User.objects.filter(email__iexact=admin_email).first()
    if user is not None:
        Membership.objects.create(user=user, organization=org, role=Membership.Role.ADMIN)
        record_event(org=org, actor=actor, verb="member.added", target=user, role="admin")
        return org, None
    _invitation, link = invite_member(
        org=org, actor=actor, email=admin_email, role=Membership.Role.ADMIN
    )
    return org, link


def _review(org: Organization, actor: User, status: str) -> None:
    org.partner_id_status = status
    org.partner_id_reviewed_at = timezone.now()
    org.partner_id_reviewed_by = actor
    org.save(
        update_fields=[
            "partner_id_status",
            "partner_id_reviewed_at",
            "partner_id_reviewed_by",
            "updated_at",
        ]
    )
    verb = "verified" if status == Organization.PartnerIdStatus.VERIFIED else "rejected"
    record_event(
        org=org, actor=actor, verb=f"organization.partner_id_{verb}", target=org.partner_id
    )


@transaction.atomic
def verify_partner_id(*, organization: Organization, actor: User) -> int:
    """Staff settle a Partner ID: this organization's claim is verified, and every
    competing claim is rejected. Returns how many were rejected.

    Every claim to the Partner ID is locked first, so two staff settling the same dispute
    opposite ways at once end with one verified claim (the constraint would refuse two).
    """
    claims = {
        o.pk: o
        for o in lock_all(
            Organization.objects.filter(partner_id=organization.partner_id).order_by("pk")
        )
    }
    organization = claims[organization.pk]
    rejected = 0
    for other in claims.values():
        if other.pk != organization.pk and other.partner_id_status != (
            Organization.PartnerIdStatus.REJECTED
        ):
            _review(other, actor, Organization.PartnerIdStatus.REJECTED)
            rejected += 1
    if not organization.partner_id_verified:
        _review(organization, actor, Organization.PartnerIdStatus.VERIFIED)
    return rejected


@transaction.atomic
def reject_partner_id(*, organization: Organization, actor: User) -> None:
    """Staff reject an organization's claim to its Partner ID (a squatter with no rival)."""
    organization = lock_one(Organization.objects.all(), pk=organization.pk)
    if organization.partner_id_status != Organization.PartnerIdStatus.REJECTED:
        _review(organization, actor, Organization.PartnerIdStatus.REJECTED)
