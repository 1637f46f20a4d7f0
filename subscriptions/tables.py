import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from portal.tables import PortalTable
from subscriptions.models import Subscription


class SubscriptionTable(PortalTable):
    customer = tables.Column(accessor="customer__company_name", verbose_name=_("Customer"))
    offer = tables.TemplateColumn(
        template_name="subscriptions/_subscription_link.html",
        verbose_name=_("Offer"),
        order_by="offer__name",
    )
    quantity = tables.Column(verbose_name=_("Licenses"))
    status = tables.Column(verbose_name=_("Status"))
    reseller = tables.Column(
        accessor="reseller__name", verbose_name=_("Incentive association"), default="—"
    )
    support_contact = tables.TemplateColumn(
        template_name="subscriptions/_support_contact.html",
        verbose_name=_("Designated support contact"),
        orderable=False,
    )

    class Meta(PortalTable.Meta):
        model = Subscription
        fields = ()
        sequence = ("customer", "offer", "quantity", "status", "reseller", "support_contact")
        empty_text = _("No subscriptions yet.")
