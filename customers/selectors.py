"""Reads for customers. Visibility (provider, delegated reseller, the customer itself) is
the Customer model's own rule, applied by the scoped manager; selectors narrow further."""

from django.db.models import Count, Q, QuerySet

from customers.models import Customer
from partners.models import Organization
from portal.models import User


def customer_list(*, org: Organization) -> QuerySet[Customer]:
    """The customers an organization works with: its own (provider) or delegated (reseller)."""
    return (
        Customer.objects.filter(Customer.visible_to(org))
        .select_related("provider", "reseller")
        .annotate(
            subscription_count=Count("subscriptions", filter=~Q(subscriptions__status="cancelled"))
        )
    )


def customer_detail(*, org: Organization) -> QuerySet[Customer]:
    return Customer.objects.filter(Customer.visible_to(org)).select_related(
        "provider", "reseller", "admin_user", "created_by"
    )


def customer_of_admin(*, user: User) -> Customer | None:
    """The customer whose admin account this user is. Call inside unscoped(...)."""
    return Customer.objects.select_related("provider", "reseller").filter(admin_user=user).first()
