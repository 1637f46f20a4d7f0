"""The offer catalog, orders and subscriptions."""

from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, customer_visibility
from partners.models import Organization, Partnership
from portal.models import TimeStamped
from portal.scoping import InSubquery, ScopedManager, unscoped


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
    # Terms it can also be bought on, besides `term` (a renewal may move to one of them).
    available_terms = models.JSONField(
        _("other terms available"),
        default=list,
        blank=True,
        help_text=_('Besides the term above, e.g. ["P1M", "P3Y"].'),
    )
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


# The billing cycles each term may be billed on (the catalog's rule, as in new commerce:
# a monthly term is billed monthly; longer terms monthly or up front each year).
BILLING_FOR_TERM = {
    Offer.Term.ONE_MONTH: (Offer.BillingFrequency.MONTHLY,),
    Offer.Term.ONE_YEAR: (Offer.BillingFrequency.MONTHLY, Offer.BillingFrequency.ANNUAL),
    Offer.Term.THREE_YEARS: (Offer.BillingFrequency.MONTHLY, Offer.BillingFrequency.ANNUAL),
}


def offer_terms(offer: Offer) -> list[str]:
    """The terms the catalog sells `offer` on: its own, then the others it lists."""
    terms = [offer.term]
    for term in offer.available_terms or []:
        if term in TERM_LENGTH and term not in terms:
            terms.append(term)
    return terms


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
            # The lifecycle job reads only what is due (and the reminders what is near):
            # live subscriptions by term end.
            models.Index(
                fields=["renewal_date"],
                condition=Q(status__in=["active", "suspended"]),
                name="subscriptions_live_term_end",
            ),
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
        as support contact sees that subscription (read-only) while it is a partner.

        For a provider that is its customers' subscriptions: it is never a partnership's
        reseller (only a reseller's Admin accepts one), so the credited and supported
        branches could never match, and as an OR they would keep PostgreSQL from walking
        the customers' index. For a reseller, see `reseller_visible_ids`."""
        if isinstance(tenant, Customer) or tenant.is_provider:
            return customer_visibility(tenant, prefix=f"{prefix}customer__")
        return Q(InSubquery(F(f"{prefix}pk"), reseller_visible_ids(tenant)))

    @property
    def term_start(self) -> date:
        """Start of the current term: the purchase, or the last renewal."""
        return self.renewal_date - TERM_LENGTH[self.term]

    @property
    def term_end(self) -> date:
        """The current term ends (and the subscription renews or expires) on this day.
        Licenses added in mid-term end with it too (co-terming): there is one term."""
        return self.renewal_date

    @property
    def renewable_until(self) -> date:
        """An expired subscription can be renewed until this day; then it is closed."""
        return self.renewal_date + timedelta(days=settings.SUBSCRIPTION_RENEWABLE_DAYS)

    def is_closed(self, as_of: date | None = None) -> bool:
        """Expired more than SUBSCRIPTION_RENEWABLE_DAYS ago: closed for good."""
        as_of = as_of or timezone.localdate()
        return self.status == self.Status.EXPIRED and as_of > self.renewable_until

    @property
    def cancellation_window_ends(self) -> date:
        return self.term_start + timedelta(days=settings.SUBSCRIPTION_CANCELLATION_WINDOW_DAYS)

    @property
    def in_cancellation_window(self) -> bool:
        return timezone.localdate() <= self.cancellation_window_ends

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.CANCELLED, self.Status.EXPIRED)


def reseller_visible_ids(reseller: Organization) -> models.QuerySet:
    """The ids of the subscriptions a reseller sees: of the customers delegated to it,
    credited to it, or supported by it, each while it partners with the customer's provider.

    One sub-select per reason, joined by UNION ALL, because each is served by its own index
    (customers by reseller, subscriptions by reseller, by support contact), and an OR across
    the two tables is served by none: PostgreSQL would read every subscription. A
    subscription there for two reasons appears twice in the union, but `pk IN (...)` is a
    semi-join, so the page still lists it once."""
    with unscoped("the sub-selects of the visibility rule"):
        partnered = Partnership.objects.filter(reseller=reseller, ended_at=None).values("provider")
        theirs = Subscription.objects.filter(customer__provider__in=partnered).order_by()
        delegated = theirs.filter(customer__reseller=reseller).values("pk")
        credited = theirs.filter(reseller=reseller).values("pk")
        supported = theirs.filter(support_contact=reseller).values("pk")
    return delegated.union(credited, supported, all=True).order_by()


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


class ScheduledChange(TimeStamped):
    """What changes when the current term ends ("Manage renewal"): the renewal job applies
    it to the next term, then deletes it. One per subscription; it is for the term ending
    on `term_end`, and a schedule left from an earlier term is never applied."""

    subscription = models.OneToOneField(
        Subscription,
        on_delete=models.CASCADE,
        related_name="scheduled_change",
        verbose_name=_("subscription"),
    )
    term_end = models.DateField(_("applies at the term end of"))
    quantity = models.PositiveIntegerField(_("licenses"), null=True, blank=True)
    offer = models.ForeignKey(
        Offer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("upgrade to"),
    )
    term = models.CharField(
        _("term"), max_length=8, choices=Offer.Term.choices, blank=True, default=""
    )
    billing_frequency = models.CharField(
        _("billing frequency"),
        max_length=16,
        choices=Offer.BillingFrequency.choices,
        blank=True,
        default="",
    )
    expire = models.BooleanField(_("turn auto-renew off"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("scheduled by"),
    )

    objects = ScopedManager()

    class Meta:
        verbose_name = _("scheduled change")
        verbose_name_plural = _("scheduled changes")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__isnull=True) | Q(quantity__gte=1),
                name="subscriptions_scheduledchange_licenses_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} @ {self.term_end}"

    @staticmethod
    def visible_to(tenant) -> Q:
        return Subscription.visible_to(tenant, prefix="subscription__")

    def summary(self) -> dict:
        """What it changes, for history and emails (names, not ids)."""
        data: dict = {}
        if self.expire:
            data["auto_renew"] = False
            return data
        if self.quantity:
            data["licenses"] = self.quantity
        if self.offer_id:
            data["offer"] = self.offer.name
        if self.term:
            data["term"] = self.term
        if self.billing_frequency:
            data["billing_frequency"] = self.billing_frequency
        return data


class TermTransition(models.Model):
    """The renewal job's record of one term end: the subscription renewed or expired.

    The unique (subscription, term_end) is what makes the job run exactly once per term
    end, whatever happens: a second run, two runs at once, a run after downtime."""

    class Kind(models.TextChoices):
        RENEWED = "renewed", _("Renewed")
        EXPIRED = "expired", _("Expired")

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="transitions",
        verbose_name=_("subscription"),
    )
    term_end = models.DateField(_("term end"))
    kind = models.CharField(_("what"), max_length=16, choices=Kind.choices)
    next_term_end = models.DateField(_("next term ends"), null=True, blank=True)
    as_of = models.DateField(_("run as of"))
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("term transition")
        verbose_name_plural = _("term transitions")
        ordering = ["-term_end", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "term_end"], name="subscriptions_transition_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.kind} {self.term_end}"

    @staticmethod
    def visible_to(tenant) -> Q:
        return Subscription.visible_to(tenant, prefix="subscription__")


class RenewalReminder(models.Model):
    """A reminder sent N days before a term end: once per (subscription, term end, N)."""

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="reminders",
        verbose_name=_("subscription"),
    )
    term_end = models.DateField(_("term end"))
    days_before = models.PositiveSmallIntegerField(_("days before"))
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("renewal reminder")
        verbose_name_plural = _("renewal reminders")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "term_end", "days_before"],
                name="subscriptions_reminder_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.term_end} -{self.days_before}d"

    @staticmethod
    def visible_to(tenant) -> Q:
        return Subscription.visible_to(tenant, prefix="subscription__")
