"""The portal's URLs plus the plain-loop baselines of `make bench` (bench/plain.py)."""

from django.urls import path

from bench import plain
from portal.urls import urlpatterns as portal_urlpatterns

urlpatterns = [
    path("orgs/<slug:org_slug>/bench-plain/customers/", plain.customers),
    path("orgs/<slug:org_slug>/bench-plain/resellers/", plain.resellers),
    path("orgs/<slug:org_slug>/bench-plain/activity/", plain.activity),
    path("orgs/<slug:org_slug>/bench-plain/customers/<int:pk>/", plain.customer_subscriptions),
    path("orgs/<slug:org_slug>/bench-plain/subscriptions/", plain.subscriptions),
    *portal_urlpatterns,
]
