"""The end of a term: the daily lifecycle job (renewals, expiries, reminders), and the
changes scheduled for the next term ("Manage renewal").

The job (`run_lifecycle(as_of=...)`) is idempotent and safe to run concurrently:
- it reads only what is due, through the partial index on live subscriptions' term ends,
  in batches (keyset pagination, so a batch never rereads the last one);
- each transition is one transaction: the subscription's row is locked with
  `FOR UPDATE SKIP LOCKED` and checked again (still live, still due), then the new term or
  the expiry, its `TermTransition` record (unique per subscription and term end), the
  history line, the activity entry and the notices are written together. A second run
  finds nothing due; a concurrent run skips the rows the other holds; a worker killed in
  the middle rolls back its one open transition, which the next run does;
- after downtime it catches up: a subscription whose term ended days (or terms) ago
  renews once per missed term end, each a transition of its own.

Reminders go N days before a term end (SUBSCRIPTION_REMINDER_DAYS), once per
(subscription, term end, N) (`RenewalReminder`, unique). A run that comes late sends only
the nearest one due: a subscription 5 days from its end gets the 7-day reminder, and the
30-day one is not sent any more.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from partners.counts import forget_reseller_counts
from partners.models import Organization
from partners.selectors import admins_who_want
from portal.emails import send_email
from portal.locking import bounded_atomic
from portal.models import User
from portal.scoping import unscoped
from subscriptions.models import (
    BILLING_FOR_TERM,
    Offer,
    RenewalReminder,
    ScheduledChange,
    Subscription,
    SubscriptionEvent,
    TermTransition,
    offer_terms,
    renewal_date,
)
from subscriptions.services.lifecycle import _already_done, _history, _locked, _require_live

Status = Subscription.Status
LIVE = (Status.ACTIVE, Status.SUSPENDED)


@dataclass
class LifecycleResult:
    renewed: int = 0
    expired: int = 0
    reminded: int = 0
    # Due rows another run held locked (it handles them).
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "renewed": self.renewed,
            "expired": self.expired,
            "reminded": self.reminded,
            "skipped": self.skipped,
        }


class _Recipients:
    """Admins of an organization who take renewal emails, read once per run."""

    def __init__(self):
        self._cache: dict[int, list[tuple[str, str]]] = {}

    def of(self, org_id: int | None) -> list[tuple[str, str]]:
        if org_id is None:
            return []
        if org_id not in self._cache:
            self._cache[org_id] = list(
                admins_who_want(org_id=org_id, kind=User.Notification.RENEWALS)
            )
        return self._cache[org_id]

    def for_subscription(self, subscription: Subscription) -> list[tuple[str, str]]:
        """The provider's Admins, and those of the reseller associated with the
        subscription (incentive credit) and of the one its customer is delegated to."""
        customer = subscription.customer
        seen, out = set(), []
        for org_id in (customer.provider_id, subscription.reseller_id, customer.reseller_id):
            for email, language in self.of(org_id):
                if email not in seen:
                    seen.add(email)
                    out.append((email, language))
        return out


def _notify(recipients: _Recipients, subscription: Subscription, template: str, context):
    sent = 0
    for email, language in recipients.for_subscription(subscription):
        send_email(template=template, to=email, context=context, language=language or None)
        sent += 1
    return sent


# ------------------------------------------------------------------------------
# The job
# ------------------------------------------------------------------------------
def run_lifecycle(*, as_of: date, batch_size: int | None = None) -> LifecycleResult:
    """Renew or expire every live subscription whose term ended on or before `as_of`, then
    send the reminders due on `as_of`. Idempotent; see the module's docstring."""
    batch_size = batch_size or settings.SUBSCRIPTION_LIFECYCLE_BATCH
    result = LifecycleResult()
    recipients = _Recipients()
    with unscoped("the lifecycle job: due subscriptions of every tenant"):
        _transitions(as_of, batch_size, result, recipients)
        _reminders(as_of, batch_size, result, recipients)
    return result


def due_subscriptions(as_of: date) -> QuerySet[Subscription]:
    """Live subscriptions whose term ended on or before `as_of` (the partial index)."""
    return Subscription.objects.filter(status__in=LIVE, renewal_date__lte=as_of)


def _keyset(queryset: QuerySet, batch_size: int):
    """Batches of (renewal_date, pk), in that order, each starting after the last."""
    after = None
    while True:
        qs = queryset
        if after is not None:
            qs = qs.filter(Q(renewal_date__gt=after[0]) | Q(renewal_date=after[0], pk__gt=after[1]))
        rows = list(
            qs.order_by("renewal_date", "pk").values_list("renewal_date", "pk")[:batch_size]
        )
        if not rows:
            return
        yield [pk for _, pk in rows]
        after = rows[-1]


def _transitions(as_of, batch_size, result, recipients) -> None:
    for batch in _keyset(due_subscriptions(as_of), batch_size):
        for pk in batch:
            # Catch up: one transition per missed term end, each its own transaction.
            while True:
                try:
                    kind, next_term_end = _transition_one(pk, as_of, recipients)
                except IntegrityError:
                    # Another run recorded this term end first (the unique record).
                    result.skipped += 1
                    break
                if kind is None:
                    break
                if kind == TermTransition.Kind.EXPIRED:
                    result.expired += 1
                    break
                result.renewed += 1
                if next_term_end > as_of:
                    break  # not due again: no second locking read to find that out


def _lock_if_due(pk: int, as_of: date) -> Subscription | None:
    """The row, locked, if it is still due; None when another run holds it or did it."""
    return (
        due_subscriptions(as_of)
        .select_related("customer__provider", "customer__reseller", "offer", "reseller")
        .select_for_update(of=("self",), skip_locked=True)
        .filter(pk=pk)
        .first()
    )


def _renewal_plan(subscription: Subscription, schedule: ScheduledChange | None) -> dict:
    """The next term: the same offer and licenses, unless the schedule says otherwise.
    A scheduled part the catalog no longer allows is left out (and said so)."""
    offer, quantity = subscription.offer, subscription.quantity
    term, billing = subscription.term, subscription.billing_frequency
    dropped = []
    if schedule is not None:
        if schedule.offer_id and schedule.offer_id != offer.pk:
            if schedule.offer.is_active:
                offer = schedule.offer
                term, billing = offer.term, offer.billing_frequency
            else:
                dropped.append("offer")
        if schedule.term:
            term = schedule.term
        if schedule.billing_frequency:
            billing = schedule.billing_frequency
        if schedule.quantity:
            quantity = schedule.quantity
    if term not in offer_terms(offer):
        term = offer.term
    if billing not in BILLING_FOR_TERM[term]:
        billing = BILLING_FOR_TERM[term][0]
    if not offer.min_licenses <= quantity <= offer.max_licenses:
        quantity = min(max(quantity, offer.min_licenses), offer.max_licenses)
        dropped.append("licenses")
    return {
        "offer": offer,
        "quantity": quantity,
        "term": term,
        "billing_frequency": billing,
        "dropped": dropped,
    }


def _start_term(subscription: Subscription, plan: dict, term_end: date, *also: str) -> None:
    """Write a new term from a renewal plan onto the locked row (the job's renewal and the
    manual Renew both do); `also` names other fields the caller changed."""
    subscription.offer = plan["offer"]
    subscription.quantity = plan["quantity"]
    subscription.term = plan["term"]
    subscription.billing_frequency = plan["billing_frequency"]
    subscription.renewal_date = term_end
    subscription.version += 1
    subscription.save(
        update_fields=[
            *also,
            "offer",
            "quantity",
            "term",
            "billing_frequency",
            "renewal_date",
            "version",
            "updated_at",
        ]
    )


@transaction.atomic
def _transition_one(
    pk: int, as_of: date, recipients: _Recipients
) -> tuple[str | None, date | None]:
    """(the transition made, the next term end), or (None, None) when nothing was due."""
    subscription = _lock_if_due(pk, as_of)
    if subscription is None:
        return None, None
    schedule = (
        ScheduledChange.objects.filter(subscription=subscription).select_related("offer").first()
    )
    term_end = subscription.renewal_date
    if schedule is not None and schedule.term_end != term_end:
        schedule.delete()  # left from an earlier term: never applied to this one
        schedule = None
    customer = subscription.customer
    provider = customer.provider
    renews = (
        subscription.auto_renew
        and subscription.status == Status.ACTIVE
        and not (schedule is not None and schedule.expire)
    )
    if renews:
        plan = _renewal_plan(subscription, schedule)
        old = {
            "offer": subscription.offer.name,
            "licenses": subscription.quantity,
            "term": subscription.term,
            "billing_frequency": subscription.billing_frequency,
        }
        _start_term(subscription, plan, renewal_date(term_end, plan["term"]))
        kind = TermTransition.Kind.RENEWED
        changes = {
            "term_end": term_end.isoformat(),
            "next_term_end": subscription.renewal_date.isoformat(),
            "licenses": subscription.quantity,
        }
        if schedule is not None:
            changes["scheduled"] = schedule.summary()
            changes["before"] = old
        if plan["dropped"]:
            changes["not_applied"] = plan["dropped"]
        template = "subscription_renewed"
    else:
        subscription.status = Status.EXPIRED
        subscription.version += 1
        subscription.save(update_fields=["status", "version", "updated_at"])
        kind = TermTransition.Kind.EXPIRED
        changes = {
            "term_end": term_end.isoformat(),
            "renewable_until": subscription.renewable_until.isoformat(),
        }
        template = "subscription_expired"
    TermTransition.objects.create(
        subscription=subscription,
        term_end=term_end,
        kind=kind,
        next_term_end=subscription.renewal_date if renews else None,
        as_of=as_of,
    )
    if schedule is not None:
        schedule.delete()
    _history(subscription, None, provider, str(kind), **changes)
    _notify(
        recipients,
        subscription,
        template,
        {
            "subscription": subscription,
            "customer": customer.company_name,
            "offer": subscription.offer.name,
            "licenses": subscription.quantity,
            "term_end": term_end,
            "next_term_end": subscription.renewal_date,
            "renewable_until": subscription.renewable_until,
            "provider": provider.name,
        },
    )
    return kind, subscription.renewal_date


def _reminders(as_of, batch_size, result, recipients) -> None:
    # Nearest first: a late run sends the nearest reminder due, and that one's record
    # stops the farther ones (no 30-day reminder 5 days before the end).
    for days in sorted(set(settings.SUBSCRIPTION_REMINDER_DAYS)):
        candidates = Subscription.objects.filter(
            status__in=LIVE,
            renewal_date__gt=as_of,
            renewal_date__lte=as_of + timedelta(days=days),
        ).exclude(_reminded_within(days))
        for batch in _keyset(candidates, batch_size):
            for pk in batch:
                try:
                    sent = _remind_one(pk, as_of, days, recipients)
                except IntegrityError:
                    sent = None
                if sent is None:
                    result.skipped += 1
                else:
                    result.reminded += 1


def _reminded_within(days: int):
    return Exists(
        RenewalReminder.objects.filter(
            subscription=OuterRef("pk"),
            term_end=OuterRef("renewal_date"),
            days_before__lte=days,
        )
    )


@transaction.atomic
def _remind_one(pk: int, as_of: date, days: int, recipients: _Recipients) -> int | None:
    subscription = (
        Subscription.objects.filter(
            pk=pk,
            status__in=LIVE,
            renewal_date__gt=as_of,
            renewal_date__lte=as_of + timedelta(days=days),
        )
        .exclude(_reminded_within(days))
        .select_related("customer__provider", "customer__reseller", "offer", "reseller")
        .select_for_update(of=("self",), skip_locked=True)
        .first()
    )
    if subscription is None:
        return None
    schedule = (
        ScheduledChange.objects.filter(
            subscription=subscription, term_end=subscription.renewal_date
        )
        .select_related("offer")
        .first()
    )
    renews = (
        subscription.auto_renew
        and subscription.status == Status.ACTIVE
        and not (schedule is not None and schedule.expire)
    )
    plan = _renewal_plan(subscription, schedule) if renews else None
    reminder = RenewalReminder.objects.create(
        subscription=subscription, term_end=subscription.renewal_date, days_before=days
    )
    reminder.recipients = _notify(
        recipients,
        subscription,
        "subscription_renewal_reminder",
        {
            "subscription": subscription,
            "customer": subscription.customer.company_name,
            "offer": subscription.offer.name,
            "licenses": subscription.quantity,
            "term_end": subscription.renewal_date,
            "days": (subscription.renewal_date - as_of).days,
            "renews": renews,
            "plan": plan,
            "next_offer": plan["offer"].name if plan else "",
            "next_term_end": renewal_date(subscription.renewal_date, plan["term"])
            if plan
            else None,
            "scheduled": schedule is not None and renews,
            "provider": subscription.customer.provider.name,
        },
    )
    reminder.save(update_fields=["recipients"])
    return reminder.recipients


# ------------------------------------------------------------------------------
# Manage renewal: changes scheduled for the next term
# ------------------------------------------------------------------------------
def renewal_options(subscription: Subscription) -> dict:
    """What a schedule may choose for this subscription: upgrade offers (same family),
    terms and billing cycles the catalog allows."""
    upgrades = list(subscription.offer.upgrades.filter(is_active=True).order_by("name", "pk"))
    terms = offer_terms(subscription.offer)
    for offer in upgrades:
        for term in offer_terms(offer):
            if term not in terms:
                terms.append(term)
    return {"offers": upgrades, "terms": terms}


@bounded_atomic
def schedule_change(
    *,
    subscription: Subscription,
    actor: User,
    org: Organization,
    quantity: int | None = None,
    offer: Offer | None = None,
    term: str = "",
    billing_frequency: str = "",
    expire: bool = False,
) -> ScheduledChange:
    """Schedule (or replace) what changes when the current term ends. Applied by the
    lifecycle job; changeable and removable until then."""
    subscription = _locked(subscription)
    _require_live(subscription)
    if subscription.renewal_date <= timezone.localdate():
        raise ValidationError(
            _("This term has ended; its renewal can no longer be changed."), code="ended"
        )
    if expire:
        quantity, offer, term, billing_frequency = None, None, "", ""
    else:
        target = offer or subscription.offer
        if offer is not None and offer.pk == subscription.offer_id:
            offer = None
        if (
            offer is not None
            and not subscription.offer.upgrades.filter(pk=offer.pk, is_active=True).exists()
        ):
            raise ValidationError(
                {
                    "offer": _("%(offer)s is not an upgrade of this subscription.")
                    % {"offer": offer}
                },
                code="not_upgrade",
            )
        next_term = term or (offer.term if offer else subscription.term)
        if next_term not in offer_terms(target):
            raise ValidationError(
                {
                    "term": _("%(offer)s is not sold on that term.") % {"offer": target.name},
                },
                code="term",
            )
        if billing_frequency and billing_frequency not in BILLING_FOR_TERM[next_term]:
            raise ValidationError(
                {"billing_frequency": _("That term cannot be billed that way.")},
                code="billing",
            )
        licenses = quantity or subscription.quantity
        if not target.min_licenses <= licenses <= target.max_licenses:
            raise ValidationError(
                {
                    "quantity": _("%(offer)s takes %(min)s to %(max)s licenses.")
                    % {
                        "offer": target.name,
                        "min": target.min_licenses,
                        "max": target.max_licenses,
                    }
                },
                code="quantity",
            )
        if quantity == subscription.quantity:
            quantity = None
        if term == subscription.term and offer is None:
            term = ""
        if billing_frequency == subscription.billing_frequency and not (offer or term):
            billing_frequency = ""
        if not (quantity or offer or term or billing_frequency):
            raise ValidationError(
                _("Nothing to schedule: the renewal would be the same as the current term."),
                code="nothing",
            )
    schedule, _created = ScheduledChange.objects.update_or_create(
        subscription=subscription,
        defaults={
            "term_end": subscription.renewal_date,
            "quantity": quantity,
            "offer": offer,
            "term": term,
            "billing_frequency": billing_frequency,
            "expire": expire,
            "created_by": actor,
        },
    )
    _history(
        subscription,
        actor,
        org,
        "renewal_scheduled",
        term_end=subscription.renewal_date.isoformat(),
        scheduled=schedule.summary(),
    )
    return schedule


@bounded_atomic
def remove_scheduled_change(*, subscription: Subscription, actor: User, org: Organization) -> bool:
    """Remove the schedule: the subscription renews as it is (or expires, with auto-renew
    off). False when there was none (a second click)."""
    subscription = _locked(subscription)
    schedule = ScheduledChange.objects.filter(subscription=subscription).first()
    if schedule is None:
        return False
    summary = schedule.summary()
    schedule.delete()
    _history(
        subscription,
        actor,
        org,
        "renewal_schedule_removed",
        term_end=subscription.renewal_date.isoformat(),
        scheduled=summary,
    )
    return True


# ------------------------------------------------------------------------------
# Renew: an expired subscription, by hand, within its renewable window
# ------------------------------------------------------------------------------
# Names the renewal asked for at one version of one subscription (see renew_subscription).
_RENEWAL_KEYS = uuid.UUID("0f6d3c52-8a61-4b55-9d1e-6a3c2b7e4f10")


def _renewal_key(subscription: Subscription, version: int) -> uuid.UUID:
    return uuid.uuid5(_RENEWAL_KEYS, f"renew:{subscription.pk}:{version}")


def renewal_plan(subscription: Subscription, *, as_of: date) -> dict:
    """What renewing an expired subscription on `as_of` starts: the same offer, licenses,
    term and billing (within what the catalog sells now, as the job's renewals), for a
    term from `as_of`. The confirmation page shows it; renew_subscription applies it."""
    plan = _renewal_plan(subscription, None)
    plan["term_start"] = as_of
    plan["term_end"] = renewal_date(as_of, plan["term"])
    return plan


def _require_renewable(subscription: Subscription, as_of: date) -> None:
    if subscription.status != Status.EXPIRED:
        raise ValidationError(
            _("Only an expired subscription can be renewed; this one is %(status)s.")
            % {"status": subscription.get_status_display().lower()},
            code="not_expired",
        )
    if subscription.is_closed(as_of):
        raise ValidationError(
            _(
                "This subscription expired on %(date)s and could be renewed only until "
                "%(until)s: it is closed for good."
            )
            % {
                "date": date_format(subscription.term_end, "DATE_FORMAT"),
                "until": date_format(subscription.renewable_until, "DATE_FORMAT"),
            },
            code="closed",
        )
    if as_of < subscription.term_end:
        # Only when the job ran ahead of the clock: a new term cannot start inside the old.
        raise ValidationError(
            _("This subscription's term ends on %(date)s; it can be renewed from then on.")
            % {"date": date_format(subscription.term_end, "DATE_FORMAT")},
            code="not_ended",
        )


@bounded_atomic
def renew_subscription(
    *,
    subscription: Subscription,
    actor: User,
    org: Organization,
    as_of: date,
    version: int,
) -> Subscription:
    """Renew an expired subscription by hand, until `renewable_until` (then it is closed
    for good): Active again, for a new paid term that starts on `as_of` with the same
    offer and licenses, so the cancellation window opens again. The history, the activity
    and the same Admins as the job's renewal notice are told.

    The history line carries a key derived from the version the form was read at, so the
    same confirmation posted twice renews once (the second finds the line and returns), and
    the database's unique key holds that even if two got past the lock."""
    subscription = _locked(subscription)
    key = _renewal_key(subscription, version)
    done = False
    if subscription.version != version:
        with unscoped("replaying a renewal by its key"):
            done = SubscriptionEvent.objects.filter(
                subscription_id=subscription.pk, idempotency_key=key
            ).exists()
    if _already_done(subscription, version, done):
        return subscription
    _require_renewable(subscription, as_of)
    plan = renewal_plan(subscription, as_of=as_of)
    expired_on = subscription.term_end
    subscription.status = Status.ACTIVE
    # The cancellation window counts from the term's start (renewal_date - term): it
    # opens again for SUBSCRIPTION_CANCELLATION_WINDOW_DAYS from `as_of`.
    _start_term(subscription, plan, plan["term_end"], "status")
    forget_reseller_counts(provider_id=subscription.customer.provider_id)
    changes = {
        "manual": True,
        "expired_on": expired_on.isoformat(),
        "term_start": as_of.isoformat(),
        "next_term_end": subscription.renewal_date.isoformat(),
        "licenses": subscription.quantity,
    }
    if plan["dropped"]:
        changes["not_applied"] = plan["dropped"]
    _history(subscription, actor, org, "renewed", idempotency_key=key, **changes)
    customer = subscription.customer
    _notify(
        _Recipients(),
        subscription,
        "subscription_renewed_manually",
        {
            "subscription": subscription,
            "customer": customer.company_name,
            "offer": subscription.offer.name,
            "licenses": subscription.quantity,
            "expired_on": expired_on,
            "term_start": as_of,
            "next_term_end": subscription.renewal_date,
            "renewed_by": org.name,
            "provider": customer.provider.name,
        },
    )
    return subscription
