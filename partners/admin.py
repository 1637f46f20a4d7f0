from django.contrib import admin

from partners.models import (
    AuditEvent,
    Membership,
    Organization,
    Partnership,
    PartnershipRequest,
    TeamInvitation,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "partner_id", "country", "contact_email", "created_at"]
    list_filter = ["kind", "country"]
    search_fields = ["name", "partner_id", "contact_email", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "created_at"
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization__kind"]
    search_fields = ["user__email", "organization__name", "organization__partner_id"]
    autocomplete_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]


@admin.register(TeamInvitation)
class TeamInvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "organization",
        "role",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    list_filter = ["role"]
    search_fields = ["email", "organization__name"]
    list_select_related = ["organization"]
    readonly_fields = [
        "organization",
        "email",
        "role",
        "invited_by",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
        "created_at",
        "updated_at",
    ]
    exclude = ["token_digest"]

    def has_add_permission(self, request):
        return False  # invitations are sent from the Users page, so the email goes out


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "actor", "verb", "target"]
    list_filter = ["verb"]
    search_fields = ["organization__name", "actor__email", "target", "verb"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Partnership)
class PartnershipAdmin(admin.ModelAdmin):
    list_display = ["provider", "reseller", "started_at", "ended_at"]
    list_filter = [("ended_at", admin.EmptyFieldListFilter)]
    search_fields = [
        "provider__name",
        "reseller__name",
        "provider__partner_id",
        "reseller__partner_id",
    ]
    date_hierarchy = "started_at"
    list_select_related = ["provider", "reseller"]
    readonly_fields = [
        "provider",
        "reseller",
        "request",
        "started_at",
        "ended_at",
        "ended_by",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False  # partnerships start when a reseller accepts a request


@admin.register(PartnershipRequest)
class PartnershipRequestAdmin(admin.ModelAdmin):
    list_display = ["email", "provider", "state", "created_at", "expires_at", "responded_at"]
    list_filter = ["state"]
    search_fields = ["email", "contact_name", "provider__name"]
    date_hierarchy = "created_at"
    list_select_related = ["provider"]
    exclude = ["token_digest"]
    readonly_fields = [
        "provider",
        "email",
        "contact_name",
        "subject",
        "body",
        "state",
        "requested_by",
        "expires_at",
        "responded_at",
        "responded_by",
        "reseller",
        "outbound_email",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False
