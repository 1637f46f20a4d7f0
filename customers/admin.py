from django.contrib import admin

from customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["company_name", "domain", "provider", "reseller", "country", "created_at"]
    list_filter = ["country", "language"]
    search_fields = ["company_name", "domain", "contact_email", "provider__name", "reseller__name"]
    date_hierarchy = "created_at"
    list_select_related = ["provider", "reseller"]
    autocomplete_fields = ["provider", "reseller", "admin_user"]
    readonly_fields = ["admin_user", "created_by", "created_at", "updated_at"]

    def get_inlines(self, request, obj):
        from subscriptions.admin import SubscriptionInline

        return [SubscriptionInline]
