from django.db.models import QuerySet

from customers.models import Customer
from subscriptions.models import Offer, Subscription


def orderable_offers() -> QuerySet[Offer]:
    """The catalog offers that can be ordered now (inactive ones cannot)."""
    return Offer.objects.filter(is_active=True).order_by("name", "pk")


def subscription_list(*, customer: Customer) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(customer=customer)
        .select_related("offer", "reseller", "support_contact")
        .order_by("-created_at", "-pk")
    )
