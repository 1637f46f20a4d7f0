"""Writes for customers: create one (with its admin account), edit it, delegate it."""

import secrets
import string
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.selectors import (
    customer_by_idempotency_key,
    domain_in_use,
    sign_in_prefix_in_use,
)
from partners.audit import record_event, record_events
from partners.counts import forget_reseller_counts
from partners.models import Organization, Partnership
from partners.services.notifications import notify_admins
from portal.locking import bounded_atomic, key_lock, lock_all, lock_one, share_lock_matching
from portal.models import User
from portal.scoping import unscoped
from portal.sign_in_domain import customer_admin_address, customer_sign_in_domain

ACCOUNT_FIELDS = (
    "company_name",
    "domain",
    "country",
    "city",
    "street",
    "postal_code",
    "contact_first_name",
    "contact_last_name",
    "contact_email",
    "contact_phone",
    "language",
)
TEMPORARY_PASSWORD_LIFETIME = timedelta(days=3)


def temporary_password(length: int = 16) -> str:
    """A strong one-time password: letters, digits and symbols, never ambiguous characters."""
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
    symbols = "!#$%*+-=?@"
    while True:
        candidate = [secrets.choice(alphabet + symbols) for _ in range(length)]
        password = "".join(candidate)
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
            and any(c in symbols for c in password)
        ):
            return password


def check_reseller(*, provider: Organization, reseller: Organization | None) -> None:
    """A customer can only be delegated to an active partner of its provider."""
    if reseller is None:
        return
    # Share-locked until the change commits: a partnership being ended at this moment is
    # waited for and then found ended, so no delegation (or support contact) is made to a
    # reseller after `end_delegations` has run, to come back with the next partnership.
    with unscoped("a reseller's partnership with this provider, whoever acts"):
        active = share_lock_matching(
            Partnership.objects.filter(provider=provider, reseller=reseller, ended_at=None)
        )
    if not active:
        raise ValidationError(
            {
                "reseller": _("%(reseller)s is not an active partner of yours.")
                % {"reseller": reseller}
            },
            code="not_partner",
        )


def domain_taken_message(domain: str) -> str:
    return _("One of your customers already has the domain %(domain)s.") % {"domain": domain}


def sign_in_prefix_taken_message(prefix: str) -> str:
    # The same answer whoever holds it: it tells a provider nothing about other tenants.
    return _("%(domain)s is not available. Choose another sign-in domain.") % {
        "domain": customer_sign_in_domain(prefix)
    }


def _check_domain(*, provider: Organization, domain: str, exclude_pk: int | None = None) -> None:
    if domain_in_use(provider=provider, domain=domain, exclude_pk=exclude_pk):
        raise ValidationError({"domain": domain_taken_message(domain)}, code="domain_taken")


def _check_sign_in_prefix(prefix: str) -> None:
    if sign_in_prefix_in_use(prefix=prefix):
        raise ValidationError(
            {"sign_in_prefix": sign_in_prefix_taken_message(prefix)}, code="sign_in_prefix_taken"
        )


@bounded_atomic
def create_customer(
    *,
    provider: Organization,
    actor: User,
    reseller: Organization | None,
    details: dict,
    idempotency_key,
) -> tuple[Customer, str | None]:
    """Create the customer and its admin account, admin@<prefix>.<CUSTOMER_SIGN_IN_DOMAIN>,
    with a temporary password. The address is the portal's own (Partner Center's
    onmicrosoft.com), never one on the customer's domain: nobody proved they hold a
    mailbox there, and such an account could otherwise answer partnership requests.

    Returns the customer and the password, shown once and stored only hashed. A repeated
    idempotency key returns the first customer and no password.
    """
    existing = customer_by_idempotency_key(provider=provider, idempotency_key=idempotency_key)
    if existing is not None:
        return existing, None
    check_reseller(provider=provider, reseller=reseller)
    domain, prefix = details["domain"], details["sign_in_prefix"]
    _check_domain(provider=provider, domain=domain)
    # Two Submits (of different wizards) choosing one prefix go one after the other: the
    # second then finds it taken and says so, instead of failing on the unique index.
    key_lock("sign-in-prefix", prefix)
    _check_sign_in_prefix(prefix)
    username = customer_admin_address(prefix)
    customer = Customer(
        provider=provider,
        reseller=reseller,
        created_by=actor,
        idempotency_key=idempotency_key,
        sign_in_prefix=prefix,
        **{field: details[field] for field in ACCOUNT_FIELDS},
        agreement_accepted_on=details["agreement_accepted_on"],
        agreement_accepted_by_name=details["agreement_accepted_by_name"],
        agreement_accepted_by_email=details["agreement_accepted_by_email"],
    )
    # Field validators only: the rules across rows were checked above with their own
    # messages, and the database enforces every constraint (no query per constraint here).
    customer.full_clean(
        exclude=["admin_user", "created_by"], validate_unique=False, validate_constraints=False
    )
    password = temporary_password()
    admin = User(
        email=username,
        first_name=details["contact_first_name"],
        last_name=details["contact_last_name"],
        must_change_password=True,
        temporary_password_expires_at=timezone.now() + TEMPORARY_PASSWORD_LIFETIME,
    )
    validate_password(password, admin)
    admin.set_password(password)
    try:
        with transaction.atomic():
            admin.save()
            # Verified: the portal made the address up on its own domain, so there is no
            # mailbox to prove; what the address may do is limited instead (see
            # portal/sign_in_domain.py).
            EmailAddress.objects.create(user=admin, email=username, verified=True, primary=True)
            customer.admin_user = admin
            customer.save()
            if customer.reseller_id:
                forget_reseller_counts(provider_id=provider.pk)
    except IntegrityError:
        # A concurrent Submit with the same key, the same prefix or (for this provider)
        # the same domain won the race.
        existing = customer_by_idempotency_key(provider=provider, idempotency_key=idempotency_key)
        if existing is not None:
            return existing, None
        _check_sign_in_prefix(prefix)
        _check_domain(provider=provider, domain=domain)
        raise
    if reseller is not None:
        _notify_delegation(customer, reseller, "customer_delegated")
    return customer, password


@bounded_atomic
def update_customer_account(
    *, customer: Customer, actor: User, org: Organization, details: dict
) -> Customer:
    with unscoped("the customer's row, locked for the change"):
        customer = lock_one(Customer.objects.all(), pk=customer.pk)
    if details["domain"] != customer.domain:
        _check_domain(provider=customer.provider, domain=details["domain"], exclude_pk=customer.pk)
    changed = [f for f in ACCOUNT_FIELDS if getattr(customer, f) != details[f]]
    for field in changed:
        setattr(customer, field, details[field])
    if changed:
        customer.full_clean(
            exclude=["admin_user", "created_by"], validate_unique=False, validate_constraints=False
        )
        customer.save(update_fields=[*changed, "updated_at"])
        record_event(
            org=org,
            actor=actor,
            verb="customer.updated",
            target=customer,
            provider=customer.provider,
            reseller=customer.reseller,
            customer_id=customer.pk,
            fields=changed,
        )
    return customer


@bounded_atomic
def set_customer_reseller(
    *, customer: Customer, actor: User, reseller: Organization | None
) -> Customer:
    """Establish, change or remove the reseller relationship (delegated administration).
    The reseller that gains the customer and the one that loses it are told by email;
    choosing the reseller it already has changes nothing and tells nobody."""
    # The partnership before the customer's row: the order ending a partnership locks them
    # in (end_delegations), so the two never wait for each other in a circle.
    check_reseller(provider=customer.provider, reseller=reseller)
    with unscoped("the customer's row, locked for the change"):
        customer = lock_one(Customer.objects.select_related("provider", "reseller"), pk=customer.pk)
    previous = customer.reseller
    if previous == reseller:
        return customer
    customer.reseller = reseller
    customer.save(update_fields=["reseller", "updated_at"])
    forget_reseller_counts(provider_id=customer.provider_id)
    if previous is None:
        verb = "customer.reseller_assigned"
    elif reseller is None:
        verb = "customer.reseller_removed"
    else:
        verb = "customer.reseller_changed"
    record_event(
        org=customer.provider,
        actor=actor,
        verb=verb,
        target=customer,
        provider=customer.provider,
        # The reseller that gains access sees the entry; on removal, the one that lost it.
        reseller=reseller or previous,
        customer_id=customer.pk,
        old=previous.name if previous else None,
        new=reseller.name if reseller else None,
    )
    # A change tells both resellers, each only about itself: the one that lost the
    # customer is not told who has it now.
    if previous is not None:
        _notify_delegation(customer, previous, "customer_delegation_removed")
    if reseller is not None:
        _notify_delegation(customer, reseller, "customer_delegated")
    return customer


def _notify_delegation(customer: Customer, reseller: Organization, template: str) -> None:
    notify_admins(
        org=reseller,
        kind=User.Notification.DELEGATION,
        template=template,
        context={"provider": customer.provider, "reseller": reseller, "customer": customer},
    )


def end_delegations(*, org: Organization, actor: User | None, partnership: Partnership) -> int:
    """The partnership has ended: every customer its provider delegated to its reseller
    gets no reseller. Otherwise they would silently be delegated again the day the two
    partner again; a new partnership delegates nothing until the provider chooses.

    One activity entry per customer, seen by both sides. Bulk, for resellers with tens of
    thousands of customers: a lock-and-read, one UPDATE and an INSERT per 5,000 entries.
    Call it in the transaction that ended the partnership (subscriptions' end_partnership).
    Returns how many customers lost their reseller.
    """
    if partnership.is_active:
        raise ValueError("end the partnership before its delegations")
    with unscoped("every customer the ended partnership delegated"):
        delegated = Customer.objects.filter(
            provider_id=partnership.provider_id, reseller_id=partnership.reseller_id
        )
    # Locked until commit, so the entries name exactly the customers the UPDATE changes:
    # an edit of one of them already under way finishes first. (New delegations to the
    # reseller wait on the partnership row this transaction holds: check_reseller.)
    customers = lock_all(delegated.order_by("pk").values_list("pk", "company_name"))
    if not customers:
        return 0
    delegated.update(reseller=None, updated_at=timezone.now())
    forget_reseller_counts(provider_id=partnership.provider_id)
    reseller = partnership.reseller
    return record_events(
        org=org,
        actor=actor,
        verb="customer.delegation_ended",
        provider=partnership.provider,
        reseller=reseller,
        entries=(
            {"target": name, "customer_id": pk, "old": reseller.name, "new": None}
            for pk, name in customers
        ),
    )
