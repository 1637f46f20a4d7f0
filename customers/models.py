"""Customers of an indirect provider, optionally delegated to one of its indirect resellers."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from partners.models import Organization, Partnership
from portal.models import TimeStamped
from portal.scoping import ScopedManager, unscoped
from portal.sign_in_domain import customer_sign_in_domain

domain_validator = RegexValidator(
    r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    _("Enter a domain name such as contoso.com (letters, digits, hyphens and dots)."),
    code="invalid_domain",
)
# One DNS label: what goes before .<CUSTOMER_SIGN_IN_DOMAIN> in the customer's sign-in domain.
SIGN_IN_PREFIX_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
sign_in_prefix_validator = RegexValidator(
    SIGN_IN_PREFIX_PATTERN,
    _(
        "Use 1 to 63 lowercase letters, digits and hyphens, starting and ending with a "
        "letter or digit (for example contoso)."
    ),
    code="invalid_sign_in_prefix",
)


def customer_visibility(tenant, prefix: str = "") -> Q:
    """Who may see a customer (and, with a prefix, anything hanging off one).

    - its provider;
    - the reseller it is delegated to, while that reseller's partnership with the
      provider is active (access ends the moment either ends);
    - the customer itself, for its own admin account.
    """
    if isinstance(tenant, Customer):
        return Q(**{f"{prefix}pk": tenant.pk})
    if tenant.is_provider:
        # One indexed equality: an OR with the reseller branch (never true for a
        # provider) would make PostgreSQL scan every customer.
        return Q(**{f"{prefix}provider": tenant})
    # The rule itself, so no scope applies inside it.
    with unscoped("the partnership subquery of the visibility rule"):
        active_partnership = Partnership.objects.filter(
            provider=OuterRef(f"{prefix}provider"), reseller=tenant, ended_at=None
        )
    return Q(**{f"{prefix}reseller": tenant}) & Q(Exists(active_partnership))


class Customer(TimeStamped):
    provider = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="customers",
        verbose_name=_("indirect provider"),
    )
    reseller = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="delegated_customers",
        verbose_name=_("indirect reseller"),
    )
    company_name = models.CharField(_("company name"), max_length=200)
    # The customer's own domain: contact information, unique only among one provider's
    # customers (whether another provider has it is none of this provider's business).
    domain = models.CharField(_("primary domain"), max_length=253, validators=[domain_validator])
    # The customer's sign-in domain is <prefix>.<CUSTOMER_SIGN_IN_DOMAIN>, its admin account
    # admin@ that: unique portal-wide, and fixed once the customer exists (it is the login).
    sign_in_prefix = models.CharField(
        _("sign-in domain prefix"),
        max_length=63,
        unique=True,
        validators=[sign_in_prefix_validator],
    )
    country = CountryField(_("country"))
    city = models.CharField(_("city"), max_length=100)
    street = models.CharField(_("street address"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=20)
    contact_first_name = models.CharField(_("first name"), max_length=100)
    contact_last_name = models.CharField(_("last name"), max_length=100)
    contact_email = models.EmailField(_("email"))
    contact_phone = models.CharField(_("phone"), max_length=40)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    agreement_accepted_on = models.DateField(_("customer agreement accepted on"))
    agreement_accepted_by_name = models.CharField(_("accepted by (name)"), max_length=200)
    agreement_accepted_by_email = models.EmailField(_("accepted by (email)"))
    admin_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customer_account",
        verbose_name=_("admin user"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    # Issued when the New customer form opens; a replayed Submit finds the first customer.
    idempotency_key = models.UUIDField(null=True, blank=True, editable=False)

    objects = ScopedManager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["company_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "idempotency_key"], name="customers_customer_one_per_submit"
            ),
            models.CheckConstraint(
                condition=Q(domain=models.functions.Lower("domain")),
                name="customers_customer_domain_lowercase",
            ),
            models.UniqueConstraint(
                fields=["provider", "domain"], name="customers_customer_unique_domain_per_provider"
            ),
            models.CheckConstraint(
                condition=Q(sign_in_prefix__regex=SIGN_IN_PREFIX_PATTERN),
                name="customers_customer_sign_in_prefix_label",
            ),
        ]
        # Each list read walks one of these in order and stops after a page: the id
        # is the paginator's tiebreak. Search has trigram indexes too (PostgreSQL only,
        # migration 0002).
        indexes = [
            models.Index(fields=["provider", "company_name", "id"], name="customer_provider_name"),
            models.Index(
                fields=["provider", "reseller", "company_name", "id"],
                name="customer_provider_reseller",
            ),
            models.Index(fields=["reseller", "company_name", "id"], name="customer_reseller_name"),
            models.Index(fields=["provider", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.company_name

    @staticmethod
    def visible_to(tenant) -> Q:
        return customer_visibility(tenant)

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", kwargs={"org_slug": self.provider.slug, "pk": self.pk})

    @property
    def sign_in_domain(self) -> str:
        return customer_sign_in_domain(self.sign_in_prefix)

    @property
    def contact_name(self) -> str:
        return f"{self.contact_first_name} {self.contact_last_name}".strip()
