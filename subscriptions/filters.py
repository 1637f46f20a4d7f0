"""The Subscriptions page's search and filters."""

import django_filters
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.selectors import active_partner_organizations
from portal.forms import FastSelect
from subscriptions.models import Offer, Subscription
from subscriptions.selectors import at_term_end_q, named_subscriptions_q, renews_within_q

AT_TERM_END = [
    ("renews", _("Renews")),
    ("expires", _("Expires")),
    ("scheduled", _("Change scheduled")),
]
RENEWS_WITHIN = [("30", _("30 days")), ("60", _("60 days")), ("90", _("90 days"))]


def offer_choices() -> list[tuple[str, str]]:
    """The catalog's offers (global, changed by staff now and then), kept in the cache so
    the list page's budget of queries does not grow with a filter."""
    key = "subscriptions:offer-choices"
    choices = cache.get(key)
    if choices is None:
        choices = [(str(pk), name) for pk, name in Offer.objects.values_list("pk", "name")]
        cache.set(key, choices, settings.LIST_COUNT_CACHE_SECONDS)
    return choices


class SubscriptionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=Subscription.Status.choices, empty_label=_("All statuses")
    )
    # Any offer's id is accepted; the list shown comes from the cache (offer_choices).
    offer = django_filters.CharFilter(label=_("Offer"), method="by_offer", widget=FastSelect)
    reseller = django_filters.ChoiceFilter(
        widget=FastSelect,
        label=_("Reseller (incentive or support)"),
        method="by_reseller",
        empty_label=_("All resellers"),
    )
    # A reseller's: the subscriptions it is credited for or supports (the dashboard's).
    named = django_filters.ChoiceFilter(
        label=_("Your role"),
        choices=[("yes", _("Credited to you or supported by you"))],
        method="by_named",
        empty_label=_("Any"),
    )
    renews_within = django_filters.ChoiceFilter(
        label=_("Renews within"),
        choices=RENEWS_WITHIN,
        method="by_renewal",
        empty_label=_("Any time"),
    )
    at_term_end = django_filters.ChoiceFilter(
        label=_("At term end"),
        choices=AT_TERM_END,
        method="by_term_end",
        empty_label=_("Anything"),
    )

    class Meta:
        model = Subscription
        fields = ("q", "status", "offer", "reseller", "named", "renews_within", "at_term_end")

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if request.org.is_provider:
            limit = settings.FILTER_CHOICES_LIMIT
            partners = list(active_partner_organizations(org=request.org)[: limit + 1])
            if len(partners) > limit:
                chosen = str((self.data or {}).get("reseller", ""))
                partners = [p for p in partners if str(p.pk) == chosen]
            self.filters["reseller"].extra["choices"] = [(str(r.pk), r.name) for r in partners]
            del self.filters["named"]
        else:
            del self.filters["reseller"]
        self.form.fields["offer"].widget.choices = [("", _("All offers")), *offer_choices()]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(customer__company_name__icontains=value)
            | Q(customer__domain__icontains=value)
            | Q(offer__name__icontains=value)
        )

    def by_offer(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not (value.isdigit() and int(value) < 2**63):
            return queryset.none()
        return queryset.filter(offer_id=int(value))

    def by_reseller(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(reseller_id=value) | Q(support_contact_id=value))

    def by_named(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(named_subscriptions_q(self.request.org))

    def by_term_end(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(at_term_end_q(value))

    def by_renewal(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(renews_within_q(today=timezone.localdate(), days=int(value)))
