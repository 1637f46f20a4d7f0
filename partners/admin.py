from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from partners.models import (
    AuditEvent,
    MailboxProof,
    Membership,
    Organization,
    Partnership,
    PartnershipRequest,
    TeamInvitation,
)
from partners.partnerships import (
    draft_message,
    end_partnership,
    resend_partnership_request,
    revoke_partnership_request,
    send_partnership_request,
)
from portal.admin_links import linked


class MembershipInline(admin.TabularInline):
    # Roles change on the organization's Users page, where the last Admin is protected;
    # staff may add a first member here.
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
    list_display = [linked("user"), linked("organization"), "role", "created_at"]
    list_filter = ["role", "organization__kind"]
    search_fields = ["user__email", "organization__name", "organization__partner_id"]
    autocomplete_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]

    def has_change_permission(self, request, obj=None):
        return False  # role changes go through the Users page (last-Admin rule)

    def has_delete_permission(self, request, obj=None):
        return False


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
    """Read-only: the activity log cannot be edited or deleted, by staff either."""

    list_display = ["created_at", "organization", "actor", "verb", "target", "provider", "reseller"]
    list_filter = ["verb"]
    search_fields = ["organization__name", "actor__email", "target", "verb"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "actor", "provider", "reseller"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Partnership)
class PartnershipAdmin(admin.ModelAdmin):
    list_display = [linked("provider"), linked("reseller"), "started_at", "ended_at"]
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

    actions = ["end_partnerships"]

    def has_add_permission(self, request):
        return False  # partnerships start when a reseller accepts a request

    @admin.action(description=_("End the selected partnerships"))
    def end_partnerships(self, request, queryset):
        # The same service as the dashboard: same rules, same activity entry and email.
        done = 0
        for partnership in queryset.filter(ended_at=None).select_related("provider"):
            try:
                end_partnership(
                    org=partnership.provider, actor=request.user, partnership=partnership
                )
                done += 1
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        self.message_user(request, _("%(n)s partnership(s) ended.") % {"n": done})


@admin.register(PartnershipRequest)
class PartnershipRequestAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        linked("provider"),
        "state",
        "created_at",
        "expires_at",
        "responded_at",
    ]
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

    actions = ["resend_requests", "revoke_requests"]

    @admin.action(description=_("Resend the selected requests (new link, sent by the portal)"))
    def resend_requests(self, request, queryset):
        # The dashboard's services: same rules, same activity entries, same email.
        done = 0
        for obj in queryset.select_related("provider"):
            try:
                with transaction.atomic():
                    token = resend_partnership_request(
                        provider=obj.provider, actor=request.user, request=obj
                    )
                    obj.refresh_from_db()
                    subject, body = draft_message(obj, token)
                    send_partnership_request(
                        provider=obj.provider,
                        actor=request.user,
                        request=obj,
                        token=token,
                        subject=subject,
                        body=body,
                    )
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{obj.email}: {' '.join(exc.messages)}", messages.ERROR)
        self.message_user(request, _("%(n)s request(s) resent.") % {"n": done})

    @admin.action(description=_("Revoke the selected requests"))
    def revoke_requests(self, request, queryset):
        done = 0
        for obj in queryset.select_related("provider"):
            try:
                revoke_partnership_request(provider=obj.provider, actor=request.user, request=obj)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{obj.email}: {' '.join(exc.messages)}", messages.ERROR)
        self.message_user(request, _("%(n)s request(s) revoked.") % {"n": done})


@admin.register(MailboxProof)
class MailboxProofAdmin(admin.ModelAdmin):
    """Proofs are written only when allauth confirms an emailed code (partners/signals.py)
    or staff use "Mark as verified" on an email address. Deleting one stops the address
    answering requests; unticking "verified" on the address as well makes allauth ask its
    owner for a fresh code at the next login, which records a new proof."""

    list_display = ["email_address", "method", "proven_at"]
    list_filter = ["method"]
    search_fields = ["email_address__email"]
    list_select_related = ["email_address"]
    readonly_fields = ["email_address", "method", "proven_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
