from django.urls import path

from partners import partnership_views as views

app_name = "partners"
urlpatterns = [
    path("resellers/", views.ResellerListView.as_view(), name="reseller-list"),
    path("resellers/request/", views.PartnershipRequestCreateView.as_view(), name="request-create"),
    path(
        "resellers/requests/<int:pk>/send/",
        views.PartnershipRequestSendView.as_view(),
        name="request-send",
    ),
    path(
        "resellers/requests/<int:pk>/resend/",
        views.PartnershipRequestResendView.as_view(),
        name="request-resend",
    ),
    path(
        "resellers/requests/<int:pk>/revoke/",
        views.PartnershipRequestRevokeView.as_view(),
        name="request-revoke",
    ),
    path("providers/", views.ProviderListView.as_view(), name="provider-list"),
    path(
        "providers/requests/<int:pk>/respond/",
        views.IncomingRequestRespondView.as_view(),
        name="request-respond",
    ),
    path("partnerships/<int:pk>/end/", views.PartnershipEndView.as_view(), name="partnership-end"),
]
