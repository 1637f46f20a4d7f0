"""The organization's dashboard."""

from django.utils import timezone
from django.views.generic import TemplateView

from partners.selectors import (
    incoming_request_list,
    member_list,
    open_partnership_request_list,
    team_invitation_list,
)
from portal.views import OrgView
from subscriptions.selectors import renewal_counts


class DashboardView(OrgView, TemplateView):
    action = "dashboard.view"
    template_name = "partners/dashboard.html"

    def get_context_data(self, **kwargs):
        org = self.request.org
        # Partnership requests are not team invitations: each is counted on its own.
        if org.is_provider:
            pending_requests = open_partnership_request_list(org=org).count()
        else:
            pending_requests = incoming_request_list(org=org).count()
        return super().get_context_data(
            member_count=member_list(org=org).count(),
            pending_invitations=team_invitation_list(org=org).count(),
            renewals=renewal_counts(org=org, today=timezone.localdate())
            if org.is_provider
            else None,
            pending_requests=pending_requests,
            **kwargs,
        )
