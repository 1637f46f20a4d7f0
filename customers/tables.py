import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from portal.tables import LeanTemplateColumn, PortalTable


class CustomerTable(PortalTable):
    expand = LeanTemplateColumn(
        template_name="customers/_customer_expand.html",
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
    reseller = tables.Column(
        accessor="reseller__name",
        verbose_name=_("Indirect reseller"),
        order_by="reseller__name",
        default="—",
    )
    subscription_count = tables.Column(verbose_name=_("Subscriptions"))
    created_at = tables.DateColumn(verbose_name=_("Created"))

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

    def render_company_name(self, record, value):
        from django.utils.html import format_html

        return format_html('<a href="{}">{}</a>', self.detail_url(record), value)

    def detail_url(self, record) -> str:
        from django.urls import reverse

        return reverse(
            "customers:detail", kwargs={"org_slug": self.request.org.slug, "pk": record.pk}
        )

    def value_reseller(self, value) -> str:
        return "" if value in (None, "—") else value

    def value_company_name(self, value) -> str:
        return value

    def value_created_at(self, value) -> str:
        return value.date().isoformat()
