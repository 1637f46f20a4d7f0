"""Words for the activity log: what each recorded verb means to a person."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

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
