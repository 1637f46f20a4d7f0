"""The activity log: writing its entries (every service records one per change, in its
transaction), and the words that describe them to a person.
"""

from collections.abc import Iterable
from datetime import datetime
from itertools import batched

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from partners.models import AuditEvent, Membership, Organization
from portal.locking import bounded_wait
from portal.models import User
from portal.scoping import org_scope

KINDS = [
    ("partnership", _("Partnerships")),
    ("customer", _("Customers")),
    ("subscription", _("Subscriptions")),
    ("member", _("Users")),
    ("organization", _("Organization")),
    ("login", _("Sign-ins")),
]

VERBS = {
    "partnership.requested": _("Partnership requested"),
    "partnership.request_sent": _("Partnership request sent by the portal"),
    "partnership.request_resent": _("Partnership request resent"),
    "partnership.request_revoked": _("Partnership request revoked"),
    "partnership.accepted": _("Partnership accepted"),
    "partnership.declined": _("Partnership declined"),
    "partnership.ended": _("Partnership ended"),
    "customer.created": _("Customer created"),
    "customer.updated": _("Customer account edited"),
    "customer.reseller_assigned": _("Reseller assigned"),
    "customer.reseller_changed": _("Reseller changed"),
    "customer.reseller_removed": _("Reseller removed"),
    "customer.delegation_ended": _("Reseller removed: the partnership ended"),
    "subscription.created": _("Subscriptions added"),
    "subscription.licenses_changed": _("Licenses changed"),
    "subscription.upgraded": _("Subscription upgraded"),
    "subscription.status_changed": _("Subscription status changed"),
    "subscription.support_contact_changed": _("Support contact changed"),
    "subscription.incentive_reseller_changed": _("Incentive reseller changed"),
    "subscription.auto_renew_changed": _("Auto-renew changed"),
    "subscription.renewed": _("Subscription renewed"),
    "subscription.expired": _("Subscription expired"),
    "subscription.renewal_scheduled": _("Change scheduled at renewal"),
    "subscription.renewal_schedule_removed": _("Scheduled change removed"),
    "member.invited": _("User invited"),
    "member.invitation_resent": _("Invitation resent"),
    "member.invitation_revoked": _("Invitation revoked"),
    "member.joined": _("User joined"),
    "member.added": _("User added"),
    "member.role_changed": _("Role changed"),
    "member.removed": _("User removed"),
    "organization.enrolled": _("Organization enrolled"),
    "organization.created": _("Organization created"),
    "organization.partner_id_verified": _("Partner ID verified"),
    "organization.partner_id_rejected": _("Partner ID claim rejected"),
    "login.succeeded": _("Signed in"),
    "login.failed": _("Failed sign-in"),
}


def describe(verb: str) -> str:
    return str(VERBS.get(verb, verb))


def changes(data: dict) -> str:
    """Before and after, when the entry has them; else its other details, briefly."""
    if "count" in data:  # an entry counting repeated events within its hour
        return ngettext(
            "%(count)s attempt within the hour", "%(count)s attempts within the hour", data["count"]
        ) % {"count": data["count"]}
    if "old" in data or "new" in data:
        return f"{data.get('old') if data.get('old') is not None else '—'} → " + (
            f"{data.get('new') if data.get('new') is not None else '—'}"
        )
    shown = {k: v for k, v in data.items() if k not in {"ip"}}
    return ", ".join(f"{k}: {v}" for k, v in shown.items())[:200]


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
