"""Every route of the partners app. `urlpatterns` are the site's own (enrollment and the
emailed links); `org_urlpatterns` go under /orgs/<org_slug>/ (portal/urls.py)."""

from django.urls import include, path

from partners.views import activity, dashboard, enrollment, links, partnerships, team

partnership_patterns = [
    path("resellers/", partnerships.ResellerListView.as_view(), name="reseller-list"),
    path(
        "resellers/request/",
        partnerships.PartnershipRequestCreateView.as_view(),
        name="request-create",
    ),
    path(
        "resellers/requests/<int:pk>/send/",
        partnerships.PartnershipRequestSendView.as_view(),
        name="request-send",
    ),
    path(
        "resellers/requests/<int:pk>/resend/",
        partnerships.PartnershipRequestResendView.as_view(),
        name="request-resend",
    ),
    path(
        "resellers/requests/<int:pk>/revoke/",
        partnerships.PartnershipRequestRevokeView.as_view(),
        name="request-revoke",
    ),
    path("providers/", partnerships.ProviderListView.as_view(), name="provider-list"),
    path(
        "providers/requests/<int:pk>/respond/",
        partnerships.IncomingRequestRespondView.as_view(),
        name="request-respond",
    ),
    path(
        "partnerships/<int:pk>/end/",
        partnerships.PartnershipEndView.as_view(),
        name="partnership-end",
    ),
]

team_patterns = [
    path("", team.MemberListView.as_view(), name="list"),
    path("invite/", team.MemberInviteView.as_view(), name="invite"),
    path("<int:pk>/", team.MemberUpdateView.as_view(), name="edit"),
    path("<int:pk>/remove/", team.MemberRemoveView.as_view(), name="remove"),
    path(
        "invitations/<int:pk>/resend/",
        team.InvitationResendView.as_view(),
        name="invitation-resend",
    ),
    path(
        "invitations/<int:pk>/revoke/",
        team.InvitationRevokeView.as_view(),
        name="invitation-revoke",
    ),
]

org_urlpatterns = [
    path("", dashboard.DashboardView.as_view(), name="dashboard"),
    path("", include((partnership_patterns, "partners"))),
    path("users/", include((team_patterns, "team"))),
    path("activity/", activity.ActivityListView.as_view(), name="activity"),
]

urlpatterns = [
    path("enroll/", enrollment.EnrollView.as_view(), name="enroll"),
    path(
        "team-invitations/accept/",
        links.TeamInvitationAcceptView.as_view(),
        name="team-invitation-accept",
    ),
    path(
        "team-invitations/<str:token>/",
        links.TeamInvitationLinkView.as_view(),
        name="team-invitation",
    ),
    path(
        "partnerships/accept/",
        links.PartnershipAcceptView.as_view(),
        name="partnership-accept",
    ),
    path(
        "partnerships/<str:token>/",
        links.PartnershipLinkView.as_view(),
        name="partnership-link",
    ),
]
