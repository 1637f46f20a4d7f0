"""Reads for customers. Visibility (provider, delegated reseller, the customer itself) is
the Customer model's own rule, applied by the scoped manager; selectors narrow further."""

from django.db.models import FETCH_RAISE, QuerySet

from customers.models import Customer
from partners.models import Organization, Partnership
from portal.models import User
from portal.scoping import unscoped
from portal.sign_in_domain import customer_admin_address


def customer_list(*, org: Organization) -> QuerySet[Customer]:
    """The customers an organization works with: its own (provider) or delegated (reseller).
    The Customers page counts their subscriptions too: `subscriptions.selectors.customer_table`."""
    return (
        Customer.objects.filter(Customer.visible_to(org))
        .select_related("provider", "reseller")
        .fetch_mode(FETCH_RAISE)  # a page that needs more must say so here, not N+1
    )


def customer_detail(*, org: Organization) -> QuerySet[Customer]:
    return Customer.objects.filter(Customer.visible_to(org)).select_related(
        "provider", "reseller", "admin_user", "created_by"
    )


def customer_of_admin(*, user: User) -> Customer | None:
    """The customer whose admin account this user is. Call inside unscoped(...)."""
    return Customer.objects.select_related("provider", "reseller").filter(admin_user=user).first()


def customer_by_idempotency_key(*, provider: Organization, idempotency_key) -> Customer | None:
    """The customer an earlier Submit of the same form made, if any. Unscoped: a service may
    run with no request (and so no scope) behind it."""
    with unscoped("replaying a Submit by its idempotency key"):
        customers = Customer.objects.filter(provider=provider, idempotency_key=idempotency_key)
    return customers.first()


def domain_in_use(*, provider: Organization, domain: str, exclude_pk: int | None = None) -> bool:
    """Whether one of this provider's own customers has the domain. Other providers'
    customers are not looked at: a customer's domain is contact information, and whether
    another provider serves it is none of this provider's business."""
    with unscoped("the provider's own customers, whoever asks"):
        taken = Customer.objects.filter(provider=provider, domain=domain)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    return taken.exists()


def sign_in_prefix_in_use(*, prefix: str) -> bool:
    """Sign-in prefixes are unique portal-wide (each is a login domain), so this looks
    across tenants; it answers yes or no and reveals nothing else."""
    with unscoped("sign-in prefixes are unique across tenants"):
        customers = Customer.objects.filter(sign_in_prefix=prefix)
    return (
        customers.exists()
        # An account left behind with the address (the customer's row is gone) blocks it too.
        or User.objects.filter(email__iexact=customer_admin_address(prefix)).exists()
    )


def delegated_customer_count(*, partnership: Partnership) -> int:
    """How many of the provider's customers are delegated to the reseller: those that lose
    their reseller when the partnership ends. One count on the (provider, reseller) index."""
    return Customer.objects.filter(
        provider_id=partnership.provider_id, reseller_id=partnership.reseller_id
    ).count()
