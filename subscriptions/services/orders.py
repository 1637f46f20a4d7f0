"""Writes that place orders: a new customer with its subscriptions (the wizard's Submit),
and new subscriptions for an existing customer.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.services import check_reseller, create_customer
from partners.audit import record_event
from partners.counts import forget_reseller_counts
from partners.models import Organization
from portal.locking import bounded_atomic, key_lock, share_lock
from portal.models import User
from portal.scoping import unscoped
from subscriptions.models import Offer, Order, Subscription, SubscriptionEvent, renewal_date
from subscriptions.services.notifications import notify_incentive_credit


def _check_lines(lines: list[tuple[Offer, int]]) -> list[tuple[Offer, int]]:
    """Re-check every line against the catalog as it is now (it may have changed)."""
    if not lines:
        raise ValidationError(_("Choose at least one subscription."), code="no_lines")
    # Share-locked: a concurrent change in the catalog waits for the order (or vice
    # versa), while orders of the same offers never wait for one another.
    pks = [o.pk for o, _ in lines]
    share_lock(Offer, pks)
    offers = {o.pk: o for o in Offer.objects.filter(pk__in=pks)}
    checked = []
    for offer, quantity in lines:
        current = offers.get(offer.pk)
        if current is None or not current.is_active:
            raise ValidationError(
                _("%(offer)s can no longer be ordered.") % {"offer": offer.name}, code="inactive"
            )
        if not current.min_licenses <= quantity <= current.max_licenses:
            raise ValidationError(
                _("%(offer)s takes %(min)s to %(max)s licenses.")
                % {"offer": current.name, "min": current.min_licenses, "max": current.max_licenses},
                code="quantity",
            )
        checked.append((current, quantity))
    return checked


def _create_subscriptions(
    *, order: Order, customer: Customer, lines, reseller: Organization | None
) -> list[Subscription]:
    today = timezone.localdate()
    forget_reseller_counts(provider_id=customer.provider_id)
    return Subscription.objects.bulk_create(
        [
            Subscription(
                customer=customer,
                order=order,
                offer=offer,
                quantity=quantity,
                term=offer.term,
                billing_frequency=offer.billing_frequency,
                start_date=today,
                renewal_date=renewal_date(today, offer.term),
                reseller=reseller,
            )
            for offer, quantity in lines
        ]
    )


@bounded_atomic
def submit_new_customer_order(
    *,
    provider: Organization,
    actor: User,
    details: dict,
    reseller: Organization | None,
    lines: list[tuple[Offer, int]],
    idempotency_key,
) -> tuple[Customer, str | None]:
    """New customer: the customer, its admin account, the order and its subscriptions,
    all or nothing. A replayed Submit (same key) returns the first customer, no password."""
    # Two Submits of one wizard at once: the second waits here for the first to commit,
    # then finds its customer (instead of racing it to the domain check).
    key_lock("new-customer", provider.pk, idempotency_key)
    lines = _check_lines(lines)
    customer, password = create_customer(
        provider=provider,
        actor=actor,
        reseller=reseller,
        details=details,
        idempotency_key=idempotency_key,
    )
    if password is None:
        return customer, None
    order = Order.objects.create(
        provider=provider, customer=customer, created_by=actor, idempotency_key=idempotency_key
    )
    subscriptions = _create_subscriptions(
        order=order, customer=customer, lines=lines, reseller=reseller
    )
    _created_history(subscriptions, actor, provider, reseller)
    record_event(
        org=provider,
        actor=actor,
        verb="customer.created",
        target=customer,
        provider=provider,
        reseller=reseller,
        customer_id=customer.pk,
        order=order.pk,
        lines=[{"offer": s.offer.offer_id, "licenses": s.quantity} for s in subscriptions],
    )
    if reseller is not None:
        notify_incentive_credit(
            provider=provider, reseller=reseller, customer=customer, subscriptions=subscriptions
        )
    return customer, password


def _created_history(subscriptions, actor: User, org: Organization, reseller) -> None:
    # One insert for the whole order, whatever its size.
    SubscriptionEvent.objects.bulk_create(
        SubscriptionEvent(
            subscription=subscription,
            actor=actor,
            organization=org,
            verb="created",
            changes={
                "licenses": subscription.quantity,
                "reseller": reseller.name if reseller else None,
            },
        )
        for subscription in subscriptions
    )


def check_active_partner(provider: Organization, reseller: Organization | None, field: str):
    try:
        check_reseller(provider=provider, reseller=reseller)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}, code="not_partner") from exc


@bounded_atomic
def add_subscriptions(
    *,
    provider: Organization,
    actor: User,
    customer: Customer,
    lines: list[tuple[Offer, int]],
    reseller: Organization | None,
    confirm_no_incentive: bool,
    idempotency_key,
) -> Order:
    """New subscription(s) for an existing customer, optionally credited to a reseller.

    Incentive credit is never lost silently: for a customer delegated to a reseller, an
    order without an incentive reseller needs an explicit confirmation.
    """
    with unscoped("replaying an order by its idempotency key"):
        existing = Order.objects.filter(provider=provider, idempotency_key=idempotency_key)
    if existing.exists():
        return existing.get()
    if customer.provider_id != provider.pk:
        raise ValidationError(_("This customer is not yours."), code="not_yours")
    lines = _check_lines(lines)
    check_active_partner(provider, reseller, "reseller")
    if customer.reseller_id and reseller is None and not confirm_no_incentive:
        raise ValidationError(
            {
                "confirm_no_incentive": _(
                    "%(reseller)s manages this customer. Confirm that no reseller should get "
                    "incentive credit for this order, or choose one."
                )
                % {"reseller": customer.reseller.name}
            },
            code="confirm_no_incentive",
        )
    try:
        with transaction.atomic():
            order = Order.objects.create(
                provider=provider,
                customer=customer,
                created_by=actor,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        # The same form submitted twice at once: the other request placed the order.
        return existing.get()
    created = _create_subscriptions(order=order, customer=customer, lines=lines, reseller=reseller)
    _created_history(created, actor, provider, reseller)
    record_event(
        org=provider,
        actor=actor,
        verb="subscription.created",
        target=customer,
        provider=provider,
        reseller=customer.reseller,
        customer_id=customer.pk,
        order=order.pk,
        incentive_reseller=reseller.name if reseller else None,
        lines=[{"offer": s.offer.offer_id, "licenses": s.quantity} for s in created],
    )
    if reseller is not None:
        notify_incentive_credit(
            provider=provider, reseller=reseller, customer=customer, subscriptions=created
        )
    return order
