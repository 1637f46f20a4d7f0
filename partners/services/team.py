"""Writes for the partners app: organizations, enrollment, team membership.

Every service is atomic, checks its rule against locked rows, records an AuditEvent in
the same transaction, and queues email on commit. Rule violations raise
ValidationError with a message meant for the person who asked.
"""

from collections.abc import Iterable
from datetime import datetime
from itertools import batched

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partners.models import AuditEvent, MailboxProof, Membership, Organization, TeamInvitation
from partners.selectors import proven_addresses
from portal.emails import LINK_MARKER, send_email
from portal.locking import bounded_wait, lock_all, lock_one
from portal.models import User
from portal.scoping import org_scope
from portal.sign_in_domain import is_customer_sign_in_account, is_customer_sign_in_address
from portal.tokens import new_token


def _event(
    *,
    org: Organization,
    actor: User | None,
    verb: str,
    target: object = "",
    provider: Organization | None = None,
    reseller: Organization | None = None,
    customer_id: int | None = None,
    subscription_id: int | None = None,
    **data,
) -> AuditEvent:
    if org.is_provider:
        provider = provider or org
    else:
        reseller = reseller or org
    if org not in (provider, reseller):
        raise ValueError(f"{org} acted on a relationship it is not part of")
    return AuditEvent(
        organization=org,
        actor=actor,
        verb=verb,
        target=str(target)[:300],
        data=data,
        provider=provider,
        reseller=reseller,
        customer_id=customer_id,
        subscription_id=subscription_id,
    )


def record_event(
    *,
    org: Organization,
    actor: User | None,
    verb: str,
    target: object = "",
    provider: Organization | None = None,
    reseller: Organization | None = None,
    customer_id: int | None = None,
    subscription_id: int | None = None,
    **data,
) -> AuditEvent:
    """Write the one activity entry for a change. `org` acted; `provider` and `reseller`
    are the sides it concerns, who will see it on their Activity page. The acting
    organization is one of them (what `AuditEvent.visible_to` relies on)."""
    event = _event(
        org=org,
        actor=actor,
        verb=verb,
        target=target,
        provider=provider,
        reseller=reseller,
        customer_id=customer_id,
        subscription_id=subscription_id,
        **data,
    )
    with org_scope(org):
        event.save(force_insert=True)
    return event


# Entries per INSERT in record_events: PostgreSQL takes a batch as one UNNEST statement,
# and a batch of model instances in memory stays a few megabytes.
EVENT_BATCH = 5000


def record_events(
    *,
    org: Organization,
    actor: User | None,
    verb: str,
    entries: Iterable[dict],
    provider: Organization | None = None,
    reseller: Organization | None = None,
) -> int:
    """`record_event` for one change that touches many objects at once (ending a
    partnership ends every delegation it carried): one entry per object, under the same
    rules, written in bulk, so ten thousand objects cost two statements, not ten
    thousand. Each entry gives `target`, `customer_id`/`subscription_id` and the data."""
    written = 0
    events = (
        _event(org=org, actor=actor, verb=verb, provider=provider, reseller=reseller, **entry)
        for entry in entries
    )
    with org_scope(org):
        for batch in batched(events, EVENT_BATCH):
            AuditEvent.objects.bulk_create(batch)
            written += len(batch)
    return written


def record_failed_sign_in(*, user: User, ip: str, at: datetime | None = None) -> None:
    """A failed sign-in to `user`'s account, in the Activity of each of its organizations,
    counted: one entry per organization and hour (UTC), carrying the count and the last
    IP address, instead of one entry per attempt.

    Anyone can fail a sign-in to any address, anonymously, so an entry per attempt let
    strangers write into an organization's log without limit. `at` moves time in tests.
    """
    hour = (at or timezone.now()).replace(minute=0, second=0, microsecond=0)
    memberships = Membership.objects.filter(user=user).select_related("organization")
    for org in [m.organization for m in memberships]:
        side = {"provider": org} if org.is_provider else {"reseller": org}
        with transaction.atomic(), bounded_wait(), org_scope(org):
            # The row is locked while it is counted: failures arriving at once count one
            # after the other. Two first failures of an hour racing to insert it: the
            # unique constraint keeps one, and get_or_create then reads and locks that one.
            entry, created = AuditEvent.objects.select_for_update().get_or_create(
                organization=org,
                actor=user,
                verb="login.failed",
                hour=hour,
                defaults={"target": user.email, "data": {"count": 1, "ip": ip}, **side},
            )
            if not created:
                entry.data = {**entry.data, "count": entry.data.get("count", 1) + 1, "ip": ip}
                entry.save(update_fields=["data"])


def refuse_customer_sign_in_account(user: User, message: str) -> None:
    """Customers' admin accounts sign in on the portal's own domain (portal/sign_in_domain.py):
    nobody proved they hold a mailbox, so they never act for a partner organization."""
    if is_customer_sign_in_account(user):
        raise ValidationError(message % {"email": user.email}, code="customer_account")


def refuse_customer_sign_in_address(email: str, message: str) -> None:
    """No invitation or request goes to a customer sign-in address: it receives no mail,
    and its account could not answer."""
    if is_customer_sign_in_address(email):
        raise ValidationError(message % {"email": email}, code="customer_address")


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
    refuse_customer_sign_in_address(admin_email, _CUSTOMER_ADDRESS_CANNOT_JOIN)
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


_CUSTOMER_ADDRESS_CANNOT_JOIN = gettext_lazy(
    "%(email)s is a customer's sign-in account made by the portal. It receives no email and "
    "can't join an organization."
)


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
    refuse_customer_sign_in_address(email, _CUSTOMER_ADDRESS_CANNOT_JOIN)
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
def record_mailbox_proof(*, email_address: EmailAddress, method: str) -> MailboxProof:
    """Note that the owner of `email_address` proved they read its mail (see MailboxProof).

    No activity entry: the proof belongs to a person, who may be in no organization yet.
    """
    proof, _created = MailboxProof.objects.update_or_create(
        email_address=email_address, defaults={"method": method, "proven_at": timezone.now()}
    )
    return proof


@transaction.atomic
def forget_unproven_credentials(*, user: User) -> None:
    """A sign-in code just proved an address nobody had proved before, in a session that
    never gave the password: whoever chose that password (and any two-factor device) may
    not be the mailbox's owner, e.g. someone who signed up with another person's address
    and waits for its owner to prove it. Both stop working; the owner chooses anew."""
    user.set_unusable_password()
    user.save(update_fields=["password"])
    Authenticator.objects.filter(user=user).delete()


def check_holds_mailbox(*, user: User, email: str, wrong_user: str, unproven: str) -> None:
    """Refuse unless `user` proved, with a code the portal emailed, that `email` is theirs.

    Whoever could read or regenerate a link (the sender, their colleagues) must never be
    able to answer it: opening a link proves nothing, only the emailed code does.
    """
    addresses = user.emailaddress_set.filter(email__iexact=email, verified=True)
    if not addresses.exists():
        raise ValidationError(wrong_user, code="wrong_user")
    if not proven_addresses(user=user).filter(email__iexact=email).exists():
        raise ValidationError(unproven, code="unproven_address")


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
