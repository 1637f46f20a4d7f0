"""Every route of the customers app. `urlpatterns` are the site's own (the customer's
own area); `org_urlpatterns` go under /orgs/<org_slug>/ (portal/urls.py)."""

from django.urls import include, path

from customers import views

customer_patterns = [
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

org_urlpatterns = [
    path("customers/", include((customer_patterns, "customers"))),
]

urlpatterns = [
    path("customer/", views.CustomerAreaView.as_view(), name="customer-home"),
]
