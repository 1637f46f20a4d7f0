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


def domain_in_use(*, domain: str) -> bool:
    """Primary domains are unique portal-wide (as is the admin@<domain> account), so this
    looks across tenants; it answers yes or no and reveals nothing else."""
    return (
        Customer._base_manager.filter(domain=domain).exists()
        or User.objects.filter(email__iexact=f"admin@{domain}").exists()
    )
