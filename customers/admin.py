from django.contrib import admin

from customers.models import Customer
from portal.admin_links import linked
from subscriptions.admin import SubscriptionInline


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "company_name",
        "domain",
        "sign_in_prefix",
        linked("provider"),
        linked("reseller"),
        "country",
        "created_at",
    ]
    list_filter = ["country", "language"]
    search_fields = [
        "company_name",
        "domain",
        "sign_in_prefix",
        "contact_email",
        "provider__name",
        "reseller__name",
    ]
    date_hierarchy = "created_at"
    inlines = [SubscriptionInline]
    list_select_related = ["provider", "reseller"]
    # Who may administer the customer changes only through the portal's reseller
    # relationship pages (rules and activity log); the sign-in prefix is the admin
    # account's login domain, fixed at creation; the rest is plain data.
    readonly_fields = [
        "sign_in_prefix",
        "provider",
        "reseller",
        "admin_user",
        "created_by",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False  # customers come from the New customer order flow

    def has_delete_permission(self, request, obj=None):
        return False
