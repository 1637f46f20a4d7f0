from django.db.models import FETCH_RAISE, QuerySet

from customers.models import Customer
from partners.models import Organization
from subscriptions.models import Offer, Subscription, SubscriptionEvent


def orderable_offers() -> QuerySet[Offer]:
    """The catalog offers that can be ordered now (inactive ones cannot)."""
    return Offer.objects.filter(is_active=True).order_by("name", "pk")


def subscription_list(*, customer: Customer) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(customer=customer)
        .select_related("offer", "reseller", "support_contact")
        .order_by("-created_at", "-pk")
        .fetch_mode(FETCH_RAISE)
    )


def subscription_table(*, org: Organization) -> QuerySet[Subscription]:
    """The Subscriptions page: what `subscription_detail` may open, with exactly what the
    table shows loaded (anything else raises instead of costing a query per row)."""
    return subscription_detail(org=org).fetch_mode(FETCH_RAISE)


def subscription_detail(*, org: Organization) -> QuerySet[Subscription]:
    """Subscriptions the organization may open: its customers', delegated ones, and those
    it is credited for or supports."""
    return Subscription.objects.filter(Subscription.visible_to(org)).select_related(
        "customer__provider", "customer__reseller", "offer", "reseller", "support_contact"
    )


def subscription_history(*, subscription: Subscription) -> QuerySet[SubscriptionEvent]:
    return SubscriptionEvent.objects.filter(subscription=subscription).select_related(
        "actor", "organization"
    )


def upgrade_offers(*, subscription: Subscription) -> QuerySet[Offer]:
    return subscription.offer.upgrades.filter(is_active=True).order_by("name")
