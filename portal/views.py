"""Views of the site itself, and the bases every app's views build on."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import connection
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.generic import UpdateView

from customers.selectors import customer_of_admin
from partners.middleware import LAST_ORG_SESSION_KEY
from partners.permissions import OrgPermissions, can
from partners.selectors import memberships_of
from portal.models import User
from portal.scoping import unscoped


def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (the Django admin, a CSV):
    the portal's icon, not a 404 in their console."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


@never_cache
def healthz(request):
    """Liveness for containers and load balancers: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


def set_language(request):
    """The header's language switcher: remembered in a cookie, and on the profile of a
    signed-in person so their emails follow it too."""
    from django.views.i18n import set_language as django_set_language

    response = django_set_language(request)
    language = request.POST.get("language", "")
    if (
        request.method == "POST"
        and request.user.is_authenticated
        and language in dict(settings.LANGUAGES)
    ):
        request.user.language = language
        request.user.save(update_fields=["language"])
    return response


class NotificationsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = [kind.value for kind in User.Notification]


class NotificationsView(LoginRequiredMixin, UpdateView):
    """The profile's email settings: each kind of notification on or off."""

    form_class = NotificationsForm
    template_name = "portal/profile_notifications.html"

    def get_object(self, queryset=None):
        return self.request.user

    def form_valid(self, form):
        # Columns of the person's own row: no service, no side effect.
        fields = list(form.cleaned_data)
        for field in fields:
            setattr(self.request.user, field, form.cleaned_data[field])
        self.request.user.save(update_fields=fields)
        messages.success(self.request, _("Your email settings were saved."))
        return redirect("profile")


class OrgView(LoginRequiredMixin):
    """Base of every /orgs/<org_slug>/ view. The middleware has set request.org.

    `action` names the row of partners.permissions.PERMISSIONS the view needs; a member
    without it gets the same 404 as a stranger. A view about one object returns it from
    `get_permission_object()` (found through the organization's selectors, so a foreign
    one is already a 404): the action's rule is then asked about it too, and the page's
    `org_perms` is bound to it.
    """

    action: str

    def dispatch(self, request, *args, **kwargs):
        membership = getattr(request, "membership", None)
        if not can(membership, self.action):
            raise Http404
        # A method the view lacks answers 405 before anything is looked up.
        method = request.method.lower()
        if method in self.http_method_names and hasattr(self, method):
            obj = self.get_permission_object()
            if obj is not None and not can(membership, self.action, obj):
                raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_permission_object(self):
        """The object the view acts on, if any (None: the organization's pages)."""
        return None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        obj = self.get_permission_object()
        if obj is not None:
            # Above the context processor's unbound org_perms, for this page and its cells.
            context["org_perms"] = OrgPermissions(self.request.membership, obj)
        return context

    def org_url(self, name: str, **kwargs) -> str:
        return reverse(name, kwargs={"org_slug": self.request.org.slug, **kwargs})


class OrgListView(OrgView):
    """Base of every list page of an organization (with django-tables2's SingleTableMixin).

    `results_target` is the id of the element the page's filter form swaps (its
    hx-target): an htmx request aimed at it gets only the template's `results` partial,
    not the whole page. "*": any htmx request does. None: the page has no partial.
    """

    results_target: str | None = None

    def get_template_names(self):
        htmx = self.request.htmx
        if htmx and self.results_target is not None and self.results_target in ("*", htmx.target):
            return [f"{self.template_name}#results"]
        return [self.template_name]


def home(request):
    """Send people where they work: their last organization, their customer account,
    else enrollment (or the admin, for staff), else the landing page."""
    if not request.user.is_authenticated:
        return render(request, "portal/landing.html")
    memberships = list(memberships_of(user=request.user))
    if not memberships:
        with unscoped("is this user a customer's admin?"):
            if customer_of_admin(user=request.user) is not None:
                return redirect("customer-home")
        # Staff work in the admin; everyone else starts by enrolling a reseller.
        return redirect("admin:index" if request.user.is_staff else "enroll")
    last = request.session.get(LAST_ORG_SESSION_KEY)
    chosen = next((m for m in memberships if m.organization.slug == last), memberships[0])
    return redirect(chosen.organization.get_absolute_url())
