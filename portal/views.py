from django.db import connection
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from partners.middleware import LAST_ORG_SESSION_KEY
from partners.selectors import memberships_of


def home(request):
    """Send people where they work: their last organization, else enrollment, else sign-in."""
    if not request.user.is_authenticated:
        return render(request, "portal/landing.html")
    memberships = list(memberships_of(user=request.user))
    if not memberships:
        # Staff work in the admin; everyone else starts by enrolling a reseller.
        return redirect("admin:index" if request.user.is_staff else "enroll")
    last = request.session.get(LAST_ORG_SESSION_KEY)
    chosen = next((m for m in memberships if m.organization.slug == last), memberships[0])
    return redirect(chosen.organization.get_absolute_url())


@never_cache
def healthz(request):
    """Liveness for containers and load balancers: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
