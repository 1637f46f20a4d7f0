from django.urls import path

from customers import views

app_name = "customers"
urlpatterns = [
    path("", views.CustomerListView.as_view(), name="list"),
    path("<int:pk>/", views.CustomerDetailView.as_view(), name="detail"),
    path("<int:pk>/row/", views.CustomerRowView.as_view(), name="row"),
    path("<int:pk>/edit/", views.CustomerEditView.as_view(), name="edit"),
    path("<int:pk>/reseller/", views.CustomerResellerView.as_view(), name="reseller"),
    path(
        "<int:pk>/reseller/remove/",
        views.CustomerResellerRemoveView.as_view(),
        name="reseller-remove",
    ),
    path("<int:pk>/setup-info/", views.SetupInfoView.as_view(), name="setup-info"),
]
