import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from partners.models import Membership, Partnership


class MemberFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    role = django_filters.ChoiceFilter(
        label=_("Role"), choices=Membership.Role.choices, empty_label=_("All roles")
    )

    class Meta:
        model = Membership
        fields = ("q", "role")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(user__email__icontains=value)
            | Q(user__first_name__icontains=value)
            | Q(user__last_name__icontains=value)
        )


class PartnerResellerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")

    class Meta:
        model = Partnership
        fields = ("q",)

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(reseller__name__icontains=value) | Q(reseller__partner_id__startswith=value)
        )
