"""The organization's dashboard."""

from django.utils import timezone
from django.views.generic import TemplateView

from partners.selectors import (
    member_list,
    team_invitation_list,
)
from portal.views import OrgView
from subscriptions.selectors import renewal_counts


class DashboardView(OrgView, TemplateView):
    action = "dashboard.view"
    template_name = "partners/dashboard.html"

    def get_context_data(self, **kwargs):
        org = self.request.org
        return super().get_context_data(
            member_count=member_list(org=org).count(),
            pending_invitations=team_invitation_list(org=org).count(),
            renewals=renewal_counts(org=org, today=timezone.localdate())
            if org.is_provider
            else None,
            **kwargs,
        )
