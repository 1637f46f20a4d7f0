"""The Indirect resellers page's counts: how many customers each reseller was delegated by
the provider, and their live subscriptions.

Counting a reseller's customers costs what it has (200 at a big distributor, 30 at a
small one), so the answers stay in the cache until the provider's customers or
subscriptions change (services call `forget_reseller_counts`) or LIST_COUNT_CACHE_SECONDS
pass.
"""

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count

from partners.models import Organization
from portal.scoping import unscoped


def _counts_version_key(provider_id: int) -> str:
    return f"reseller-counts-version:{provider_id}"


def reseller_counts(*, provider: Organization, reseller_ids) -> dict[int, tuple[int, int]]:
    """{reseller id: (customers delegated by the provider, their live subscriptions)},
    from the cache, and for the resellers it lacks, two grouped queries."""
    from customers.models import Customer
    from subscriptions.models import Subscription

    version = cache.get(_counts_version_key(provider.pk), 0)
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


def forget_reseller_counts(*, provider_id: int) -> None:
    """The provider's customers or subscriptions changed: once this transaction commits,
    `reseller_counts` counts afresh (a new version, so every reseller of it at once)."""
    transaction.on_commit(
        lambda: cache.set(_counts_version_key(provider_id), uuid.uuid4().hex, None), robust=True
    )
