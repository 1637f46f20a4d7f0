import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from portal.tables import DateColumn, LeanTemplateColumn, PortalTable
from subscriptions.models import Subscription
from subscriptions.selectors import scheduled_change


def offer_column() -> LeanTemplateColumn:
    """The offer's name, linking to the subscription."""
    return LeanTemplateColumn(
        template_name="subscriptions/_subscription_link.html",
        verbose_name=_("Offer"),
        order_by="offer__name",
    )


class SubscriptionTable(PortalTable):
    customer = tables.Column(accessor="customer__company_name", verbose_name=_("Customer"))
    offer = offer_column()
    quantity = tables.Column(verbose_name=_("Licenses"))
    status = tables.Column(verbose_name=_("Status"))
    reseller = tables.Column(
        accessor="reseller__name", verbose_name=_("Incentive association"), default="—"
    )
    support_contact = LeanTemplateColumn(
        template_name="subscriptions/_support_contact.html",
        verbose_name=_("Designated support contact"),
        orderable=False,
    )
    renewal_date = DateColumn(verbose_name=_("Term ends"), format="SHORT_DATE_FORMAT")
    change_scheduled = tables.Column(
        verbose_name=_("Change scheduled"), orderable=False, empty_values=(), accessor="pk"
    )

    class Meta(PortalTable.Meta):
        model = Subscription
        fields = ()
        sequence = (
            "customer",
            "offer",
            "quantity",
            "status",
            "renewal_date",
            "change_scheduled",
            "reseller",
            "support_contact",
        )
        empty_text = _("No subscriptions yet.")

    def render_change_scheduled(self, record):
        # Loaded with the row (subscription_detail's select_related): no query.
        return _("Yes") if scheduled_change(record) is not None else "—"

    def value_change_scheduled(self, record):
        return "yes" if scheduled_change(record) is not None else ""


class CustomerSubscriptionTable(PortalTable):
    """A customer's Subscriptions (its page's section), newest first."""

    offer = offer_column()
    quantity = tables.Column(verbose_name=_("Licenses"))
    status = tables.Column(verbose_name=_("Status"))
    billing = tables.Column(
        accessor="term", verbose_name=_("Billing"), orderable=False, empty_values=()
    )
    renewal_date = DateColumn(verbose_name=_("Renews"), format="SHORT_DATE_FORMAT")

    class Meta(PortalTable.Meta):
        model = Subscription
        fields = ()
        sequence = ("offer", "quantity", "status", "billing", "renewal_date")
        empty_text = _("No subscriptions yet.")
        prefix = "subscriptions-"

    def render_billing(self, record):
        return f"{record.get_term_display()} · {record.get_billing_frequency_display()}"
