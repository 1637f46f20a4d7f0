"""Writes that change existing subscriptions: support contact, incentive reseller,
licenses, auto-renew, upgrade, status; and ending a partnership with what it carried.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers.services import end_delegations
from partners.audit import record_event
from partners.counts import forget_reseller_counts
from partners.models import Organization, Partnership
from partners.services import partnerships
from partners.services.notifications import notify_admins
from portal.locking import bounded_atomic, lock_one
from portal.models import User
from portal.scoping import unscoped
from subscriptions.models import Offer, Subscription, SubscriptionEvent, renewal_date
from subscriptions.services.notifications import notify_incentive_credit
from subscriptions.services.orders import check_active_partner


@bounded_atomic
def end_partnership(
    *, org: Organization, actor: User, partnership: Partnership
) -> tuple[Partnership, int]:
    """Either side ends a partnership, and with it everything it carried, in one
    transaction: the partnership (partners), the provider's customers delegated to the
    reseller (customers: they get no reseller, one activity entry each), and then the
    support contacts (they return to the provider). Incentive associations stay. The
    other side's Admins get one email saying what the end took with it.

    Here, in the top app, because it spans all three: lower apps never reach up.
    Returns the partnership and how many customers lost their reseller.
    """
    partnership = partnerships.end_partnership(org=org, actor=actor, partnership=partnership)
    customers = end_delegations(org=org, actor=actor, partnership=partnership)
    with unscoped("the provider's subscriptions the ended partner supported"):
        supported = Subscription.objects.filter(
            customer__provider=partnership.provider, support_contact=partnership.reseller
        ).update(support_contact=None, version=F("version") + 1, updated_at=timezone.now())
    # One email to the other side's Admins, with what the end took with it, rather than
    # one per customer and subscription (a reseller may have thousands).
    other = partnership.reseller if org.pk == partnership.provider_id else partnership.provider
    notify_admins(
        org=other,
        kind=User.Notification.PARTNERSHIPS,
        template="partnership_ended",
        context={
            "ended_by_org": org,
            "other": other,
            "actor": actor,
            "provider": partnership.provider,
            "reseller": partnership.reseller,
            "customers": customers,
            "supported": supported,
        },
    )
    return partnership, customers


# ------------------------------------------------------------------------------
# Managing subscriptions
# ------------------------------------------------------------------------------
def _history(
    subscription: Subscription,
    actor: User,
    org: Organization,
    verb: str,
    idempotency_key=None,
    **changes,
) -> None:
    SubscriptionEvent.objects.create(
        subscription=subscription,
        actor=actor,
        organization=org,
        verb=verb,
        changes=changes,
        idempotency_key=idempotency_key,
    )
    customer = subscription.customer
    record_event(
        org=org,
        actor=actor,
        verb=f"subscription.{verb}",
        target=subscription,
        provider=customer.provider,
        reseller=customer.reseller,
        customer_id=customer.pk,
        subscription_id=subscription.pk,
        **changes,
    )


def _locked(subscription: Subscription) -> Subscription:
    """The row as it is now, locked until the transaction ends (one change at a time)."""
    with unscoped("the subscription's row, locked for the change"):
        return lock_one(
            Subscription.objects.select_related(
                "customer__provider", "customer__reseller", "offer", "reseller"
            ),
            pk=subscription.pk,
        )


def _already_done(current: Subscription, version: int | None, done: bool) -> bool:
    """Optimistic locking: refuse if someone changed it since the form was shown, unless
    the change asked for is already made (`done`): a double click, or two people asking
    for the same thing, is then one change and no error. True: nothing left to do."""
    if version is None or current.version == version:
        return False
    if done:
        return True
    raise ValidationError(
        _(
            "Someone else changed this subscription while you were editing it. "
            "Nothing was saved; these are its current values."
        ),
        code="stale",
    )


def _save(subscription: Subscription, *fields: str) -> None:
    subscription.version += 1
    subscription.save(update_fields=[*fields, "version", "updated_at"])


@bounded_atomic
def designate_support_contact(
    *,
    subscription: Subscription,
    actor: User,
    org: Organization,
    contact: Organization | None,
    version: int | None,
) -> Subscription:
    """The provider itself (None), or the reseller the customer is delegated to (as in
    Partner Center: only the reseller with delegated admin over the customer), handles
    support. The Admins of the reseller chosen, and of the one it replaces, are told by
    email; a choice that changes nothing (a double submit included) tells nobody."""
    provider = subscription.customer.provider
    if contact == provider:
        contact = None
    # The partnership before the subscription's row, the order ending a partnership locks
    # them in: the two never wait for each other in a circle.
    check_active_partner(provider, contact, "contact")
    subscription = _locked(subscription)
    old = subscription.support_contact
    if _already_done(subscription, version, old == contact):
        return subscription
    _require_live(subscription)
    if contact is not None and contact != old and contact.pk != subscription.customer.reseller_id:
        raise ValidationError(
            _(
                "%(reseller)s does not administer %(customer)s: only %(provider)s or the "
                "customer's reseller can be its support contact."
            )
            % {
                "reseller": contact.name,
                "customer": subscription.customer.company_name,
                "provider": provider.name,
            },
            code="not_delegated",
        )
    if old == contact:
        return subscription
    subscription.support_contact = contact
    _save(subscription, "support_contact")
    _history(
        subscription,
        actor,
        org,
        "support_contact_changed",
        old=old.name if old else provider.name,
        new=contact.name if contact else provider.name,
    )
    # The reseller that stops being the contact is told too, each only about itself.
    for reseller, template in (
        (old, "support_contact_removed"),
        (contact, "support_contact_designated"),
    ):
        if reseller is not None:
            notify_admins(
                org=reseller,
                kind=User.Notification.SUPPORT_CONTACT,
                template=template,
                context={"subscription": subscription, "provider": provider, "reseller": reseller},
            )
    return subscription


@bounded_atomic
def set_incentive_reseller(
    *,
    subscription: Subscription,
    actor: User,
    org: Organization,
    reseller: Organization | None,
    version: int | None,
) -> Subscription:
    """Associate a reseller with the subscription for incentive credit, or none. The
    reseller credited is told by email; a choice that changes nothing tells nobody."""
    check_active_partner(subscription.customer.provider, reseller, "reseller")  # lock order
    subscription = _locked(subscription)
    old = subscription.reseller
    if _already_done(subscription, version, old == reseller):
        return subscription
    _require_live(subscription)
    if old == reseller:
        return subscription
    subscription.reseller = reseller
    _save(subscription, "reseller")
    _history(
        subscription,
        actor,
        org,
        "incentive_reseller_changed",
        old=old.name if old else None,
        new=reseller.name if reseller else None,
    )
    if reseller is not None:
        notify_incentive_credit(
            provider=subscription.customer.provider,
            reseller=reseller,
            customer=subscription.customer,
            subscriptions=[subscription],
        )
    return subscription


def _require_live(subscription: Subscription) -> None:
    if subscription.is_final:
        raise ValidationError(
            _("This subscription is %(status)s and can no longer be changed.")
            % {"status": subscription.get_status_display().lower()},
            code="final",
        )


def _window_message(subscription: Subscription) -> str:
    return _(
        "Licenses can be reduced, or the subscription cancelled, only within "
        "%(days)s days of purchase or renewal. The window closed on %(closed)s; it opens "
        "again at renewal on %(renewal)s."
    ) % {
        "days": settings.SUBSCRIPTION_CANCELLATION_WINDOW_DAYS,
        # As the pages write dates (the active language's DATE_FORMAT), not ISO.
        "closed": date_format(subscription.cancellation_window_ends, "DATE_FORMAT"),
        "renewal": date_format(subscription.renewal_date, "DATE_FORMAT"),
    }


@bounded_atomic
def change_licenses(
    *,
    subscription: Subscription,
    actor: User,
    org: Organization,
    quantity: int,
    version: int | None,
) -> Subscription:
    """Add licenses at any time; reduce them only within the cancellation window."""
    subscription = _locked(subscription)
    if _already_done(subscription, version, subscription.quantity == quantity):
        return subscription
    _require_live(subscription)
    offer = subscription.offer
    if not offer.min_licenses <= quantity <= offer.max_licenses:
        raise ValidationError(
            {
                "quantity": ngettext(
                    "%(offer)s takes %(min)s to %(max)s license.",
                    "%(offer)s takes %(min)s to %(max)s licenses.",
                    offer.max_licenses,
                )
                % {"offer": offer.name, "min": offer.min_licenses, "max": offer.max_licenses}
            },
            code="quantity",
        )
    old = subscription.quantity
    if quantity == old:
        return subscription
    if quantity < old and not subscription.in_cancellation_window:
        raise ValidationError({"quantity": _window_message(subscription)}, code="window")
    subscription.quantity = quantity
    _save(subscription, "quantity")
    _history(subscription, actor, org, "licenses_changed", old=old, new=quantity)
    return subscription


@bounded_atomic
def add_licenses(
    *,
    subscription: Subscription,
    actor: User,
    org: Organization,
    count: int,
    idempotency_key,
) -> Subscription:
    """Add licenses to however many there are now: one relative UPDATE, so additions made
    at the same time all count. The same form posted twice (its key) adds them once."""
    # Built unscoped, so it stays unfiltered each time it is asked again below.
    with unscoped("replaying a form by its idempotency key"):
        done = SubscriptionEvent.objects.filter(
            subscription_id=subscription.pk, idempotency_key=idempotency_key
        )
    if done.exists():
        return _locked(subscription)
    # The offer's maximum is checked in the same statement as the addition.
    most = Subquery(Offer.objects.filter(pk=OuterRef("offer_id")).values("max_licenses")[:1])
    try:
        with transaction.atomic():
            with unscoped("the subscription's own row, by its key"):
                added = Subscription.objects.filter(
                    pk=subscription.pk,
                    status__in=[Subscription.Status.ACTIVE, Subscription.Status.SUSPENDED],
                    quantity__lte=most - count,
                ).update(
                    quantity=F("quantity") + count,
                    version=F("version") + 1,
                    updated_at=timezone.now(),
                )
            current = _locked(subscription)
            if added:
                new = current.quantity
                _history(
                    current,
                    actor,
                    org,
                    "licenses_changed",
                    idempotency_key=idempotency_key,
                    old=new - count,
                    new=new,
                )
                return current
    except IntegrityError:
        # The same form posted twice at once: the other request added them.
        if done.exists():
            return _locked(subscription)
        raise
    if done.exists():
        return current
    _require_live(current)
    offer = current.offer
    raise ValidationError(
        {
            "count": ngettext(
                "%(offer)s takes at most %(max)s license; this subscription has %(now)s, "
                "so at most %(more)s more can be added.",
                "%(offer)s takes at most %(max)s licenses; this subscription has %(now)s, "
                "so at most %(more)s more can be added.",
                offer.max_licenses,
            )
            % {
                "offer": offer.name,
                "max": offer.max_licenses,
                "now": current.quantity,
                "more": max(offer.max_licenses - current.quantity, 0),
            }
        },
        code="quantity",
    )


@bounded_atomic
def set_auto_renew(
    *,
    subscription: Subscription,
    actor: User,
    org: Organization,
    auto_renew: bool,
    version: int | None,
) -> Subscription:
    subscription = _locked(subscription)
    if _already_done(subscription, version, subscription.auto_renew == auto_renew):
        return subscription
    _require_live(subscription)
    if subscription.auto_renew == auto_renew:
        return subscription
    subscription.auto_renew = auto_renew
    _save(subscription, "auto_renew")
    _history(subscription, actor, org, "auto_renew_changed", new=auto_renew)
    return subscription


@bounded_atomic
def upgrade_subscription(
    *, subscription: Subscription, actor: User, org: Organization, offer: Offer, version: int | None
) -> Subscription:
    """Move to an offer the catalog allows as an upgrade; the licenses carry over."""
    subscription = _locked(subscription)
    if _already_done(subscription, version, subscription.offer_id == offer.pk):
        return subscription
    _require_live(subscription)
    allowed = subscription.offer.upgrades.filter(is_active=True)
    if not allowed.filter(pk=offer.pk).exists():
        raise ValidationError(
            {"offer": _("%(offer)s is not an upgrade of this subscription.") % {"offer": offer}},
            code="not_upgrade",
        )
    if not offer.min_licenses <= subscription.quantity <= offer.max_licenses:
        raise ValidationError(
            {
                "offer": ngettext(
                    "%(offer)s takes %(min)s to %(max)s license; change the licenses first.",
                    "%(offer)s takes %(min)s to %(max)s licenses; change the licenses first.",
                    offer.max_licenses,
                )
                % {"offer": offer.name, "min": offer.min_licenses, "max": offer.max_licenses}
            },
            code="quantity",
        )
    old = subscription.offer
    # The current term keeps its start (the cancellation window counts from it); its
    # end follows the new offer's term.
    term_start = subscription.term_start
    subscription.offer = offer
    subscription.term = offer.term
    subscription.billing_frequency = offer.billing_frequency
    subscription.renewal_date = renewal_date(term_start, offer.term)
    _save(subscription, "offer", "term", "billing_frequency", "renewal_date")
    _history(subscription, actor, org, "upgraded", old=old.name, new=offer.name)
    return subscription


@bounded_atomic
def set_status(
    *, subscription: Subscription, actor: User, org: Organization, status: str, version: int | None
) -> Subscription:
    """Suspend, reactivate or cancel. Cancelled is final, and only within the window."""
    subscription = _locked(subscription)
    if _already_done(subscription, version, subscription.status == status):
        return subscription
    _require_live(subscription)
    allowed = {
        Subscription.Status.SUSPENDED: {Subscription.Status.ACTIVE},
        Subscription.Status.ACTIVE: {Subscription.Status.SUSPENDED},
        Subscription.Status.CANCELLED: {Subscription.Status.ACTIVE, Subscription.Status.SUSPENDED},
    }
    if subscription.status not in allowed.get(status, set()):
        raise ValidationError(
            _("A %(status)s subscription cannot be changed that way.")
            % {"status": subscription.get_status_display().lower()},
            code="transition",
        )
    if status == Subscription.Status.CANCELLED and not subscription.in_cancellation_window:
        raise ValidationError(_window_message(subscription), code="window")
    old = subscription.status
    subscription.status = status
    _save(subscription, "status")
    forget_reseller_counts(provider_id=subscription.customer.provider_id)
    _history(subscription, actor, org, "status_changed", old=old, new=status)
    return subscription
