from django.urls import path

from partners import views

app_name = "team"
urlpatterns = [
    path("", views.MemberListView.as_view(), name="list"),
    path("invite/", views.MemberInviteView.as_view(), name="invite"),
    path("<int:pk>/", views.MemberUpdateView.as_view(), name="edit"),
    path("<int:pk>/remove/", views.MemberRemoveView.as_view(), name="remove"),
    path(
        "invitations/<int:pk>/resend/",
        views.InvitationResendView.as_view(),
        name="invitation-resend",
    ),
    path(
        "invitations/<int:pk>/revoke/",
        views.InvitationRevokeView.as_view(),
        name="invitation-revoke",
    ),
]
