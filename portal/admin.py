from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from portal.models import OutboundEmail, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (_("Email notifications"), {"fields": [kind.value for kind in User.Notification]}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "to", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "template"]
    search_fields = ["to", "subject"]
    date_hierarchy = "created_at"
    # The sealed links and codes are never shown, not even as ciphertext: the bodies
    # hold markers ({personalized link}) where they go.
    exclude = ["sealed_secrets"]
    readonly_fields = [
        *(f.name for f in OutboundEmail._meta.fields if f.name != "sealed_secrets"),
        "personalized_parts",
    ]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("personalized parts"))
    def personalized_parts(self, obj: OutboundEmail) -> str:
        if obj.sealed_secrets:
            return _("Sealed until the message is sent")
        return _("None kept")
