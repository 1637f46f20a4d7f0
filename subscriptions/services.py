"""Writes for orders and subscriptions."""

from datetime import date

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.services import create_customer
from partners.models import Organization
from partners.services import record_event
from portal.models import User
from subscriptions.models import Offer, Order, Subscription

TERM_LENGTH = {
    Offer.Term.ONE_MONTH: relativedelta(months=1),
    Offer.Term.ONE_YEAR: relativedelta(years=1),
    Offer.Term.THREE_YEARS: relativedelta(years=3),
}


def renewal_date(start: date, term: str) -> date:
    return start + TERM_LENGTH[term]


def _check_lines(lines: list[tuple[Offer, int]]) -> list[tuple[Offer, int]]:
    """Re-check every line against the catalog as it is now (it may have changed)."""
    if not lines:
        raise ValidationError(_("Choose at least one subscription."), code="no_lines")
    offers = {
        o.pk: o for o in Offer.objects.select_for_update().filter(pk__in=[o.pk for o, _ in lines])
    }
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


@transaction.atomic
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
    record_event(
        org=provider,
        actor=actor,
        verb="order.submitted",
        target=customer,
        order=order.pk,
        lines=[{"offer": s.offer.offer_id, "licenses": s.quantity} for s in subscriptions],
    )
    return customer, password
