from django.views.generic import TemplateView

from partners.views import OrgView


class CustomerListView(OrgView, TemplateView):
    """Customers. The New customer flow and the list arrive with the customers issue."""

    action = "customers.view"
    template_name = "customers/customer_list.html"
