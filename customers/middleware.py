from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from customers.selectors import customer_of_admin
from portal.scoping import ScopeMiddleware, unscoped


class CustomerAreaMiddleware(ScopeMiddleware):
    """The customer area's tenant is the customer whose admin account is signed in.

    Views that set `customer_area = True` run inside that customer's scope, with
    `request.customer` set; any other account gets a 404 there. Resolved here, next to
    the organizations' OrganizationMiddleware, so no view enters a scope itself.
    """

    def __call__(self, request):
        request.customer = None
        return super().__call__(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(getattr(view_func, "view_class", None), "customer_area", False):
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        with unscoped("resolving the customer an admin account belongs to"):
            customer = customer_of_admin(user=request.user)
        if customer is None:
            raise Http404
        request.customer = customer
        self.enter(request, customer)
        return None
