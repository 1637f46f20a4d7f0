from django.urls import path

from subscriptions import views

app_name = "subscriptions"
urlpatterns = [
    path("customers/new/", views.NewCustomerWizard.as_view(), name="new-customer"),
]
