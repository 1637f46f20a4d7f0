from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partners.models import (
    AuditEvent,
    MailboxProof,
    Membership,
    Organization,
    Partnership,
    PartnershipRequest,
    TeamInvitation,
)
from partners.services.organizations import reject_partner_id, verify_partner_id
from partners.services.partnerships import (
    draft_message,
    resend_partnership_request,
    revoke_partnership_request,
    send_partnership_request,
)
from portal.admin_links import linked
from subscriptions.services.lifecycle import end_partnership


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


class DisputedPartnerIdFilter(admin.SimpleListFilter):
    """Organizations whose Partner ID another organization claims too (rejected claims
    aside): the disputes staff settle with "Verify the Partner ID"."""

    title = gettext_lazy("Partner ID claims")
    parameter_name = "partner_id_claims"

    def lookups(self, request, model_admin):
        return [("disputed", _("Disputed Partner IDs"))]

    def queryset(self, request, queryset):
        if self.value() != "disputed":
            return queryset
        rival = (
            Organization.objects.filter(partner_id=OuterRef("partner_id"))
            .exclude(pk=OuterRef("pk"))
            .exclude(partner_id_status=Organization.PartnerIdStatus.REJECTED)
        )
        return queryset.exclude(partner_id_status=Organization.PartnerIdStatus.REJECTED).filter(
            Exists(rival)
        )


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "partner_id",
        "partner_id_status",
        "country",
        "contact_email",
        "created_at",
    ]
    list_filter = [DisputedPartnerIdFilter, "partner_id_status", "kind", "country"]
    search_fields = ["name", "partner_id", "contact_email", "slug"]
    # The Partner ID and its status change only through the actions below (one verified
    # claim per Partner ID, competing claims rejected, activity entries); the kind never
    # changes. The rest is plain contact data.
    readonly_fields = [
        "kind",
        "partner_id",
        "partner_id_status",
        "partner_id_reviewed_at",
        "partner_id_reviewed_by",
        "created_at",
        "updated_at",
    ]
    date_hierarchy = "created_at"
    inlines = [MembershipInline]
    actions = ["verify_partner_ids", "reject_partner_ids"]

    def has_add_permission(self, request):
        # Resellers enroll themselves; staff create providers with create_provider, which
        # invites the first Admin.
        return False

    @admin.action(description=_("Verify the Partner ID (competing claims are rejected)"))
    def verify_partner_ids(self, request, queryset):
        claims: dict[str, list[Organization]] = {}
        for org in queryset.order_by("partner_id", "pk"):
            claims.setdefault(org.partner_id, []).append(org)
        verified = rejected = 0
        for partner_id, orgs in claims.items():
            if len(orgs) > 1:
                # Which claim is genuine is the decision itself: never guess it.
                self.message_user(
                    request,
                    _(
                        "%(orgs)s all claim Partner ID %(partner_id)s: select only the "
                        "organization whose claim you verify."
                    )
                    % {"orgs": ", ".join(o.name for o in orgs), "partner_id": partner_id},
                    messages.ERROR,
                )
                continue
            rejected += verify_partner_id(organization=orgs[0], actor=request.user)
            verified += 1
        self.message_user(
            request,
            _("%(n)s Partner ID(s) verified; %(rejected)s competing claim(s) rejected.")
            % {"n": verified, "rejected": rejected},
        )

    @admin.action(description=_("Reject the Partner ID claim"))
    def reject_partner_ids(self, request, queryset):
        done = 0
        for org in queryset:
            reject_partner_id(organization=org, actor=request.user)
            done += 1
        self.message_user(request, _("%(n)s Partner ID claim(s) rejected.") % {"n": done})


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
        # The same service as the portal's End partnership: same rules, activity entries
        # and email, and the delegations and support contacts end with it.
        done = customers = 0
        for partnership in queryset.filter(ended_at=None).select_related("provider"):
            try:
                _partnership, lost = end_partnership(
                    org=partnership.provider, actor=request.user, partnership=partnership
                )
                done += 1
                customers += lost
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        self.message_user(
            request,
            _("%(n)s partnership(s) ended; %(customers)s customer(s) no longer have a reseller.")
            % {"n": done, "customers": customers},
        )


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
