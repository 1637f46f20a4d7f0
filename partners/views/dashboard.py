"""The organization's dashboard: the figures that need attention, each a link to the list
it counts, and one chart."""

from django.utils import timezone
from django.views.generic import TemplateView

from partners.audit import describe
from partners.selectors import (
    incoming_request_list,
    member_list,
    provider_partner_figures,
    recent_activity,
    team_invitation_list,
)
from portal.views import OrgView
from subscriptions.selectors import dashboard_figures, renewal_counts

# The chart's drawing area, in SVG user units (the SVG scales to the card's width).
CHART_WIDTH, CHART_HEIGHT, CHART_TOP, CHART_BOTTOM = 600, 220, 20, 190


def bar_chart(points: list[tuple]) -> dict:
    """Bars for (label, value) points, scaled to the largest value: drawn on the server
    as SVG, so the page needs no script and no chart library."""
    peak = max((value for _label, value in points), default=0)
    slot = CHART_WIDTH / max(len(points), 1)
    span = CHART_BOTTOM - CHART_TOP
    bars = []
    for index, (label, value) in enumerate(points):
        height = round(span * value / peak, 1) if peak else 0
        bars.append(
            {
                "label": label,
                "value": value,
                "x": round(index * slot + slot * 0.15, 1),
                "width": round(slot * 0.7, 1),
                "y": round(CHART_BOTTOM - height, 1),
                "height": height,
                "value_y": round(CHART_BOTTOM - height - 4, 1),
                "center": round(index * slot + slot / 2, 1),
            }
        )
    return {
        "bars": bars,
        "last": points[-1][0] if points else None,
        "peak": peak,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "baseline": CHART_BOTTOM,
        "label_y": CHART_BOTTOM + 18,
    }


class DashboardView(OrgView, TemplateView):
    action = "dashboard.view"
    template_name = "partners/dashboard.html"

    def get_context_data(self, **kwargs):
        org = self.request.org
        today = timezone.localdate()
        figures = dashboard_figures(org=org, today=today)
        context = {
            "member_count": member_list(org=org).count(),
            "pending_invitations": team_invitation_list(org=org).count(),
            "figures": figures,
            "chart": bar_chart(figures["new_customers"]),
        }
        if org.is_provider:
            context["partners"] = provider_partner_figures(org=org)
            context["renewals"] = renewal_counts(org=org, today=today)
            context["activity"] = [
                {"event": event, "what": describe(event.verb)} for event in recent_activity(org=org)
            ]
        else:
            context["pending_requests"] = incoming_request_list(org=org).count()
            context["renewals"] = figures["renewals"]
        return super().get_context_data(**context, **kwargs)
