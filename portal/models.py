"""Infrastructure models: the user account and the email outbox. No domain knowledge here."""

import uuid
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _


class TimeStamped(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person. The email address is the login; there are no usernames."""

    username = None
    first_name = models.CharField(_("first name"), max_length=150, blank=True, default="")
    last_name = models.CharField(_("last name"), max_length=150, blank=True, default="")
    email = models.EmailField(_("email address"), unique=True)
    # Set for accounts created with a one-time temporary password (customer admins):
    # every page but "change password" and "log out" redirects until it is changed.
    must_change_password = models.BooleanField(_("must change password"), default=False)
    temporary_password_expires_at = models.DateTimeField(
        _("temporary password expires"), null=True, blank=True
    )
    # Empty: follow the browser. Emails to this person are written in it too.
    language = models.CharField(
        _("language"), max_length=10, blank=True, default="", choices=settings.LANGUAGES
    )

    class Notification(StrEnum):
        """The kinds of email a person can turn off on their profile, each named by the
        field that holds their choice (all on until turned off). Only an organization's
        Admins are sent them (partners.selectors.admins_who_want); the activity log records
        the events whatever anyone chose."""

        RENEWALS = "renewal_emails"
        DELEGATION = "delegation_emails"
        SUPPORT_CONTACT = "support_contact_emails"
        INCENTIVE = "incentive_emails"
        PARTNERSHIPS = "partnership_emails"

    renewal_emails = models.BooleanField(
        _("email me about renewals"),
        default=True,
        db_default=True,
        help_text=_(
            "Reminders 30 and 7 days before a subscription's term ends, and a notice when it "
            "renews or expires."
        ),
    )
    delegation_emails = models.BooleanField(
        _("email me about delegated customers"),
        default=True,
        db_default=True,
        help_text=_(
            "When a provider delegates a customer to your organization, or takes one away."
        ),
    )
    support_contact_emails = models.BooleanField(
        _("email me about support contacts"),
        default=True,
        db_default=True,
        help_text=_(
            "When a provider makes your organization the support contact for a subscription, "
            "or ends that designation."
        ),
    )
    incentive_emails = models.BooleanField(
        _("email me about incentive credit"),
        default=True,
        db_default=True,
        help_text=_("When a provider credits your organization for subscriptions."),
    )
    partnership_emails = models.BooleanField(
        _("email me about partnerships"),
        default=True,
        db_default=True,
        help_text=_(
            "When a partner ends its partnership with your organization, and when a "
            "partnership request you sent is accepted or declined."
        ),
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        # email__iexact (invitations, new customers' admin@<domain>, sign-in signals) is
        # UPPER(email) = UPPER(...): without this, a scan of every user.
        indexes = [models.Index(Upper("email"), name="user_email_upper")]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class OutboundEmail(TimeStamped):
    """One email to one address. The row is the source of truth; the broker only wakes a worker.

    Created in the caller's transaction, so a rolled-back action sends nothing and a
    broker outage loses nothing: the sweeper publishes QUEUED rows again.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        INFLIGHT = "inflight", _("Sending")  # claimed by a worker; the sweeper frees dead claims
        AWAITING_RETRY = "retry", _("Waiting to retry")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    to = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=998)
    body_text = models.TextField(_("text body"))
    body_html = models.TextField(_("HTML body"), blank=True, default="")
    template = models.CharField(_("template"), max_length=200, blank=True, default="")
    # Where replies go when it isn't the sender (a partnership request: the provider).
    reply_to = models.EmailField(_("reply to"), blank=True, default="")
    # The links and codes the bodies hold as markers, sealed (portal/sealing.py) until
    # the row is SENT or FAILED, then wiped (portal/emails.py explains).
    sealed_secrets = models.TextField(
        _("sealed personalized parts"), blank=True, default="", editable=False
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # Who is sending it right now: lets the sweeper free a claim whose worker died, and an
    # operator (or a fault test) find the process.
    inflight_since = models.DateTimeField(_("sending since"), null=True, blank=True)
    worker_pid = models.PositiveIntegerField(_("worker process"), null=True, blank=True)
    task_id = models.CharField(_("task"), max_length=255, blank=True, default="")
    retry_after = models.DateTimeField(_("retry after"), null=True, blank=True)
    # One entry per attempt: {"attempt", "at", "error", "retry_after"}, for support and tests.
    attempt_log = models.JSONField(_("attempts log"), default=list, blank=True)

    class Meta:
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"], name="portal_email_status_idx")]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"
