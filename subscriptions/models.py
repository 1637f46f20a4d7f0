"""The offer catalog, orders and subscriptions."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, customer_visibility
from partners.models import Organization
from portal.models import TimeStamped
from portal.scoping import ScopedManager


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

    objects = ScopedManager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["customer", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.offer} x {self.quantity} · {self.customer}"

    @staticmethod
    def visible_to(tenant) -> Q:
        return customer_visibility(tenant, prefix="customer__")
