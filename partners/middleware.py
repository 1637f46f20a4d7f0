from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from partners.selectors import membership_for
from portal.scoping import ScopeMiddleware

LAST_ORG_SESSION_KEY = "last_org"


class OrganizationMiddleware(ScopeMiddleware):
    """Resolve the acting organization from the URL and run the view inside its scope.

    Every URL under /orgs/<org_slug>/ belongs to one organization. Non-members and
    unknown slugs get the same 404, so a URL reveals nothing about organizations the
    user does not belong to. The scope stays active until the response, including a
    lazily rendered TemplateResponse, is complete.
    """

    def __call__(self, request):
        request.org = request.membership = None
        return super().__call__(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("org_slug")
        if slug is None:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = membership_for(user=request.user, org_slug=slug)
        if membership is None:
            raise Http404
        request.org, request.membership = membership.organization, membership
        self.enter(request, request.org)
        if request.session.get(LAST_ORG_SESSION_KEY) != slug:
            request.session[LAST_ORG_SESSION_KEY] = slug
        return None
