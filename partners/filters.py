import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.audit import KINDS
from partners.models import AuditEvent, Membership, Partnership, PartnershipRequest
from portal.forms import FastSelect
from portal.models import OutboundEmail, User


class MemberFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    role = django_filters.ChoiceFilter(
        widget=FastSelect,
        label=_("Role"),
        choices=Membership.Role.choices,
        empty_label=_("All roles"),
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


class PartnershipRequestFilter(django_filters.FilterSet):
    """The Indirect resellers page's requests: all, or those the dashboard counts."""

    requests = django_filters.ChoiceFilter(
        label=_("Partnership requests"),
        choices=[
            ("open", _("Waiting for an answer")),
            ("failed", _("Waiting, email failed")),
        ],
        method="by_state",
        empty_label=_("All requests"),
    )

    class Meta:
        model = PartnershipRequest
        fields = ("requests",)

    def by_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # What open_partnership_request_list and provider_partner_figures count.
        queryset = queryset.filter(
            state=PartnershipRequest.State.PENDING, expires_at__gt=timezone.now()
        )
        if value == "failed":
            queryset = queryset.filter(outbound_email__status=OutboundEmail.Status.FAILED)
        return queryset


# The User filter offers the organization's members and whoever acted in its latest
# entries: every actor ever would mean reading all of a big provider's million entries.
RECENT_ACTORS_FROM = 1000


def _activity_users(request) -> QuerySet:
    org = request.org
    recent = (
        AuditEvent.objects.filter(AuditEvent.visible_to(org))
        .order_by("-created_at", "-pk")
        .values_list("actor", flat=True)[:RECENT_ACTORS_FROM]
    )
    members = Membership.objects.filter(organization=org).values_list("user", flat=True)
    # Ids first (two index reads): an OR of two subqueries makes PostgreSQL scan users.
    ids = set(members) | {actor for actor in recent if actor}
    return User.objects.filter(pk__in=ids).order_by("email")


class ActivityFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(
        widget=FastSelect,
        label=_("Kind"),
        choices=KINDS,
        method="by_kind",
        empty_label=_("All kinds"),
    )
    # Choices from one small query (id, email): a ModelChoiceFilter iterates its
    # queryset through a server-side cursor each time the choices are read.
    actor = django_filters.ChoiceFilter(
        widget=FastSelect, label=_("User"), empty_label=_("All users"), method="by_actor"
    )
    created_at = django_filters.DateFromToRangeFilter(
        label=_("Date"),
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = AuditEvent
        fields = ("kind", "actor", "created_at")

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        users = _activity_users(request).values_list("pk", "email")
        self.filters["actor"].extra["choices"] = [(str(pk), email) for pk, email in users]

    def by_kind(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(verb__startswith=f"{value}.")

    def by_actor(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(actor_id=value)
