"""Reads for subscriptions, and the counts of subscriptions that pages of the apps below
show (the Customers page, the Indirect resellers page): those apps don't know subscriptions."""

import hashlib
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    FETCH_RAISE,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from customers.models import Customer
from customers.selectors import customer_list
from partners.counts import reseller_counts_version_key
from partners.models import Organization, Partnership
from portal.scoping import unscoped
from subscriptions.models import Offer, ScheduledChange, Subscription, SubscriptionEvent


def orderable_offers() -> QuerySet[Offer]:
    """The catalog offers that can be ordered now (inactive ones cannot)."""
    return Offer.objects.filter(is_active=True).order_by("name", "pk")


def subscription_list(*, customer: Customer) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(customer=customer)
        .select_related("offer", "reseller", "support_contact")
        .order_by("-created_at", "-pk")
        .fetch_mode(FETCH_RAISE)
    )


def subscription_table(*, org: Organization) -> QuerySet[Subscription]:
    """The Subscriptions page: what `subscription_detail` may open, with exactly what the
    table shows loaded (anything else raises instead of costing a query per row)."""
    return subscription_detail(org=org).fetch_mode(FETCH_RAISE)


def subscription_detail(*, org: Organization) -> QuerySet[Subscription]:
    """Subscriptions the organization may open: its customers', delegated ones, and those
    it is credited for or supports.

    That is `Subscription.visible_to(org)`, which the scoped manager applies already (org
    is the request's scope; under another scope this returns no more than that scope's).
    Filtering by it again would run a reseller's sub-selects twice per query."""
    return Subscription.objects.all().select_related(
        "customer__provider",
        "customer__reseller",
        "offer",
        "reseller",
        "support_contact",
        "scheduled_change__offer",
    )


def scheduled_change(subscription: Subscription) -> ScheduledChange | None:
    """The change scheduled for the end of the current term (loaded with the subscription
    by `subscription_detail`); none when the one there is was left from an earlier term."""
    try:
        schedule = subscription.scheduled_change
    except ScheduledChange.DoesNotExist:
        return None
    return schedule if schedule.term_end == subscription.renewal_date else None


def subscription_history(*, subscription: Subscription) -> QuerySet[SubscriptionEvent]:
    return SubscriptionEvent.objects.filter(subscription=subscription).select_related(
        "actor", "organization"
    )


def upgrade_offers(*, subscription: Subscription) -> QuerySet[Offer]:
    return subscription.offer.upgrades.filter(is_active=True).order_by("name")


def live_subscription_count(customer_ref: str = "pk"):
    """Subscriptions (not cancelled) of the customer at `customer_ref`, as a subquery: it
    runs for the rows of the page only, where a JOIN ... GROUP BY would first count the
    subscriptions of every customer in the list (and make COUNT(*) join them too)."""
    # Unscoped: the outer query is scoped, and its rows' subscriptions are theirs to count.
    with unscoped("subscriptions of customers the outer query already scoped"):
        subscriptions = Subscription.objects.filter(customer=OuterRef(customer_ref))
    live = (
        subscriptions.exclude(status=Subscription.Status.CANCELLED)
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(live), 0)


def customer_table(*, org: Organization) -> QuerySet[Customer]:
    """The Customers page: `customer_list` with each customer's live subscriptions."""
    return customer_list(org=org).annotate(subscription_count=live_subscription_count())


def reseller_counts(*, provider: Organization, reseller_ids) -> dict[int, tuple[int, int]]:
    """The Indirect resellers page's counts: {reseller id: (customers delegated by the
    provider, their live subscriptions)}.

    Counting a reseller's customers costs what it has (200 at a big distributor, 30 at a
    small one), so the answers stay in the cache until the provider's customers or
    subscriptions change (their services call `partners.counts.forget_reseller_counts`) or
    LIST_COUNT_CACHE_SECONDS pass. From the cache, and for the resellers it lacks, two
    grouped queries.
    """
    version = cache.get(reseller_counts_version_key(provider.pk), 0)
    keys = {rid: f"reseller-counts:{provider.pk}:{version}:{rid}" for rid in set(reseller_ids)}
    found = cache.get_many(list(keys.values()))
    counts = {rid: found[key] for rid, key in keys.items() if key in found}
    missing = [rid for rid in keys if rid not in counts]
    if missing:
        # The provider's own figures, cached for whichever of its pages asks.
        with unscoped("a provider's counts per reseller"):
            customers = dict(
                Customer.objects.filter(provider=provider, reseller_id__in=missing)
                .order_by()
                .values_list("reseller_id")
                .annotate(n=Count("pk"))
            )
            subscriptions = dict(
                Subscription.objects.filter(
                    customer__provider=provider, customer__reseller_id__in=missing
                )
                .exclude(status=Subscription.Status.CANCELLED)
                .order_by()
                .values_list("customer__reseller_id")
                .annotate(n=Count("pk"))
            )
        fresh = {rid: (customers.get(rid, 0), subscriptions.get(rid, 0)) for rid in missing}
        cache.set_many(
            {keys[rid]: value for rid, value in fresh.items()}, settings.LIST_COUNT_CACHE_SECONDS
        )
        counts |= fresh
    return counts


def renewal_counts(*, org: Organization, today: date, days: int = 30) -> dict[str, int]:
    """The provider dashboard's figures, in one query over the live subscriptions ending
    from today on (the partial index on term ends): renewing within `days`, expiring
    within `days` without renewal, and carrying a change scheduled for the renewal."""
    soon = Q(renewal_date__lte=today + timedelta(days=days))
    return Subscription.objects.filter(
        Subscription.visible_to(org),
        status__in=[Subscription.Status.ACTIVE, Subscription.Status.SUSPENDED],
        renewal_date__gte=today,
    ).aggregate(
        renewing=Count("pk", filter=soon & at_term_end_q("renews")),
        expiring=Count("pk", filter=soon & at_term_end_q("expires")),
        scheduled=Count("pk", filter=at_term_end_q("scheduled")),
    )


def at_term_end_q(value: str) -> Q:
    """What happens to a live subscription when its term ends: it renews, it expires
    (auto-renew off, suspended, or scheduled to expire), or it has a change scheduled."""
    live = Q(status__in=[Subscription.Status.ACTIVE, Subscription.Status.SUSPENDED])
    scheduled = Q(scheduled_change__term_end=F("renewal_date"))
    expiring = scheduled & Q(scheduled_change__expire=True)
    if value == "scheduled":
        return live & scheduled
    renews = Q(status=Subscription.Status.ACTIVE, auto_renew=True) & ~expiring
    if value == "renews":
        return renews
    return live & ~renews


def renews_within_q(*, today: date, days: int) -> Q:
    """Live subscriptions whose term ends in the next `days` days (today included): the
    Subscriptions page's "Renews within" filter."""
    return Q(
        status__in=[Subscription.Status.ACTIVE, Subscription.Status.SUSPENDED],
        renewal_date__gte=today,
        renewal_date__lte=today + timedelta(days=days),
    )


# The dashboard's chart covers this many months, the current one included.
CHART_MONTHS = 12


def chart_months(today: date) -> list[date]:
    """The first days of the chart's months, oldest first, ending with today's month."""
    months, month = [], today.replace(day=1)
    for _ in range(CHART_MONTHS):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return months[::-1]


def _new_per_month(customers: QuerySet[Customer], months: list[date]) -> list[tuple[date, int]]:
    since = datetime.combine(months[0], time.min, tzinfo=timezone.get_current_timezone())
    counted = dict(
        customers.filter(created_at__gte=since)
        .annotate(month=TruncMonth("created_at"))
        .order_by()
        .values_list("month")
        .annotate(n=Count("pk"))
    )
    counted = {month.date(): n for month, n in counted.items()}
    return [(month, counted.get(month, 0)) for month in months]


def dashboard_figures(*, org: Organization, today: date) -> dict:
    """The dashboard's customer and subscription figures, with its chart's data: new
    customers per month over the last CHART_MONTHS months.

    A big provider's figures count a million customers and three million subscriptions,
    far too many for each visit, so they stay in the cache until the provider's customers
    or subscriptions change (their services bump `reseller_counts_version_key`, as for
    the Indirect resellers page) or LIST_COUNT_CACHE_SECONDS pass; a reseller's follow
    the versions of all its providers. The key holds the date: the chart and the renewals
    move with it. Without the cache, each figure is still one query over an index that
    leads with the organization.
    """
    if org.is_provider:
        versions = {org.pk: cache.get(reseller_counts_version_key(org.pk), 0)}
    else:
        # Whose customers a reseller sees changes with its partnerships: their providers
        # (ids, from the index on reseller) are in the key.
        with unscoped("the reseller's partner providers, to key its dashboard's cache"):
            providers = sorted(
                Partnership.objects.filter(reseller=org, ended_at=None).values_list(
                    "provider_id", flat=True
                )
            )
        found = cache.get_many([reseller_counts_version_key(pk) for pk in providers])
        versions = {pk: found.get(reseller_counts_version_key(pk), 0) for pk in providers}
    # Hashed: a reseller of 200 providers would make a key longer than caches accept.
    versions_digest = hashlib.sha256(
        ",".join(f"{pk}={v}" for pk, v in versions.items()).encode()
    ).hexdigest()
    key = f"dashboard:{org.pk}:{today.isoformat()}:{versions_digest}"
    figures = cache.get(key)
    if figures is None:
        compute = _provider_figures if org.is_provider else _reseller_figures
        figures = compute(org=org, today=today)
        cache.set(key, figures, settings.LIST_COUNT_CACHE_SECONDS)
    return figures


def _provider_figures(*, org: Organization, today: date) -> dict:
    months = chart_months(today)
    with unscoped("a provider's own figures, filtered by provider"):
        customers = Customer.objects.filter(provider=org)
        active = Subscription.objects.filter(
            customer__provider=org, status=Subscription.Status.ACTIVE
        )
        # Each active partnership probes the (provider, reseller, ...) customer index once.
        has_customer = Customer.objects.filter(provider=org, reseller=OuterRef("reseller"))
        return {
            "customers": customers.count(),
            "resellers_without_customers": Partnership.objects.filter(provider=org, ended_at=None)
            .filter(~Exists(has_customer))
            .count(),
            "active_subscriptions": active.count(),
            "licenses_by_offer": list(
                active.order_by()
                .values("offer_id", "offer__name")
                .annotate(licenses=Sum("quantity"), subscriptions=Count("pk"))
                .order_by("-licenses", "offer__name")
            ),
            "new_customers": _new_per_month(customers, months),
        }


def _reseller_figures(*, org: Organization, today: date) -> dict:
    months = chart_months(today)
    with unscoped("the reseller's figures, filtered by its visibility rules"):
        customers = Customer.objects.filter(Customer.visible_to(org))
        named = Subscription.objects.filter(named_subscriptions_q(org))
        return {
            "customers": customers.count(),
            "named_subscriptions": named.count(),
            "renewals": renewal_counts(org=org, today=today),
            "new_customers": _new_per_month(customers, months),
        }


def named_subscriptions_q(reseller: Organization) -> Q:
    """Subscriptions the reseller is credited for (incentives) or designated to support,
    while it is a partner of their provider: what it sees besides its customers'."""
    with unscoped("the partnership subquery of the rule"):
        partnered = Partnership.objects.filter(
            provider=OuterRef("customer__provider"), reseller=reseller, ended_at=None
        )
    return (Q(reseller=reseller) | Q(support_contact=reseller)) & Q(Exists(partnered))
