"""Emails about subscriptions that orders and changes both send."""

from customers.models import Customer
from partners.models import Organization
from partners.services.notifications import notify_admins
from portal.models import User
from subscriptions.models import Subscription


def notify_incentive_credit(
    *,
    provider: Organization,
    reseller: Organization,
    customer: Customer,
    subscriptions: list[Subscription],
) -> None:
    """Tell the reseller's Admins it is now credited for these subscriptions: one email per
    change or order, however many subscriptions it credits. Call it in the transaction
    that credits them. (A reseller that loses the credit is not told: the issue asks only
    for the credit given.)"""
    notify_admins(
        org=reseller,
        kind=User.Notification.INCENTIVE,
        template="incentive_credited",
        context={
            "provider": provider,
            "reseller": reseller,
            "customer": customer,
            "subscriptions": subscriptions,
        },
    )
