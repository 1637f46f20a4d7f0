import django_filters
from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from partners.filters import PartnerResellerFilter
from partners.models import Organization
from partners.selectors import active_partner_organizations
from portal.forms import FastSelect
from portal.scoping import unscoped

NO_RESELLER = "none"


def _partners(request) -> QuerySet[Organization]:
    return active_partner_organizations(org=request.org)


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    reseller = django_filters.ChoiceFilter(
        widget=FastSelect,
        label=_("Indirect reseller"),
        method="by_reseller",
        empty_label=_("All resellers"),
    )
    provider = django_filters.ModelChoiceFilter(
        widget=FastSelect,
        label=_("Indirect provider"),
        queryset=_partners,
        empty_label=_("All providers"),
    )

    class Meta:
        model = Customer
        fields = ("q", "reseller", "provider")

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if request.org.is_provider:
            del self.filters["provider"]
            reseller = self.filters["reseller"]
            limit = settings.FILTER_CHOICES_LIMIT
            # One read of up to limit + 1 names, in order (the organization-name index).
            partners = list(_partners(request)[: limit + 1])
            if len(partners) > limit:
                # Thousands of <option>s cost more than the page and help nobody: list
                # the chosen one (a link from Indirect resellers) and say where to pick.
                chosen = str((self.data or {}).get("reseller", ""))
                partners = _partners(request).filter(pk=chosen) if chosen.isdigit() else []
                reseller.extra["help_text"] = _(
                    "To see one reseller's customers, select Customers on its row of the "
                    "Indirect resellers page."
                )
            reseller.extra["choices"] = [(NO_RESELLER, _("No reseller"))] + [
                (str(r.pk), r.name) for r in partners
            ]
        else:
            del self.filters["reseller"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(company_name__icontains=value) | Q(domain__icontains=value))

    def by_reseller(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == NO_RESELLER:
            return queryset.filter(reseller=None)
        return queryset.filter(reseller_id=value)


class ResellerCustomersFilter(PartnerResellerFilter):
    """The Indirect resellers page's filter, with "no customer yet" (the dashboard's
    figure). Here, not in partners: whether a reseller has customers is the customers
    app's to say."""

    customers = django_filters.ChoiceFilter(
        label=_("Customers"),
        choices=[(NO_RESELLER, _("None yet"))],
        method="by_customers",
        empty_label=_("Any"),
    )

    class Meta(PartnerResellerFilter.Meta):
        fields = ("q", "customers")

    def by_customers(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # One probe of the (provider, reseller, ...) index per partnership.
        with unscoped("the outer query is the provider's partnerships"):
            customers = Customer.objects.filter(
                provider=OuterRef("provider"), reseller=OuterRef("reseller")
            )
        return queryset.filter(~Exists(customers))
