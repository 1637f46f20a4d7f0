"""The offer catalog, orders and subscriptions."""

from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, customer_visibility
from partners.models import Organization, Partnership
from portal.models import TimeStamped
from portal.scoping import ScopedManager, unscoped


class Offer(TimeStamped):
    """A catalog offer. Global (not tenant data); managed by staff in the admin.

    Inactive offers cannot be ordered; existing subscriptions keep working.
    """

    class Term(models.TextChoices):
        ONE_MONTH = "P1M", _("1 month")
        ONE_YEAR = "P1Y", _("1 year")
        THREE_YEARS = "P3Y", _("3 years")

    class BillingFrequency(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        ANNUAL = "annual", _("Annual")

    name = models.CharField(_("name"), max_length=200)
    offer_id = models.CharField(_("offer ID"), max_length=64, unique=True)
    description = models.TextField(_("description"), blank=True, default="")
    term = models.CharField(_("term"), max_length=8, choices=Term.choices, default=Term.ONE_YEAR)
    billing_frequency = models.CharField(
        _("billing frequency"),
        max_length=16,
        choices=BillingFrequency.choices,
        default=BillingFrequency.MONTHLY,
    )
    unit_price = models.DecimalField(
        _("unit price"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    min_licenses = models.PositiveIntegerField(_("minimum licenses"), default=1)
    max_licenses = models.PositiveIntegerField(_("maximum licenses"), default=300)
    is_active = models.BooleanField(_("active"), default=True)
    upgrades = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="upgraded_from",
        verbose_name=_("can be upgraded to"),
    )

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_licenses__gte=1) & Q(max_licenses__gte=F("min_licenses")),
                name="subscriptions_offer_license_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# How long each term runs: a subscription renews this long after its term started.
TERM_LENGTH = {
    Offer.Term.ONE_MONTH: relativedelta(months=1),
    Offer.Term.ONE_YEAR: relativedelta(years=1),
    Offer.Term.THREE_YEARS: relativedelta(years=3),
}


def renewal_date(start: date, term: str) -> date:
    return start + TERM_LENGTH[term]


class Order(TimeStamped):
    """One submission of subscriptions for a customer."""

    provider = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="orders", verbose_name=_("provider")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    idempotency_key = models.UUIDField(null=True, blank=True, editable=False)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "idempotency_key"], name="subscriptions_order_one_per_submit"
            ),
        ]
        indexes = [models.Index(fields=["customer", "-created_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} · {self.customer}"

    @staticmethod
    def visible_to(tenant) -> Q:
        return customer_visibility(tenant, prefix="customer__")


class Subscription(TimeStamped):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("customer"),
    )
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name=_("order"),
    )
    offer = models.ForeignKey(
        Offer, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("offer")
    )
    quantity = models.PositiveIntegerField(_("licenses"), validators=[MinValueValidator(1)])
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    term = models.CharField(_("term"), max_length=8, choices=Offer.Term.choices)
    billing_frequency = models.CharField(
        _("billing frequency"), max_length=16, choices=Offer.BillingFrequency.choices
    )
    start_date = models.DateField(_("start date"))
    renewal_date = models.DateField(_("renewal date"))
    auto_renew = models.BooleanField(_("auto-renew"), default=True)
    # The reseller credited for incentives ("associate the reseller with the subscription").
    reseller = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incentive_subscriptions",
        verbose_name=_("reseller for incentive credit"),
    )
    # Who handles support requests: the provider itself, or one of its partner resellers.
    support_contact = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="supported_subscriptions",
        verbose_name=_("designated support contact"),
    )

    # Optimistic concurrency: every change bumps it; a form posted with an older value is
    # refused, so two people editing at once never silently overwrite each other.
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "-created_at"]),
            models.Index(fields=["reseller"]),
            models.Index(fields=["support_contact"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="subscriptions_subscription_licenses_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "suspended", "expired", "cancelled"]),
                name="subscriptions_subscription_known_status",
            ),
            models.CheckConstraint(
                condition=Q(renewal_date__gt=F("start_date")),
                name="subscriptions_subscription_renews_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offer} x {self.quantity} · {self.customer}"

    @staticmethod
    def visible_to(tenant, prefix: str = "") -> Q:
        """Whoever sees the customer; and a reseller credited for incentives or designated
        as support contact sees that subscription (read-only) while it is a partner."""
        rule = customer_visibility(tenant, prefix=f"{prefix}customer__")
        if isinstance(tenant, Customer):
            return rule
        with unscoped("the partnership subquery of the visibility rule"):
            partnered = Partnership.objects.filter(
                provider=OuterRef(f"{prefix}customer__provider"), reseller=tenant, ended_at=None
            )
        named = Q(**{f"{prefix}reseller": tenant}) | Q(**{f"{prefix}support_contact": tenant})
        return rule | (named & Q(Exists(partnered)))

    @property
    def term_start(self) -> date:
        """Start of the current term: the purchase, or the last renewal."""
        return self.renewal_date - TERM_LENGTH[self.term]

    @property
    def cancellation_window_ends(self) -> date:
        return self.term_start + timedelta(days=settings.SUBSCRIPTION_CANCELLATION_WINDOW_DAYS)

    @property
    def in_cancellation_window(self) -> bool:
        return timezone.localdate() <= self.cancellation_window_ends

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.CANCELLED, self.Status.EXPIRED)


class SubscriptionEvent(models.Model):
    """One line of a subscription's history: who changed what, when."""

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("subscription"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("on behalf of"),
    )
    verb = models.CharField(_("what"), max_length=64)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)
    # Set by changes that are not idempotent by themselves (Add licenses): the form's key,
    # so the same form posted twice is one change.
    idempotency_key = models.UUIDField(null=True, blank=True, editable=False)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("subscription event")
        verbose_name_plural = _("subscription history")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["subscription", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "idempotency_key"],
                name="subscriptions_event_one_per_submit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.verb}"

    @staticmethod
    def visible_to(tenant) -> Q:
        return Subscription.visible_to(tenant, prefix="subscription__")
