from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.cache import never_cache


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
