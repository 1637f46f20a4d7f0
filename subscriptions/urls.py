"""Every route of the subscriptions app; all under /orgs/<org_slug>/ (portal/urls.py)."""

from django.urls import include, path

from subscriptions.views import new_customer, renewal
from subscriptions.views import subscription as s

subscription_patterns = [
    path("customers/new/", new_customer.NewCustomerWizard.as_view(), name="new-customer"),
    path("customers/<int:pk>/subscriptions/new/", s.SubscriptionAddView.as_view(), name="add"),
    path("subscriptions/", s.SubscriptionListView.as_view(), name="list"),
    path("subscriptions/<int:pk>/", s.SubscriptionDetailView.as_view(), name="detail"),
    path(
        "subscriptions/<int:pk>/support-contact/",
        s.SupportContactView.as_view(),
        name="support-contact",
    ),
    path("subscriptions/<int:pk>/incentive/", s.IncentiveView.as_view(), name="incentive"),
    path("subscriptions/<int:pk>/licenses/", s.LicensesView.as_view(), name="licenses"),
    path("subscriptions/<int:pk>/licenses/add/", s.AddLicensesView.as_view(), name="add-licenses"),
    path("subscriptions/<int:pk>/auto-renew/", s.AutoRenewView.as_view(), name="auto-renew"),
    path("subscriptions/<int:pk>/upgrade/", s.UpgradeView.as_view(), name="upgrade"),
    path("subscriptions/<int:pk>/suspend/", s.SuspendView.as_view(), name="suspend"),
    path("subscriptions/<int:pk>/reactivate/", s.ReactivateView.as_view(), name="reactivate"),
    path("subscriptions/<int:pk>/cancel/", s.CancelView.as_view(), name="cancel"),
    path("subscriptions/<int:pk>/renewal/", renewal.RenewalView.as_view(), name="renewal"),
    path(
        "subscriptions/<int:pk>/renewal/remove/",
        renewal.RemoveRenewalView.as_view(),
        name="renewal-remove",
    ),
    path("subscriptions/<int:pk>/renew/", renewal.RenewView.as_view(), name="renew"),
]

org_urlpatterns = [
    path("", include((subscription_patterns, "subscriptions"))),
]
