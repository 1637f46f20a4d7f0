"""Organizations (indirect providers and resellers), their members, and their activity."""

from datetime import timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from portal.models import TimeStamped
from portal.scoping import ScopedManager

partner_id_validator = RegexValidator(
    settings.PARTNER_ID_REGEX,
    _("Enter the program's Partner ID: 6 to 10 digits, for example 4812345."),
    code="invalid_partner_id",
)


class Organization(TimeStamped):
    """An indirect provider or an indirect reseller enrolled in the program.

    Not a scoped model: it is what scopes are resolved from.
    """

    class Kind(models.TextChoices):
        PROVIDER = "provider", _("Indirect provider")
        RESELLER = "reseller", _("Indirect reseller")

    class PartnerIdStatus(models.TextChoices):
        UNVERIFIED = "unverified", pgettext_lazy("Partner ID", "Unverified")
        VERIFIED = "verified", pgettext_lazy("Partner ID", "Verified")
        REJECTED = "rejected", pgettext_lazy("Partner ID", "Rejected")

    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("company name"), max_length=200)
    slug = models.SlugField(_("URL name"), max_length=80, unique=True)
    # Self-declared at enrollment, so not unique: a second company may claim a Partner ID
    # someone else took first, and staff settle the dispute (at most one verified claim).
    partner_id = models.CharField(
        _("Partner ID"),
        max_length=10,
        db_index=True,
        validators=[partner_id_validator],
        help_text=_("The program's partner identifier (6 to 10 digits), as claimed."),
    )
    partner_id_status = models.CharField(
        _("Partner ID status"),
        max_length=16,
        choices=PartnerIdStatus.choices,
        default=PartnerIdStatus.UNVERIFIED,
        db_default=PartnerIdStatus.UNVERIFIED,
        help_text=_(
            "Unverified until staff check the claim; verifying one claim rejects the others."
        ),
    )
    partner_id_reviewed_at = models.DateTimeField(_("Partner ID reviewed"), null=True, blank=True)
    partner_id_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Partner ID reviewed by"),
    )
    country = CountryField(_("country"))
    contact_email = models.EmailField(_("contact email"))
    phone = models.CharField(_("phone"), max_length=40, blank=True, default="")

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]
        # Lists of partners are ordered by name: with this index PostgreSQL walks names
        # in order and stops after a page, instead of sorting thousands of partnerships.
        indexes = [models.Index(fields=["name", "id"], name="organization_name")]
        constraints = [
            models.CheckConstraint(
                condition=Q(partner_id__regex=r"^[0-9]{6,10}$"),
                name="partners_organization_partner_id_digits",
            ),
            models.CheckConstraint(
                condition=Q(partner_id_status__in=["unverified", "verified", "rejected"]),
                name="partners_organization_known_partner_id_status",
            ),
            models.UniqueConstraint(
                fields=["partner_id"],
                condition=Q(partner_id_status="verified"),
                name="partners_organization_one_verified_partner_id",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def partner_id_verified(self) -> bool:
        return self.partner_id_status == self.PartnerIdStatus.VERIFIED

    @property
    def partner_id_display(self) -> str:
        """The Partner ID as text, marked until staff verify it (emails, messages, exports):
        anyone can claim any Partner ID at enrollment."""
        if self.partner_id_status == self.PartnerIdStatus.VERIFIED:
            return self.partner_id
        if self.partner_id_status == self.PartnerIdStatus.REJECTED:
            return gettext("%(partner_id)s, rejected") % {"partner_id": self.partner_id}
        return gettext("%(partner_id)s, unverified") % {"partner_id": self.partner_id}

    def get_absolute_url(self) -> str:
        return reverse("dashboard", kwargs={"org_slug": self.slug})

    @property
    def is_provider(self) -> bool:
        return self.kind == self.Kind.PROVIDER


class Membership(TimeStamped):
    """A user's place in an organization. Not scoped: the middleware resolves scopes from it."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Admin")
        SALES_AGENT = "sales_agent", _("Sales agent")
        SUPPORT_AGENT = "support_agent", _("Support agent")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("organization"),
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organization__name", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="partners_membership_unique_user_org"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organization} ({self.get_role_display()})"


class TeamInvitation(TimeStamped):
    """An Admin's invitation for a colleague to join the organization with a role.

    The link's token is shown once (in the email) and stored only as a SHA-256 digest.
    """

    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="team_invitations",
        verbose_name=_("organization"),
    )
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=16, choices=Membership.Role.choices)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("accepted by"),
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("team invitation")
        verbose_name_plural = _("team invitations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="partners_teaminvitation_one_open_per_email",
            ),
        ]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"

    @staticmethod
    def visible_to(tenant) -> Q:
        return Q(organization=tenant)

    @staticmethod
    def default_expiry():
        return timezone.now() + timedelta(days=settings.TEAM_INVITATION_MAX_AGE_DAYS)

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    @property
    def is_pending(self) -> bool:
        return self.state == "pending"


class AuditEvent(models.Model):
    """The activity log: one entry per change, written in the same transaction.

    `organization` acted; `provider` and `reseller` are the sides of the relationship the
    entry is about. Each side sees it; nobody else does. The acting organization is
    always one of the sides (`record_event` fills it in), so an organization's entries
    are one indexed column: `provider` for a provider, `reseller` for a reseller.
    """

    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="audit_events",
        verbose_name=_("organization"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    verb = models.CharField(_("action"), max_length=64, db_index=True)
    target = models.CharField(_("object"), max_length=300, blank=True, default="")
    data = models.JSONField(_("details"), default=dict, blank=True)
    provider = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("indirect provider"),
    )
    reseller = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("indirect reseller"),
    )
    customer_id = models.PositiveBigIntegerField(_("customer"), null=True, blank=True)
    subscription_id = models.PositiveBigIntegerField(_("subscription"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    # Set on entries that count repeated events instead of recording each one (failed
    # sign-ins, which anyone can cause): the hour (UTC) the entry counts, with the count
    # in `data`. At most one such entry per organization, account, action and hour.
    hour = models.DateTimeField(_("hour counted"), null=True, blank=True, editable=False)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("activity entry")
        verbose_name_plural = _("activity")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "-created_at"]),
            models.Index(fields=["provider", "-created_at"]),
            models.Index(fields=["reseller", "-created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "actor", "verb", "hour"],
                condition=Q(hour__isnull=False),
                name="partners_auditevent_one_per_hour",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.verb} {self.target}"

    @staticmethod
    def visible_to(tenant) -> Q:
        # One equality on (side, -created_at): an OR over the three columns made
        # PostgreSQL collect and sort every entry of a big provider for each page.
        return Q(provider=tenant) if tenant.is_provider else Q(reseller=tenant)

    @property
    def kind(self) -> str:
        return self.verb.split(".", 1)[0]


class Partnership(TimeStamped):
    """An indirect provider and an indirect reseller who serve common customers.

    Ending one keeps the row (history stays queryable); a new request can start another.
    """

    provider = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="reseller_partnerships",
        verbose_name=_("indirect provider"),
    )
    reseller = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="provider_partnerships",
        verbose_name=_("indirect reseller"),
    )
    request = models.OneToOneField(
        "PartnershipRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="partnership",
        verbose_name=_("partnership request"),
    )
    started_at = models.DateTimeField(_("partnership since"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ended by"),
    )

    objects = ScopedManager()

    class Meta:
        verbose_name = _("partnership")
        verbose_name_plural = _("partnerships")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "reseller"],
                condition=Q(ended_at__isnull=True),
                name="partners_partnership_one_active",
            ),
            models.CheckConstraint(
                condition=~Q(provider=models.F("reseller")),
                name="partners_partnership_two_organizations",
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "-started_at"]),
            models.Index(fields=["reseller", "-started_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.provider} ↔ {self.reseller}"

    @staticmethod
    def visible_to(tenant) -> Q:
        return Q(provider=tenant) | Q(reseller=tenant)

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class PartnershipRequest(TimeStamped):
    """A provider's emailed invitation for a reseller to partner with it.

    The link's token is shown once and stored only as a SHA-256 digest. "Expired" is
    derived from `expires_at`, so no job has to flip states on time.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        REVOKED = "revoked", _("Revoked")
        # Stored only when a new request to the same address replaces an expired one;
        # until then "expired" is derived from expires_at.
        EXPIRED = "expired", _("Expired")

    provider = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="partnership_requests",
        verbose_name=_("indirect provider"),
    )
    email = models.EmailField(_("reseller's email address"))
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True, default="")
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("message"))
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    expires_at = models.DateTimeField(_("expires"))
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered by"),
    )
    reseller = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="answered_partnership_requests",
        verbose_name=_("indirect reseller"),
    )
    # The portal's latest send of this request; empty when the provider sent it themselves.
    outbound_email = models.ForeignKey(
        "portal.OutboundEmail",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("email"),
    )

    objects = ScopedManager()

    class Meta:
        verbose_name = _("partnership request")
        verbose_name_plural = _("partnership requests")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "email"],
                condition=Q(state="pending"),
                name="partners_request_one_pending",
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "-created_at"]),
            models.Index(fields=["email", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.provider} → {self.email}"

    @staticmethod
    def visible_to(tenant) -> Q:
        # The provider that asked; the reseller that answered; and, while unanswered,
        # a reseller one of whose users the request was addressed to.
        if tenant.is_provider:  # one indexed column: a provider only ever sends them
            return Q(provider=tenant)
        member_emails = Membership.objects.filter(organization=tenant).values("user__email")
        return Q(reseller=tenant) | Q(email__in=member_emails)

    @staticmethod
    def default_expiry():
        return timezone.now() + timedelta(days=settings.PARTNERSHIP_REQUEST_MAX_AGE_DAYS)

    @property
    def display_state(self) -> str:
        if self.state == self.State.PENDING and self.expires_at <= timezone.now():
            return "expired"
        return self.state

    @property
    def is_open(self) -> bool:
        return self.display_state == self.State.PENDING


class MailboxProof(models.Model):
    """The portal emailed a code (or link) to this address and its owner typed it back.

    Answering a partnership request or accepting a team invitation needs one. allauth's
    `EmailAddress.verified` alone is not enough: many hands set that flag without any
    mail (allauth's own "stash" shortcut, the New customer wizard's admin@<domain>
    accounts, demo data, the admin's checkbox), so it cannot tell "someone typed this
    address" from "its owner read mail sent to it". Only allauth's emailed-code flows
    and the admin's "Mark as verified" action send `email_confirmed`, which writes this
    row (partners/signals.py). Not a scoped model: it belongs to a person, not a tenant.
    """

    class Method(models.TextChoices):
        CODE = "code", _("Emailed code")
        STAFF = "staff", _("Marked verified by staff")
        EARLIER = "earlier", _("Verified before proofs were recorded")
        DEMO = "demo", _("Demo data")

    email_address = models.OneToOneField(
        "account.EmailAddress",
        on_delete=models.CASCADE,  # removing the address removes what proved it
        related_name="mailbox_proof",
        verbose_name=_("email address"),
    )
    method = models.CharField(_("how"), max_length=16, choices=Method.choices)
    proven_at = models.DateTimeField(_("proven"), default=timezone.now)

    class Meta:
        verbose_name = _("mailbox proof")
        verbose_name_plural = _("mailbox proofs")

    def __str__(self) -> str:
        return f"{self.email_address} ({self.get_method_display()})"
