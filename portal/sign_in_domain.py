"""The portal's own domain for customers' sign-in accounts (settings.CUSTOMER_SIGN_IN_DOMAIN).

Like Partner Center's <name>.onmicrosoft.com, a customer's admin account signs in as
admin@<prefix>.<domain>: an address the portal makes up, on a domain it controls, that
nobody proved they receive mail at. So an account holding such an address acts only as
the customer's admin: it never enrolls a reseller, joins an organization or answers a
partnership request (partners/services/accounts.py holds the checks the services call).
"""

from django.conf import settings
from django.db.models import Q

CUSTOMER_ADMIN_LOCAL_PART = "admin"


def customer_sign_in_domain(prefix: str) -> str:
    """contoso → contoso.portal.example"""
    return f"{prefix}.{settings.CUSTOMER_SIGN_IN_DOMAIN}"


def customer_admin_address(prefix: str) -> str:
    """contoso → admin@contoso.portal.example"""
    return f"{CUSTOMER_ADMIN_LOCAL_PART}@{customer_sign_in_domain(prefix)}"


def is_customer_sign_in_address(email: str) -> bool:
    """Whether `email` is on the portal's customer sign-in domain (or any name under it)."""
    domain = (email or "").rsplit("@", 1)[-1].strip().lower().rstrip(".")
    base = settings.CUSTOMER_SIGN_IN_DOMAIN
    return domain == base or domain.endswith(f".{base}")


def is_customer_sign_in_account(user) -> bool:
    """Whether this account is (or holds) a customer sign-in address. Any of its addresses
    counts, not just the primary one: the sign-in address cannot be removed (the account
    adapter refuses), so adding a second address and making it primary changes nothing."""
    if user is None or not user.is_authenticated:
        return False
    if is_customer_sign_in_address(user.email):
        return True
    base = settings.CUSTOMER_SIGN_IN_DOMAIN
    return user.emailaddress_set.filter(
        Q(email__iendswith=f"@{base}") | Q(email__iendswith=f".{base}")
    ).exists()
