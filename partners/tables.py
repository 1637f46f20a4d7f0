import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from partners.models import Membership
from portal.tables import PortalTable


class MemberTable(PortalTable):
    name = tables.Column(
        accessor="user__last_name",
        verbose_name=_("Name"),
        order_by=("user__last_name", "user__first_name"),
    )
    email = tables.Column(accessor="user__email", verbose_name=_("Email"))
    role = tables.Column(verbose_name=_("Role"))
    created_at = tables.DateColumn(verbose_name=_("Member since"))
    actions = tables.TemplateColumn(
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
    created_at = tables.DateTimeColumn(verbose_name=_("Sent"), format="SHORT_DATETIME_FORMAT")
    state = tables.TemplateColumn(
        template_name="partners/_invitation_state.html", verbose_name=_("State"), orderable=False
    )
    actions = tables.TemplateColumn(
        template_name="partners/_invitation_actions.html",
        verbose_name=_("Actions"),
        orderable=False,
    )

    class Meta(PortalTable.Meta):
        fields = ()
        sequence = ("email", "role", "invited_by", "created_at", "state", "actions")
        empty_text = _("No pending invitations.")
