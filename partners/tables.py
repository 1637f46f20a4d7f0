from functools import cached_property

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partners.audit import changes, describe
from partners.models import AuditEvent, Membership, Partnership
from partners.templatetags.partners import partner_id as partner_id_html
from portal.tables import DateColumn, DateTimeColumn, LeanTemplateColumn, PortalTable
from subscriptions.selectors import reseller_counts


class MemberTable(PortalTable):
    name = tables.Column(
        accessor="user__last_name",
        verbose_name=_("Name"),
        order_by=("user__last_name", "user__first_name"),
    )
    email = tables.Column(accessor="user__email", verbose_name=_("Email"))
    role = tables.Column(verbose_name=_("Role"))
    created_at = DateColumn(verbose_name=_("Member since"))
    actions = LeanTemplateColumn(
        template_name="partners/_member_actions.html",
        verbose_name=_("Actions"),
        orderable=False,
    )

    class Meta(PortalTable.Meta):
        model = Membership
        fields = ()
        sequence = ("name", "email", "role", "created_at", "actions")
        order_by = ("user__email",)
        empty_text = _("No members yet.")

    def render_name(self, record: Membership) -> str:
        return record.user.get_full_name() or "—"


class TeamInvitationTable(PortalTable):
    email = tables.Column(verbose_name=_("Email"))
    role = tables.Column(verbose_name=_("Role"))
    invited_by = tables.Column(verbose_name=_("Invited by"), accessor="invited_by__email")
    created_at = DateTimeColumn(verbose_name=_("Sent"), format="SHORT_DATETIME_FORMAT")
    state = LeanTemplateColumn(
        template_name="partners/_invitation_state.html", verbose_name=_("State"), orderable=False
    )
    actions = LeanTemplateColumn(
        template_name="partners/_invitation_actions.html",
        verbose_name=_("Actions"),
        orderable=False,
    )

    class Meta(PortalTable.Meta):
        fields = ()
        sequence = ("email", "role", "invited_by", "created_at", "state", "actions")
        empty_text = _("No pending invitations.")


class PartnerResellerTable(PortalTable):
    count_order_by = ("reseller_id",)  # the active-partnership index (provider, reseller)
    name = tables.Column(accessor="reseller__name", verbose_name=_("Indirect reseller"))
    partner_id = tables.Column(accessor="reseller__partner_id", verbose_name=_("Partner ID"))
    # Only in the export, where the Partner ID column stays the bare identifier.
    partner_id_status = tables.Column(
        accessor="reseller__partner_id_status",
        verbose_name=_("Partner ID status"),
        visible=False,
        orderable=False,
    )
    started_at = DateColumn(verbose_name=_("Partnership since"))
    # Counted for the rows shown (subscriptions.selectors.reseller_counts), so not
    # sortable: sorting 5,000 resellers by a count means counting all of them.
    customer_count = tables.Column(
        verbose_name=_("Customers"), accessor="reseller_id", orderable=False, empty_values=()
    )
    subscription_count = tables.Column(
        verbose_name=_("Subscriptions"), accessor="reseller_id", orderable=False, empty_values=()
    )
    actions = tables.Column(
        verbose_name=_("Actions"),
        accessor="pk",
        orderable=False,
        exclude_from_export=True,
    )

    class Meta(PortalTable.Meta):
        model = Partnership
        fields = ()
        sequence = (
            "name",
            "partner_id",
            "started_at",
            "customer_count",
            "subscription_count",
            "partner_id_status",
            "actions",
        )
        order_by = ("name",)
        empty_text = _("No indirect resellers match your search.")

    def render_partner_id(self, record):
        return partner_id_html(record.reseller)

    def value_partner_id(self, value) -> str:
        return value

    def value_started_at(self, value) -> str:
        return value.date().isoformat()

    def render_customer_count(self, value) -> int:
        return self.counts.get(value, (0, 0))[0]

    def render_subscription_count(self, value) -> int:
        return self.counts.get(value, (0, 0))[1]

    def render_actions(self, record):
        # Add new customer and Customers for this reseller; End partnership. Built here,
        # not in a template per row: this column was a third of the page's time.
        perms = getattr(self, "context", {}).get("org_perms")
        name, reseller = record.reseller.name, record.reseller_id
        new_customer, customers, add_label, customers_label, end_label = self._action_parts
        links = []
        if perms is not None and perms.customers_add:
            links.append(
                format_html(
                    '<a class="btn btn--small btn--primary" href="{}?reseller={}" '
                    'aria-label="{}">{}</a>',
                    new_customer,
                    reseller,
                    gettext("Add new customer for %(name)s") % {"name": name},
                    add_label,
                )
            )
        links.append(
            format_html(
                '<a class="btn btn--small btn--secondary" href="{}?reseller={}" '
                'aria-label="{}">{}</a>',
                customers,
                reseller,
                gettext("Customers of %(name)s") % {"name": name},
                customers_label,
            )
        )
        if perms is not None and perms.partnerships_end:
            links.append(
                format_html(
                    '<a class="btn btn--small btn--link" href="{}">{}</a>',
                    self.object_url("partners:partnership-end", record.pk),
                    end_label,
                )
            )
        return format_html('<div class="button-row">\n{}\n</div>', mark_safe("\n".join(links)))  # noqa: S308 (each link is format_html's)

    @cached_property
    def _action_parts(self) -> tuple[str, ...]:
        slug = {"org_slug": self.request.org.slug}
        return (
            reverse("subscriptions:new-customer", kwargs=slug),
            reverse("customers:list", kwargs=slug),
            gettext("Add new customer"),
            gettext("Customers"),
            gettext("End partnership"),
        )

    value_customer_count = render_customer_count
    value_subscription_count = render_subscription_count

    @cached_property
    def counts(self) -> dict[int, tuple[int, int]]:
        # The page's rows, or every row for an export (which has no page).
        page = getattr(self, "page", None)
        records = [row.record for row in page.object_list] if page else list(self.data)
        return reseller_counts(
            provider=self.request.org, reseller_ids=[r.reseller_id for r in records]
        )


class PartnershipRequestTable(PortalTable):
    email = LeanTemplateColumn(
        template_name="partners/_request_recipient.html", verbose_name=_("Sent to")
    )
    state = LeanTemplateColumn(
        template_name="partners/_request_state.html", verbose_name=_("State"), orderable=False
    )
    requested_by = tables.Column(accessor="requested_by__email", verbose_name=_("Requested by"))
    created_at = DateTimeColumn(verbose_name=_("Requested"), format="SHORT_DATETIME_FORMAT")
    delivery = LeanTemplateColumn(
        template_name="partners/_request_delivery.html",
        verbose_name=_("Email delivery"),
        orderable=False,
    )
    actions = LeanTemplateColumn(
        template_name="partners/_request_actions.html", verbose_name=_("Actions"), orderable=False
    )

    class Meta(PortalTable.Meta):
        fields = ()
        sequence = ("email", "state", "requested_by", "created_at", "delivery", "actions")
        empty_text = _("No partnership requests yet.")


class PartnerProviderTable(PortalTable):
    name = tables.Column(accessor="provider__name", verbose_name=_("Indirect provider"))
    partner_id = tables.Column(accessor="provider__partner_id", verbose_name=_("Partner ID"))
    started_at = DateColumn(verbose_name=_("Partnership since"))
    actions = LeanTemplateColumn(
        template_name="partners/_provider_actions.html",
        verbose_name=_("Actions"),
        orderable=False,
    )

    class Meta(PortalTable.Meta):
        model = Partnership
        fields = ()
        sequence = ("name", "partner_id", "started_at", "actions")
        order_by = ("name",)
        empty_text = _("No indirect providers yet.")

    def render_partner_id(self, record):
        return partner_id_html(record.provider)


class ActivityTable(PortalTable):
    created_at = DateTimeColumn(verbose_name=_("When"), format="SHORT_DATETIME_FORMAT")
    actor = tables.Column(accessor="actor__email", verbose_name=_("Who"), default="—")
    organization = tables.Column(accessor="organization__name", verbose_name=_("On behalf of"))
    verb = tables.Column(verbose_name=_("What"))
    target = tables.Column(verbose_name=_("Object"))
    data = tables.Column(verbose_name=_("Before → after"), orderable=False)

    class Meta(PortalTable.Meta):
        model = AuditEvent
        fields = ()
        sequence = ("created_at", "actor", "organization", "verb", "target", "data")
        order_by = ("-created_at",)
        empty_text = _("No activity matches these filters.")

    def render_verb(self, value) -> str:
        return describe(value)

    def value_verb(self, value) -> str:
        return describe(value)

    def render_data(self, value) -> str:
        return changes(value or {})

    def value_data(self, value) -> str:
        return changes(value or {})
