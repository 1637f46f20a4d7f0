from django.urls import path

from partners import views

app_name = "partners"
urlpatterns = [
    path("resellers/", views.ResellerListView.as_view(), name="reseller-list"),
    path("providers/", views.ProviderListView.as_view(), name="provider-list"),
]
