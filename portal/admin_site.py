"""The staff admin site, loaded as the default site by PortalAdminConfig."""

import logging
from functools import wraps

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.scoping import unscoped

# Every staff request to the admin is logged: staff see every tenant's data.
access_log = logging.getLogger("portal.admin.access")


class PortalAdminSite(admin.AdminSite):
    site_header = _("Partner Portal administration")
    site_title = _("Partner Portal admin")
    index_title = _("Staff administration")

    def has_permission(self, request):
        # Superusers only: the admin spans every tenant, so "staff" alone is not enough.
        return request.user.is_active and request.user.is_superuser

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def wrapper(request, *args, **kwargs):
            if self.has_permission(request):
                access_log.info(
                    "staff admin access: %s %s %s", request.user, request.method, request.path
                )
            # Staff work across tenants by design; say so explicitly, once, here.
            with unscoped("staff admin"):
                response = inner(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return wrapper

    def login(self, request, extra_context=None):
        # Staff sign in through allauth, so its rate limits and two-factor apply.
        if request.user.is_authenticated:
            raise Http404  # signed in, but not staff
        return redirect_to_login(
            request.GET.get("next", reverse("admin:index")), reverse("account_login")
        )
