import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from portal.tables import DateColumn, PortalTable


class CustomerTable(PortalTable):
    expand = tables.Column(
        accessor="pk",
        verbose_name="",
        orderable=False,
        exclude_from_export=True,
        attrs={"td": {"class": "table__expand"}, "th": {"class": "table__expand"}},
    )
    company_name = tables.Column(verbose_name=_("Company name"), linkify=False)
    domain = tables.Column(verbose_name=_("Primary domain"))
    provider = tables.Column(
        accessor="provider__name", verbose_name=_("Indirect provider"), order_by="provider__name"
    )
    # Sortable only by what an index delivers in order: sorting a million customers by
    # reseller name or by a per-row count takes seconds (filter by reseller instead).
    reseller = tables.Column(
        accessor="reseller__name",
        verbose_name=_("Indirect reseller"),
        orderable=False,
        default=_("No reseller"),
    )
    subscription_count = tables.Column(verbose_name=_("Subscriptions"), orderable=False)
    created_at = DateColumn(verbose_name=_("Created"))

    class Meta(PortalTable.Meta):
        model = Customer
        fields = ()
        sequence = (
            "expand",
            "company_name",
            "domain",
            "provider",
            "reseller",
            "subscription_count",
            "created_at",
        )
        order_by = ("company_name",)
        empty_text = _("No customers match these filters.")
        row_attrs = {"id": lambda record: f"customer-{record.pk}"}

    def render_expand(self, record):
        # The down arrow: htmx inserts the row's details after it (customers:row).
        row = self.object_url("customers:row", record.pk)
        return format_html(
            '<a class="expander" href="{url}" data-hx-get="{url}" data-hx-target="#customer-{pk}" '
            'data-hx-swap="afterend" role="button" aria-expanded="false" '
            'aria-controls="customer-{pk}-details" data-expander aria-label="{label}">'
            '<span aria-hidden="true">▾</span></a>',
            url=row,
            pk=record.pk,
            label=gettext("Show details of %(name)s") % {"name": record.company_name},
        )

    def render_company_name(self, record, value):
        return format_html(
            '<a href="{}">{}</a>', self.object_url("customers:detail", record.pk), value
        )

    def value_reseller(self, value) -> str:
        return value or ""  # an empty cell in the export, not the page's "No reseller"

    def value_company_name(self, value) -> str:
        return value

    def value_created_at(self, value) -> str:
        return value.date().isoformat()
