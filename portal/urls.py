from django.contrib import admin
from django.urls import include, path

from customers import views as customer_views
from partners import partnership_views
from partners import views as partner_views
from portal import views

org_patterns = [
    path("", partner_views.DashboardView.as_view(), name="dashboard"),
    path("", include("partners.urls")),
    path("users/", include("partners.team_urls")),
    path("activity/", partner_views.ActivityListView.as_view(), name="activity"),
    path("customers/", include("customers.urls")),
    path("", include("subscriptions.urls")),
]

urlpatterns = [
    path("", customer_views.home, name="home"),
    path("customer/", customer_views.CustomerAreaView.as_view(), name="customer-home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("language/", views.set_language, name="set-language"),
    path("accounts/", include("allauth.urls")),
    path("enroll/", partner_views.EnrollView.as_view(), name="enroll"),
    path(
        "team-invitations/accept/",
        partner_views.TeamInvitationAcceptView.as_view(),
        name="team-invitation-accept",
    ),
    path(
        "team-invitations/<str:token>/",
        partner_views.TeamInvitationLinkView.as_view(),
        name="team-invitation",
    ),
    path(
        "partnerships/accept/",
        partnership_views.PartnershipAcceptView.as_view(),
        name="partnership-accept",
    ),
    path(
        "partnerships/<str:token>/",
        partnership_views.PartnershipLinkView.as_view(),
        name="partnership-link",
    ),
    path("orgs/<slug:org_slug>/", include(org_patterns)),
    path("admin/", admin.site.urls),
]
