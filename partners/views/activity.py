"""The Activity page."""

from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from partners.filters import ActivityFilter
from partners.selectors import activity_list
from partners.tables import ActivityTable
from portal.tables import ExportMixin
from portal.views import OrgListView


class ActivityListView(OrgListView, ExportMixin, SingleTableMixin, FilterView):
    """Activity: one line per change to the organization's relationships, and sign-ins."""

    action = "activity.view"
    results_target = "activity"
    table_class = ActivityTable
    filterset_class = ActivityFilter
    template_name = "partners/activity_list.html"
    table_pagination = {"per_page": 50}
    export_formats = ("csv",)
    export_name = "activity"

    def get_queryset(self):
        return activity_list(org=self.request.org)
