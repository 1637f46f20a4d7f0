"""The cache version of the Indirect resellers page's counts.

The counts themselves (customers delegated to each reseller, their live subscriptions) are
read in `subscriptions.selectors.reseller_counts`, the app that knows customers and
subscriptions. The services of every app that changes them (customers, subscriptions) bump
the provider's version here, below them all, so that no app has to reach up to forget them.
"""

import uuid

from django.core.cache import cache
from django.db import transaction


def reseller_counts_version_key(provider_id: int) -> str:
    return f"reseller-counts-version:{provider_id}"


def forget_reseller_counts(*, provider_id: int) -> None:
    """The provider's customers or subscriptions changed: once this transaction commits,
    `reseller_counts` counts afresh (a new version, so every reseller of it at once)."""
    transaction.on_commit(
        lambda: cache.set(reseller_counts_version_key(provider_id), uuid.uuid4().hex, None),
        robust=True,
    )
