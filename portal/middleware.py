from django.contrib import messages
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _

from portal.sealing import drop_expired

# What a user with a temporary password may reach before choosing their own.
ALLOWED_URL_NAMES = {"account_change_password", "account_logout", "healthz"}


class PasswordChangeRequiredMiddleware:
    """Accounts created with a one-time temporary password choose a new one before anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.must_change_password:
            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                name = None
            if name not in ALLOWED_URL_NAMES and not request.path_info.startswith("/static/"):
                messages.info(request, _("Choose a new password to replace your temporary one."))
                return redirect("account_change_password")
        return self.get_response(request)


class UserLanguageMiddleware:
    """A signed-in person's chosen language wins over the browser's (LocaleMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None else ""
        if language and user.is_authenticated:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class PrivatePagesMiddleware:
    """A signed-in person's pages are theirs alone: no shared cache (proxy, CDN) may keep
    one and hand it to someone else. Pages that already say no-store keep saying it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if "no-store" not in response.get("Cache-Control", ""):
                patch_cache_control(response, private=True)
            patch_vary_headers(response, ("Cookie",))
        return response


class SealedSessionMiddleware:
    """Values stashed sealed in the session (a new customer's temporary password) are
    dropped once past their expiry, even if the page that would read them is never
    opened (portal/sealing.py). Only sessions the request already loaded are looked at,
    so it costs no query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.accessed:
            drop_expired(session)
        return response
