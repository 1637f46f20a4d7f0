"""The site's routes: its own pages, then each app's (every app's urls.py holds all of its
routes: `urlpatterns` at the site's root, `org_urlpatterns` under /orgs/<org_slug>/)."""

from django.contrib import admin
from django.urls import include, path

from customers import urls as customers_urls
from partners import urls as partners_urls
from portal import views
from subscriptions import urls as subscriptions_urls

org_patterns = [
    *partners_urls.org_urlpatterns,
    *customers_urls.org_urlpatterns,
    *subscriptions_urls.org_urlpatterns,
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("language/", views.set_language, name="set-language"),
    path("profile/notifications/", views.NotificationsView.as_view(), name="profile"),
    path("accounts/", include("allauth.urls")),
    *customers_urls.urlpatterns,
    *partners_urls.urlpatterns,
    path("orgs/<slug:org_slug>/", include(org_patterns)),
    path("admin/", admin.site.urls),
]
