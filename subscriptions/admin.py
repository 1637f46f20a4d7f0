from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.admin_links import linked
from subscriptions.models import (
    Offer,
    Order,
    RenewalReminder,
    ScheduledChange,
    Subscription,
    SubscriptionEvent,
    TermTransition,
)
from subscriptions.services.lifecycle import set_status


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "offer_id",
        "term",
        "billing_frequency",
        "unit_price",
        "currency",
        "min_licenses",
        "max_licenses",
        "is_active",
    ]
    list_filter = ["is_active", "term", "billing_frequency"]
    search_fields = ["name", "offer_id", "description"]
    filter_horizontal = ["upgrades"]


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ["offer", "quantity", "status", "renewal_date", "reseller", "support_contact"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["pk", linked("customer"), linked("provider"), "created_by", "created_at"]
    search_fields = ["customer__company_name", "provider__name"]
    date_hierarchy = "created_at"
    list_select_related = ["customer", "provider", "created_by"]
    readonly_fields = ["provider", "customer", "created_by", "created_at"]
    inlines = [SubscriptionInline]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "offer",
        linked("customer"),
        "quantity",
        "status",
        "term_start",
        "renewal_date",
        "auto_renew",
        "reseller",
        "support_contact",
    ]
    list_filter = ["status", "term", "billing_frequency", "auto_renew"]
    search_fields = ["offer__name", "customer__company_name", "customer__domain"]
    date_hierarchy = "created_at"
    list_select_related = ["offer", "customer", "reseller", "support_contact"]
    readonly_fields = ["customer", "order", "created_at", "updated_at", "version"]

    def has_change_permission(self, request, obj=None):
        # Changes go through the actions below or the portal, which keep the rules
        # (window, states, versions) and write the history and activity log.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    actions = ["suspend"]

    @admin.action(description=_("Suspend the selected subscriptions"))
    def suspend(self, request, queryset):
        # Through the service: the same state rules, history and activity entry.
        done = 0
        for subscription in queryset.select_related("customer__provider"):
            try:
                set_status(
                    subscription=subscription,
                    actor=request.user,
                    org=subscription.customer.provider,
                    status=Subscription.Status.SUSPENDED,
                    version=None,
                )
                done += 1
            except ValidationError as exc:
                self.message_user(
                    request, f"{subscription}: {' '.join(exc.messages)}", messages.ERROR
                )
        self.message_user(request, _("%(n)s subscription(s) suspended.") % {"n": done})


@admin.register(SubscriptionEvent)
class SubscriptionEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "subscription", "verb", "actor", "organization"]
    list_filter = ["verb"]
    search_fields = ["subscription__customer__company_name", "actor__email"]
    date_hierarchy = "created_at"
    list_select_related = ["subscription__customer", "subscription__offer", "actor", "organization"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the lifecycle job and Manage renewal only: shown, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ScheduledChange)
class ScheduledChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "subscription",
        "term_end",
        "quantity",
        "offer",
        "term",
        "billing_frequency",
        "expire",
        "created_by",
        "updated_at",
    ]
    list_filter = ["expire", "term"]
    date_hierarchy = "term_end"
    list_select_related = ["subscription__customer", "subscription__offer", "offer", "created_by"]


@admin.register(TermTransition)
class TermTransitionAdmin(ReadOnlyAdmin):
    list_display = ["subscription", "term_end", "kind", "next_term_end", "as_of", "created_at"]
    list_filter = ["kind"]
    date_hierarchy = "term_end"
    list_select_related = ["subscription__customer", "subscription__offer"]


@admin.register(RenewalReminder)
class RenewalReminderAdmin(ReadOnlyAdmin):
    list_display = ["subscription", "term_end", "days_before", "recipients", "created_at"]
    list_filter = ["days_before"]
    date_hierarchy = "term_end"
    list_select_related = ["subscription__customer", "subscription__offer"]
